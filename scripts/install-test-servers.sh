#!/usr/bin/env bash
# Installs the Debian packages the test suite runs as real programs:
#   prometheus  test/prometheus.test.ts scrapes the local gateway's /stats/prometheus with it
#   skopeo      test/oci-package.test.ts inspects the OCI layouts `npm run package` writes
# With --bench, also what `npm run bench` uses:
#   wrk         the load generator (bench/wrk.ts); without it the bench falls back to a Node client
# With --if-missing, installs only the packages whose program is absent, and nothing when
# none is (test/support/global-setup.ts runs it so that `npm test` alone works on a fresh machine).
# The packages' own services are not needed: the tests start their own servers on loopback.
# Usage: scripts/install-test-servers.sh [--bench] [--if-missing]   (as root, or with sudo available)
set -euo pipefail

# package:program pairs; a new test server is one more line here.
SERVERS=(prometheus:/usr/bin/prometheus skopeo:/usr/bin/skopeo)
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
[ ${#PACKAGES[@]} -gt 0 ] || exit 0

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
