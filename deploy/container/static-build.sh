#!/usr/bin/env bash
# Builds recauda-bridge as one static executable, SQLite linked in:
# deploy/container/static-build.sh OUT. mattn/go-sqlite3 is C, so cgo stays
# on and the external linker links glibc statically; netgo and osusergo
# keep the resolver and user lookups in Go (glibc's need shared libraries at
# run time), and loading SQLite extensions is left out for the same reason.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:?usage: static-build.sh OUT}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
CGO_ENABLED=1 go build -trimpath \
  -tags 'osusergo netgo sqlite_omit_load_extension' \
  -ldflags "-s -w -X main.buildVersion=$version -linkmode external -extldflags -static" \
  -o "$out" .
