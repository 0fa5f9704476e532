#!/usr/bin/env bash
# Package test written by fastconda for a C++ Tango device server, shared by both build routes
# (recipe and --via wheel):
#
#   bash tango_server_check.sh SERVER [SECONDS]
#
# 1. `SERVER --help` prints the usage (a Tango server exits non-zero for --help: only the text counts);
# 2. `SERVER test -nodb` starts on a free loopback port and reaches "Ready to accept request" within
#    SECONDS (default 30), then is stopped. Its log is shown when it does not.
set -u
server="$1"
timeout="${2:-30}"

usage="$("$server" --help 2>&1)"
if ! grep -qi usage <<<"$usage"; then
  echo "$server --help printed no usage:" >&2
  echo "$usage" >&2
  exit 1
fi
echo "$server --help: usage ok"

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
"$server" test -nodb -dlist "test/${server,,}/1" -ORBendPoint giop:tcp:127.0.0.1: >"$log" 2>&1 &
pid=$!
deadline=$((SECONDS + timeout))
until grep -q "Ready to accept request" "$log"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    echo "$server -nodb exited with status $? before it was ready:" >&2
    cat "$log" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    kill -9 "$pid" 2>/dev/null
    echo "$server -nodb was not ready after ${timeout} s:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.05
done
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
echo "$server -nodb: ready to accept requests"
