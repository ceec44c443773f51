// Package deploy holds what an operator installs around recauda-bridge: a
// systemd unit (systemd/), a container image recipe (container/), a reverse
// proxy example (proxy/), Prometheus alert rules (prometheus/) and a Grafana
// board (grafana/). It has no code of its own; its tests check each file with
// the real tool that consumes it (systemd-analyze, buildah and podman,
// nginx, promtool, a Prometheus scraping a real bridge) and run the backup
// and the restore README.md documents against a real server. Outside CI a
// test whose tool is missing skips, naming the package to install; with
// CI set it fails.
package deploy
