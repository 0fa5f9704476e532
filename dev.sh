#!/usr/bin/env bash
# fastconda developer entry point. Two commands set up everything on a fresh machine:
#
#   ./dev.sh demo   install, bootstrap the offline seed channel, create an environment from it, run it
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

fc() { "$VENV/bin/fastconda" "$@"; }

demo() {
  setup
  local out="$ROOT/demo"
  log "bootstrapping the seed channel (tango profile) into demo/channel"
  fc channel bootstrap "$out/channel" --profile tango
  log "creating an environment from it with rattler (no conda, no network)"
  rm -rf "$out/env"
  fc env create "$out/env" python pytango numpy pip -c "$out/channel"
  log "running it"
  "$out/env/bin/python" -c 'import sys, tango, numpy; print("python", sys.version.split()[0], "| pytango", tango.__version__, "| numpy", numpy.__version__, "| prefix", sys.prefix)'
  "$out/env/bin/pip" --version
}

offline() {
  # Run "$@" with the network switched off when we can (root + unshare), loopback up.
  if [[ "$(id -u)" == 0 ]] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
    log "running with the network switched off (unshare -n)"
    unshare -n bash -c 'ip link set lo up 2>/dev/null || true; exec "$@"' offline "$@"
  else
    log "cannot switch the network off here (needs root and unshare); running with FASTCONDA_OFFLINE=1"
    FASTCONDA_OFFLINE=1 "$@"
  fi
}

test_() {
  setup
  log "fetching what the tests need (wheels for the seed channel and the wheel tests)"
  fc channel bootstrap "$ROOT/.cache/test-seed/tango" --profile tango
  "$VENV/bin/python" -m tests.fetch
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
