package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStaticBinary: the release build is one static executable (SQLite
// linked in) that runs on a machine with no shared libraries at all.
func TestStaticBinary(t *testing.T) {
	need(t, "file", "file")
	bin := staticBinary(t)
	if out := mustRun(t, time.Minute, ".", "file", bin); !strings.Contains(out, "statically linked") {
		t.Fatalf("file says %q, want statically linked", strings.TrimSpace(out))
	}
	if ldd, err := exec.LookPath("ldd"); err == nil {
		out, _ := run(t, time.Minute, ".", ldd, bin)
		if !strings.Contains(out, "not a dynamic executable") {
			t.Fatalf("ldd says %q, want not a dynamic executable", strings.TrimSpace(out))
		}
	}
	// The SQLite inside works: migrate a fresh database.
	dir := t.TempDir()
	cmd := exec.Command(bin, "migrate")
	cmd.Dir = dir
	cmd.Env = []string{"DATABASE_URL=" + filepath.Join(dir, "s.db")}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "applied migrations") {
		t.Fatalf("static binary's migrate: %v\n%s", err, out)
	}
}

// podman runs podman on the test's own storage. The flags are what this
// kind of machine needs and harmless elsewhere: vfs storage (no overlay
// mount), runc with cgroupfs (crun refuses the hybrid cgroup layout), and
// explicit ulimits (podman's default nproc is above what the kernel lets a
// container set here); deploy/README.md has the error messages.
func podman(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	base := []string{"--root", filepath.Join(root, "storage"), "--runroot", filepath.Join(root, "run"),
		"--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file"}
	return run(t, 3*time.Minute, root, "podman", append(base, args...)...)
}

// TestContainerImage builds the image with buildah from the Containerfile
// (FROM scratch, so no registry), checks its configuration, runs it with
// podman on a volume and asks it for a lookup and its health check.
func TestContainerImage(t *testing.T) {
	need(t, "buildah", "buildah")
	need(t, "podman", "podman")
	need(t, "runc", "runc")
	bin := staticBinary(t)
	root, err := os.MkdirTemp("", "recauda-deploy-containers-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = podman(t, root, "rm", "--all", "--force")
		_, _ = podman(t, root, "system", "reset", "--force")
		os.RemoveAll(root)
	})
	const tag = "localhost/recauda-bridge:test"
	build := exec.Command("bash", "deploy/container/build.sh", tag)
	build.Dir = repoRoot(t)
	build.Env = append(os.Environ(), "BINARY="+bin,
		fmt.Sprintf("BUILDAH_FLAGS=--root %s --runroot %s --storage-driver vfs", filepath.Join(root, "storage"), filepath.Join(root, "run")))
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, out)
	}

	out, err := podman(t, root, "image", "inspect", tag)
	if err != nil {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	var images []struct {
		Size   int64
		Config struct {
			User    string
			Volumes map[string]struct{}
		}
		Healthcheck *struct{ Test []string }
	}
	if err := json.Unmarshal([]byte(out), &images); err != nil || len(images) != 1 {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	img := images[0]
	t.Logf("image %s: %.1f MB", tag, float64(img.Size)/1e6)
	if img.Config.User != "65532:65532" {
		t.Errorf("image user = %q, want 65532:65532 (not root)", img.Config.User)
	}
	if _, ok := img.Config.Volumes["/data"]; !ok {
		t.Errorf("image volumes = %v, want /data", img.Config.Volumes)
	}
	if img.Healthcheck == nil || !strings.Contains(strings.Join(img.Healthcheck.Test, " "), "recauda-bridge healthcheck") {
		t.Errorf("image health check = %+v, want recauda-bridge healthcheck", img.Healthcheck)
	}

	addr := freeAddr(t)
	if out, err := podman(t, root, "volume", "create", "recauda-data"); err != nil {
		t.Fatalf("podman volume create: %v\n%s", err, out)
	}
	out, err = podman(t, root, "run", "--detach", "--name", "bridge", "--network", "host",
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1000:1000",
		"--env", "LISTEN_ADDR="+addr, "--volume", "recauda-data:/data", tag)
	if err != nil {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	logs := func() string { out, _ := podman(t, root, "logs", "bridge"); return out }
	var body []byte
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/get-recaudas?id_number=79845123")
		if err == nil {
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no lookup answered by the container within 30s (last: %v %s):\n%s", err, body, logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(string(body), `"ref_payment":"DEMO-ADM-502-2026-03"`) {
		t.Fatalf("lookup from the container answered %s, want the demo customer's charge", body)
	}
	if out, err := podman(t, root, "healthcheck", "run", "bridge"); err != nil {
		t.Fatalf("podman healthcheck run: %v\n%s", err, out)
	}
	// The database is on the volume, written by the image's non-root user.
	if out, err := podman(t, root, "exec", "bridge", "/usr/local/bin/recauda-bridge", "migrate", "--dry-run"); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate --dry-run inside the container: %v\n%s", err, out)
	}
	if out, err := podman(t, root, "stop", "--time", "30", "bridge"); err != nil {
		t.Fatalf("podman stop: %v\n%s", err, out)
	}
	if !strings.Contains(logs(), "stopped cleanly") {
		t.Fatalf("the container did not stop cleanly on SIGTERM:\n%s", logs())
	}
}
