#!/usr/bin/env bash
# Builds the static binary and the image: deploy/container/build.sh [TAG]
# (default localhost/recauda-bridge:latest). Needs Go, gcc with the static C
# library (Debian: build-essential) and buildah. BINARY names a static binary
# already built (by static-build.sh) to use instead; BUILDAH_FLAGS passes
# global flags (e.g. "--root DIR --runroot DIR --storage-driver vfs").
set -euo pipefail
cd "$(dirname "$0")/../.."
tag="${1:-localhost/recauda-bridge:latest}"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
if [ -n "${BINARY:-}" ]; then
  cp "$BINARY" "$ctx/recauda-bridge"
else
  bash deploy/container/static-build.sh "$ctx/recauda-bridge"
fi
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
mkdir -m 0750 "$ctx/data"
mkdir -m 1777 "$ctx/tmp"
# --format docker keeps HEALTHCHECK, which the OCI format has no field for.
# shellcheck disable=SC2086
buildah ${BUILDAH_FLAGS:-} bud --format docker --isolation chroot -t "$tag" -f deploy/container/Containerfile "$ctx"
