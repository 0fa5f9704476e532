#!/usr/bin/env bash
# Package test written by fastconda for a C++ Tango device server, shared by both build routes
# (recipe and --via wheel) and run again by `fastconda test` on the package:
#
#   bash tango_server_check.sh SERVER [--start init|ready|skip] [--timeout SECONDS]
#
# 1. `SERVER --help` prints the usage (a Tango server exits non-zero for --help: only the text counts).
# 2. The start check: `SERVER test -nodb` on a free loopback port; when it does not get ready, again with
#    Tango's file database (a property file in a temporary folder defining the device test/<server>/1:
#    many servers read properties through Tango::Util::instance()->get_database(), which is NULL under
#    -nodb). Each start ends in one of three outcomes:
#    - ready: "Ready to accept request" within SECONDS (default 30): passes;
#    - a Tango exception: the server stopped cleanly in its initialisation (its device needs hardware
#      that is absent, a host name...): its binary, libraries and class initialisation work: passes
#      with a note showing the exception, unless --start ready;
#    - a crash (a signal), a missing library, any other exit or no answer in time: fails, showing the
#      signal and the last lines the server printed.
#    --start skip leaves out the start check (only --help).
# Lines starting with "fastconda-note: " are notes for the build's output; a failure's summary line is
# "FAILED <server> <check>: <what happened>".
set -u
server="${1:?usage: tango_server_check.sh SERVER [--start init|ready|skip] [--timeout SECONDS]}"
shift
start=init
timeout=30
while (($#)); do
  case "$1" in
    --start) start="${2:-}"; shift 2 ;;
    --timeout) timeout="${2:-}"; shift 2 ;;
    *) echo "tango_server_check.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
case "$start" in
  init | ready | skip) ;;
  *) echo "tango_server_check.sh: --start must be init, ready or skip, not '$start'" >&2; exit 2 ;;
esac
tail_lines=25

# --- --help -------------------------------------------------------------------------------------------
usage="$("$server" --help 2>&1)"
status=$?
if ! grep -qi usage <<<"$usage"; then
  if library="$(grep -m1 "error while loading shared libraries" <<<"$usage")"; then
    echo "FAILED $server --help: a library is missing: ${library##*: error while loading shared libraries: }" >&2
  elif ! command -v "$server" >/dev/null; then
    echo "FAILED $server --help: $server is not on PATH (does the package install it into bin/?)" >&2
  elif ((status > 128)) && signal="$(kill -l $((status - 128)) 2>/dev/null)"; then
    echo "FAILED $server --help: crashed with SIG$signal" >&2
  else
    echo "FAILED $server --help: printed no usage (exit status $status)" >&2
  fi
  tail -n "$tail_lines" <<<"$usage" >&2
  exit 1
fi
echo "$server --help: usage ok"
if [[ "$start" == skip ]]; then
  echo "$server: start check skipped (start = \"skip\")"
  exit 0
fi

# --- one start ----------------------------------------------------------------------------------------
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
device="test/${server,,}/1"

# start_server MODE: sets `outcome` (ready, exception, signal, library, exit, timeout, unsupported: by
# the file database) and `detail`;
# the server's output stays in $dir/MODE.log
start_server() {
  local mode="$1" log="$dir/$1.log" pid status i
  local -a args
  if [[ "$mode" == nodb ]]; then
    args=(-nodb -dlist "$device")
  else
    args=("-file=$dir/tango.db")
  fi
  : >"$log"
  "$server" test "${args[@]}" -ORBendPoint giop:tcp:127.0.0.1: >"$log" 2>&1 &
  pid=$!
  local deadline=$((SECONDS + timeout))
  until grep -q "Ready to accept request" "$log"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null # (bash would report a crash itself)
      status=$?
      classify "$log" "$status"
      return
    fi
    if ((SECONDS >= deadline)); then
      kill -9 "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      outcome=timeout detail="no \"Ready to accept request\" after $timeout s"
      return
    fi
    sleep 0.05
  done
  kill "$pid" 2>/dev/null # stopped: how it ends (some servers crash on the way out) is not the check
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  outcome=ready detail=""
}

# classify LOG STATUS: how a server that ended by itself ended
classify() {
  local log="$1" status="$2" signal library reason desc origin
  if grep -q "Ready to accept request" "$log"; then
    outcome=ready detail=""
  elif library="$(grep -m1 "error while loading shared libraries" "$log")"; then
    outcome=library detail="a library is missing: ${library##*: error while loading shared libraries: }"
  elif ((status > 128)) && signal="$(kill -l $((status - 128)) 2>/dev/null)"; then
    outcome=signal detail="crashed with SIG$signal"
  elif grep -q "^Error reason = " "$log"; then
    # Tango::Except::print_exception: the first error of the stack is the cause
    reason="$(grep -m1 "^Error reason = " "$log" | sed 's/^Error reason = //')"
    desc="$(grep -m1 "^Desc : " "$log" | sed 's/^Desc : //')"
    origin="$(grep -m1 "^Origin : " "$log" | sed 's/^Origin : //')"
    outcome=exception detail="$reason: $desc ($origin)"
    if [[ "$reason" == API_NotSupported && "$desc" == *Filedatabase* ]]; then # Tango's limit, not the server's
      outcome=unsupported detail="Tango's file database lacks what it needs: $desc ($origin)"
    fi
  else
    outcome=exit detail="exited with status $status before it was ready, with no Tango exception"
  fi
}

# write_database CLASS...: the file database with one device per class (the first: $device)
write_database() {
  local class name
  : >"$dir/tango.db"
  for class in "$@"; do
    name="test/${class,,}/1"
    [[ "$class" == "$1" ]] && name="$device"
    printf '%s/test/DEVICE/%s: "%s"\n' "$server" "$class" "$name" >>"$dir/tango.db"
  done
}

# start_with_file_database: the classes the server has are found from its own answer ("retrieve device
# list for class X", in the order it creates them): the first guess is the server's name (Pogo's class
# name). A class the server does not have must not be in the file (its parser then fails).
start_with_file_database() {
  local -a classes=("$server") named=()
  local missing attempt
  for ((attempt = 0; attempt < 8; attempt++)); do
    write_database "${classes[@]}"
    start_server file 2>/dev/null
    missing="$(sed -n 's/.*retrieve device list for class \([^ ]*\).*/\1/p' "$dir/file.log" | head -n1)"
    if [[ "$outcome" != exception || -z "$missing" ]] || printf '%s\n' ${named[@]+"${named[@]}"} | grep -qx "$missing"; then
      return
    fi
    named+=("$missing")
    classes=("${named[@]}")
  done
}

show_log() { # MODE LABEL
  echo "--- last lines of $server $2:" >&2
  if [[ -s "$dir/$1.log" ]]; then tail -n "$tail_lines" "$dir/$1.log" >&2; else echo "(no output)" >&2; fi
}

# --- the start check ----------------------------------------------------------------------------------
start_server nodb 2>/dev/null # (not bash's own report of a crash: the check reports it)
if [[ "$outcome" == ready ]]; then
  echo "$server -nodb: ready to accept requests"
  exit 0
fi
nodb_outcome="$outcome" nodb_detail="$detail"
if [[ "$outcome" == timeout || "$outcome" == library ]]; then # the same without a database
  echo "FAILED $server start: $detail (started with -nodb)" >&2
  show_log nodb "-nodb"
  exit 1
fi
[[ "$outcome" == exception ]] && detail="stopped with a Tango exception: $detail"
echo "$server -nodb: $detail; starting it again with a file database"
start_with_file_database
file_outcome="$outcome" file_detail="$detail"

if [[ "$nodb_outcome" == signal ]]; then
  why=" (it reads the Tango database without checking that there is one: under -nodb there is none)"
  [[ "$file_outcome" == signal ]] && why=""
  nodb_note="$server $nodb_detail when started with -nodb$why"
else
  nodb_note="$server stopped when started with -nodb: $nodb_detail"
fi
if [[ "$file_outcome" == ready ]]; then
  echo "$server with a file database: ready to accept requests"
  echo "fastconda-note: $nodb_note; with a file database it is ready"
  exit 0
fi
# the better of the two: a Tango exception over a crash
if [[ "$nodb_outcome" == exception ]]; then
  mode="with -nodb" exception="$nodb_detail"
elif [[ "$file_outcome" == exception ]]; then
  mode="with a file database" exception="$file_detail"
else
  echo "FAILED $server start: $nodb_detail with -nodb; with a file database: $file_detail" >&2
  show_log nodb "-nodb"
  show_log file "with a file database"
  exit 1
fi
if [[ "$start" == ready ]]; then
  echo "FAILED $server start: not ready (start = \"ready\"): a Tango exception $mode: $exception" >&2
  show_log nodb "-nodb"
  show_log file "with a file database"
  exit 1
fi
echo "$server $mode: stopped in its initialisation with a Tango exception: $exception"
also=""
[[ "$nodb_outcome" != exception ]] && also="; $nodb_note"
echo "fastconda-note: $server stopped in its initialisation with a Tango exception (started $mode):" \
  "$exception; its binary, libraries and classes work, its device needs what it controls$also"
