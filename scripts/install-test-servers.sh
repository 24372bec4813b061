#!/usr/bin/env bash
# Installs the programs the test suite runs as real servers and tools:
#   prometheus    (Debian) test/prometheus.test.ts scrapes the local gateway's /stats/prometheus with it
#   skopeo        (Debian) test/oci-package.test.ts inspects the OCI layouts `npm run package` writes
#   redis-server  (Debian) the store behind envoyproxy/ratelimit (test/ai-rate-limiting-cluster.test.ts)
# and builds envoyproxy/ratelimit (Envoy's global rate limit service, a Go module at a pinned
# version) with `go install` into build/test-servers/ (needs Go 1.25+ and the Go module proxy).
# With --bench, also what `npm run bench` uses:
#   wrk           the load generator (bench/wrk.ts); without it the bench falls back to a Node client
# With --if-missing, installs only the packages whose program is absent (test/support/global-setup.ts
# runs it so that `npm test` alone works on a fresh machine); the ratelimit build is skipped when
# that version is already built.
# The packages' own services are not needed: the tests start their own servers on loopback.
# Usage: scripts/install-test-servers.sh [--bench] [--if-missing]   (as root, or with sudo available)
set -euo pipefail

# package:program pairs; a new Debian test server is one more entry here.
SERVERS=(prometheus:/usr/bin/prometheus skopeo:/usr/bin/skopeo redis-server:/usr/bin/redis-server)
if_missing=0
for arg in "$@"; do
  case "$arg" in
    --bench) SERVERS+=(wrk:/usr/bin/wrk) ;;
    --if-missing) if_missing=1 ;;
    *) echo "install-test-servers: unknown argument $arg (expected --bench or --if-missing)" >&2; exit 2 ;;
  esac
done

PACKAGES=()
for s in "${SERVERS[@]}"; do
  if [ "$if_missing" -eq 0 ] || [ ! -x "${s#*:}" ]; then PACKAGES+=("${s%%:*}"); fi
done

if [ ${#PACKAGES[@]} -gt 0 ]; then
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
  echo "install-test-servers: installing ${PACKAGES[*]} from Debian"
  "${SUDO[@]}" apt-get update -qq
  # policy-rc.d or a missing init system may refuse to start the packaged service: that is fine.
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >/dev/null
  # Debian starts the packaged service on hosts with systemd; the tests do not use it.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    echo "install-test-servers: note: the prometheus service is running on :9090; the tests start their own server on a free port"
  fi
fi

# envoyproxy/ratelimit, pinned (its module has no release tags; this is a pseudo-version).
RATELIMIT_VERSION=v1.4.1-0.20260122083618-3fb702589d36
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$if_missing" -eq 1 ]; then
  "$ROOT/scripts/build-ratelimit.sh" "$RATELIMIT_VERSION" >/dev/null
else
  "$ROOT/scripts/build-ratelimit.sh" "$RATELIMIT_VERSION"
fi
