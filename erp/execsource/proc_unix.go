//go:build unix

package execsource

import (
	"os/exec"
	"syscall"
)

// setProcessGroup starts cmd in a process group of its own, so that on the
// deadline the command and everything it started (a shell script's sleep,
// curl, psql ...) are killed together, not only the shell.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		killProcessGroup(cmd)
		return nil
	}
}

// killProcessGroup sends SIGKILL to cmd's process group. A group that is
// already gone is fine.
func killProcessGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
