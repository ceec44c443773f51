//go:build !unix

package execsource

import "os/exec"

// setProcessGroup: without process groups only the command itself can be
// killed on the deadline.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Kill() }
}

func killProcessGroup(*exec.Cmd) {}
