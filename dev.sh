#!/usr/bin/env bash
# fastconda developer entry point. Two commands set up everything on a fresh machine:
#
#   ./dev.sh demo   install, bootstrap the offline seed channel, build the bundled PyTango server into a
#                   local channel with `fastconda build`, install it and start the device
#   ./dev.sh test   install, fetch what the tests need, lint, run the test suite with the network off:
#                   the whole suite on $PYTHON, then the fast part (-m "not slow") on every other
#                   supported Python found (EXTRA_PYTHONS="python3.12 ..." names them, EXTRA_PYTHONS= none)
#
# Everything lives in the repository: .venv/ (the tools; .venv-3.X/ for the other Pythons), .cache/
# (wheels, packages, rattler cache, one seed channel per Python).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT="$PWD"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
SUPPORTED=(3.11 3.12 3.13)  # pyproject.toml: requires-python >= 3.11
export FASTCONDA_CACHE_DIR="${FASTCONDA_CACHE_DIR:-$ROOT/.cache/fastconda}"
export RATTLER_CACHE_DIR="${RATTLER_CACHE_DIR:-$ROOT/.cache/rattler}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf '\n==> %s\n' "$*" >&2; }

py_version() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])'; }

setup() {
  # setup [PYTHON VENV]: an editable install with the dev tools, made again when pyproject.toml or
  # the Python changed
  local py="${1:-$PY}" venv="${2:-$VENV}"
  local stamp="$venv/.fastconda-installed"
  local want
  want="$(sha256sum pyproject.toml | cut -c1-16) $("$py" -c 'import sys; print(sys.version.split()[0])')"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  log "installing fastconda and its test tools into ${venv#"$ROOT"/} ($py)"
  if [[ -x "$venv/bin/python" && "$(py_version "$venv/bin/python")" != "$(py_version "$py")" ]]; then
    rm -rf "$venv"
  fi
  [[ -x "$venv/bin/python" ]] || "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -e ".[dev]"
  echo "$want" > "$stamp"
}

find_python() {
  # find_python 3.12: an interpreter of that version that runs (a pyenv shim of a version that is not
  # selected does not), on PATH or installed by pyenv
  local version="$1" candidate
  for candidate in "python$version" \
      $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version".*/bin/"python$version" 2>/dev/null | sort -rV); do
    if [[ "$(py_version "$candidate" 2>/dev/null)" == "$version" ]]; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

extra_pythons() {
  # the other Pythons the fast part runs on: EXTRA_PYTHONS when set (empty: none), else every
  # supported version found other than $PYTHON's
  if [[ -n "${EXTRA_PYTHONS+set}" ]]; then
    [[ -z "$EXTRA_PYTHONS" ]] || printf '%s\n' $EXTRA_PYTHONS
    return 0
  fi
  local main version
  main="$(py_version "$PY")"
  for version in "${SUPPORTED[@]}"; do
    [[ "$version" == "$main" ]] || find_python "$version" || true
  done
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
    log "no Tango C++ development files: the C++ server tests will fail (apt-get install libtango-dev;" \
      "FASTCONDA_REQUIRE_ALL=0 skips them instead)"
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

pytest_in() {
  # pytest_in VENV may-be-empty [pytest args]: one pytest run, offline. Exit 5 (no test collected) is a
  # failure, except where an empty run is expected: the fast part of a selection that is all slow tests.
  local venv="$1" may_be_empty="$2" rc=0
  shift 2
  FASTCONDA_OFFLINE=1 offline "$venv/bin/python" -m pytest "$@" || rc=$?
  if [[ $rc == 5 && $may_be_empty == yes ]]; then
    log "no fast test in this selection"
    return 0
  elif [[ $rc == 5 ]]; then
    echo "error: pytest collected no tests; that is a failure, not a pass" >&2
    return 1
  fi
  return $rc
}

test_() {
  # A real component that cannot be set up (Tango C++ files, Debian's packages, quetz, a wheel) fails
  # the run instead of skipping its tests; FASTCONDA_REQUIRE_ALL=0 lets them skip.
  export FASTCONDA_REQUIRE_ALL="${FASTCONDA_REQUIRE_ALL:-1}"
  local -a pythons=() venvs=()
  local extra version
  pythons+=("$PY")
  venvs+=("$VENV")
  while read -r extra; do
    [[ -n "$extra" ]] || continue
    version="$(py_version "$extra")"
    [[ "$version" != "$(py_version "$PY")" ]] || continue
    pythons+=("$extra")
    venvs+=("$ROOT/.venv-$version")
  done < <(extra_pythons)
  tango_dev
  if command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then
    # the cxx seed profile repackages Debian's Tango C++ packages (apt-get download needs package lists)
    if [[ "$(id -u)" == 0 ]] && ! compgen -G "/var/lib/apt/lists/*_Packages" >/dev/null; then
      apt-get update -qq
    fi
  fi
  local i
  for i in "${!pythons[@]}"; do
    setup "${pythons[$i]}" "${venvs[$i]}"
    log "fetching what the tests need on Python $(py_version "${pythons[$i]}"): its seed channels, wheels"
    "${venvs[$i]}/bin/python" -m tests.fetch
  done
  "$VENV/bin/python" -m tests.fetch_corpus   # the real-projects corpus: sdists, wheels, its dependency channel
  "$VENV/bin/python" -m tests.fetch_quetz   # quetz-server in its own venv, for the publish tests
  "$VENV/bin/python" -m tests.fetch_pogo    # real Pogo servers: Debian's tango source package (apt-get source)
  log "lint: ruff and mypy"
  "$VENV/bin/ruff" check src tests benchmarks
  "$VENV/bin/ruff" format --check src tests benchmarks
  "$VENV/bin/mypy"
  local -a failed=()
  for i in "${!pythons[@]}"; do
    version="$(py_version "${pythons[$i]}")"
    if [[ $i == 0 ]]; then
      log "tests on Python $version"
      pytest_in "${venvs[$i]}" no "$@" || failed+=("$version")
    else
      log "tests on Python $version: the fast part"
      # with no arguments the fast part is never empty; with a selection it may be
      pytest_in "${venvs[$i]}" "$( (($#)) && echo yes || echo no)" -m "not slow" "$@" \
        || failed+=("$version (fast part)")
    fi
  done
  if ((${#failed[@]})); then
    echo "error: the tests failed on Python ${failed[*]}" >&2
    return 1
  fi
}

# PYTHON=python3.12 when pyenv's shim of that name does not run (the version is installed, not selected)
if ! "$PY" -c '' 2>/dev/null && [[ "$PY" =~ ^python([0-9]+\.[0-9]+)$ ]]; then
  PY="$(find_python "${BASH_REMATCH[1]}")" || { echo "error: PYTHON=$PYTHON does not run here" >&2; exit 2; }
fi

case "${1:-}" in
  demo) shift; demo "$@" ;;
  test) shift; test_ "$@" ;;
  setup) setup ;;
  *) echo "usage: ./dev.sh demo | test [pytest args]" >&2; exit 2 ;;
esac
