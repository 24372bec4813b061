#!/usr/bin/env bash
# Builds envoyproxy/ratelimit's service (src/service_cmd) at the given version into
# build/test-servers/ratelimit, unless that version is already there.
# Usage: scripts/build-ratelimit.sh VERSION
set -euo pipefail
VERSION="$1"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/build/test-servers"
if [ -x "$OUT/ratelimit" ] && [ "$(cat "$OUT/ratelimit.version" 2>/dev/null)" = "$VERSION" ]; then
  echo "install-test-servers: envoyproxy/ratelimit $VERSION already built"
  exit 0
fi
GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
if [ -z "$GO" ]; then
  echo "install-test-servers: go not found; envoyproxy/ratelimit needs Go 1.25+ (https://go.dev/dl/)" >&2
  exit 1
fi
mkdir -p "$OUT"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && GOBIN="$TMP" "$GO" install "github.com/envoyproxy/ratelimit/src/service_cmd@$VERSION")
mv "$TMP/service_cmd" "$OUT/ratelimit"
echo "$VERSION" > "$OUT/ratelimit.version"
echo "install-test-servers: built envoyproxy/ratelimit $VERSION into build/test-servers/ratelimit"
