#!/usr/bin/env bash
# Installs the Debian packages the test suite starts as real servers (the same list as
# APT_PACKAGES in .ci/run):
#   prometheus    test/prometheus.test.ts scrapes the local gateway's /stats/prometheus with it
#   redis-server  the store behind envoyproxy/ratelimit (test/ai-rate-limiting-cluster.test.ts)
# and builds envoyproxy/ratelimit (Envoy's global rate limit service, a Go module at a pinned
# version) with `go install` into build/test-servers/ (needs Go 1.25+ and the Go module proxy).
# With --bench, also what `npm run bench` uses:
#   wrk         the load generator (bench/wrk.ts); without it the bench falls back to a Node client
# The package's own service is not needed: the test starts /usr/bin/prometheus itself on
# loopback with a temporary config and data directory.
# Usage: scripts/install-test-servers.sh [--bench]   (as root, or with sudo available)
set -euo pipefail

PACKAGES=(prometheus redis-server)
for arg in "$@"; do
  case "$arg" in
    --bench) PACKAGES+=(wrk) ;;
    *) echo "install-test-servers: unknown argument $arg (expected --bench)" >&2; exit 2 ;;
  esac
done

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "install-test-servers: run as root or install sudo" >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-servers: apt-get not found; install these packages with your system's package manager: ${PACKAGES[*]}" >&2
  exit 1
fi

"${SUDO[@]}" apt-get update -qq
# policy-rc.d or a missing init system may refuse to start the packaged service: that is fine.
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
# Debian starts the packaged service on hosts with systemd; the tests do not use it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  echo "install-test-servers: note: the prometheus service is running on :9090; the tests start their own server on a free port"
fi
/usr/bin/prometheus --version 2>&1 | head -1

# envoyproxy/ratelimit, pinned (its module has no release tags; this is a pseudo-version).
RATELIMIT_VERSION=v1.4.1-0.20260122083618-3fb702589d36
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
"$ROOT/scripts/build-ratelimit.sh" "$RATELIMIT_VERSION"

