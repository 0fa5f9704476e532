#!/usr/bin/env bash
# fastconda developer entry point. Two commands set up everything on a fresh machine:
#
#   ./dev.sh demo   install, bootstrap the offline seed channel, build the bundled PyTango server into a
#                   local channel with `fastconda build`, install it and start the device
#   ./dev.sh test   install, fetch what the tests need, lint, run the test suite with the network off
#
# Everything lives in the repository: .venv/ (the tools), .cache/ (wheels, packages, rattler cache).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT="$PWD"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
export FASTCONDA_CACHE_DIR="${FASTCONDA_CACHE_DIR:-$ROOT/.cache/fastconda}"
export RATTLER_CACHE_DIR="${RATTLER_CACHE_DIR:-$ROOT/.cache/rattler}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '\n==> %s\n' "$*" >&2; }

setup() {
  local stamp="$VENV/.fastconda-installed"
  local want
  want="$(sha256sum pyproject.toml | cut -c1-16)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  log "installing fastconda and its test tools into .venv"
  [[ -x "$VENV/bin/python" ]] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
  echo "$want" > "$stamp"
}

tango_dev() {
  # C++ Tango tests build against the system's Tango development files (Debian's libtango-dev);
  # installed only when missing, only as root, never interactively.
  if pkg-config --exists tango 2>/dev/null && command -v cmake >/dev/null && command -v c++ >/dev/null; then
    return
  fi
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    log "installing the Tango C++ development files (libtango-dev, cmake, g++, pkg-config, ninja)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends libtango-dev cmake g++ pkg-config ninja-build </dev/null
  else
    log "no Tango C++ development files: the C++ server tests will be skipped (apt-get install libtango-dev)"
  fi
}

fc() { "$VENV/bin/fastconda" "$@"; }

demo() {
  setup
  local out="$ROOT/demo"
  log "bootstrapping the seed channel (tango profile) into demo/seed"
  fc channel bootstrap "$out/seed" --profile tango
  log "building the bundled PyTango server: sdist -> grayskull -> convert -> rattler-build (build + tests), offline"
  fc build examples/pytango-powersupply -c "$out/seed" -o "$out/channel" --offline --force
  log "installing it into a fresh environment with rattler and starting the device under DeviceTestContext"
  rm -rf "$out/env"
  fc -q env create "$out/env" tango-powersupply -c "$out/channel" -c "$out/seed"
  "$out/env/bin/python" - <<'PY'
from tango import DevState
from tango.test_context import DeviceTestContext
from powersupply.server import PowerSupply
with DeviceTestContext(PowerSupply, properties={"max_voltage": 24.0}) as ps:
    ps.voltage = 5.0
    ps.current_limit = 0.2
    ps.On()
    print(f"PowerSupply: state {ps.state()}, voltage {ps.voltage} V, current {ps.current:.3f} A")
PY
  log "the channel"
  fc channel list "$out/channel"
}

offline() {
  # Run "$@" with the network switched off when we can (root + unshare), loopback up.
  # FASTCONDA_NETWORK=off tells tests/test_offline.py to prove it from inside.
  # With FASTCONDA_REQUIRE_NO_NETWORK=1 (CI) there is no fallback: no unshare, no test run.
  if [[ "$(id -u)" == 0 ]] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
    log "running with the network switched off (unshare -n)"
    FASTCONDA_NETWORK=off unshare -n bash -c 'ip link set lo up; exec "$@"' offline "$@"
  elif [[ "${FASTCONDA_REQUIRE_NO_NETWORK:-}" == 1 ]]; then
    echo "error: FASTCONDA_REQUIRE_NO_NETWORK=1 but the network cannot be switched off (needs root and unshare -n)" >&2
    return 1
  else
    log "cannot switch the network off here (needs root and unshare); running with FASTCONDA_OFFLINE=1"
    FASTCONDA_OFFLINE=1 "$@"
  fi
}

test_() {
  setup
  tango_dev
  log "fetching what the tests need (wheels for the seed channel and the wheel tests)"
  fc channel bootstrap "$ROOT/.cache/test-seed/tango" --profile tango
  if command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then
    # the cxx profile repackages Debian's Tango C++ packages (apt-get download needs package lists)
    if [[ "$(id -u)" == 0 ]] && ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then
      apt-get update -qq
    fi
    fc channel bootstrap "$ROOT/.cache/test-seed/cxx" --profile cxx
  else
    log "no apt-get/dpkg-deb: the C++ seed channel is not made; its tests will be skipped"
  fi
  "$VENV/bin/python" -m tests.fetch
  "$VENV/bin/python" -m tests.fetch_corpus   # the real-projects corpus: sdists, wheels, its dependency channel
  "$VENV/bin/python" -m tests.fetch_quetz   # quetz-server in its own venv, for the publish tests
  log "lint: ruff and mypy"
  "$VENV/bin/ruff" check src tests benchmarks
  "$VENV/bin/ruff" format --check src tests benchmarks
  "$VENV/bin/mypy"
  log "tests"
  local rc=0
  FASTCONDA_OFFLINE=1 offline "$VENV/bin/python" -m pytest "$@" || rc=$?
  if [[ $rc == 5 ]]; then
    echo "error: pytest collected no tests; that is a failure, not a pass" >&2
    return 1
  fi
  return $rc
}

case "${1:-}" in
  demo) shift; demo "$@" ;;
  test) shift; test_ "$@" ;;
  setup) setup ;;
  *) echo "usage: ./dev.sh demo | test [pytest args]" >&2; exit 2 ;;
esac
