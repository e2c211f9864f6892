#!/usr/bin/env bash
# The test command: restore, build (Release) and run every test project, then print one line
# "N passed, N failed, N skipped" over all projects. Exit code 0 only when nothing failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log="$(mktemp -t vigil-test.XXXXXX)"
pg_dir=""
cleanup() {
  rm -f "$log"
  if [ -n "$pg_dir" ]; then bash "$root/eng/postgres.sh" stop "$pg_dir" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

# PostgreSQL for the store contract suite: a throwaway cluster on a free loopback port (installed with
# apt-get when missing). Without it the PostgreSQL tests skip locally and fail when CI=true.
backends="sqlite"
if [ -n "${VIGIL_TEST_POSTGRES:-}" ]; then
  backends="sqlite, postgres (VIGIL_TEST_POSTGRES)"
else
  echo "== start PostgreSQL"
  pg_dir="$(mktemp -d /tmp/vigil-pg.XXXXXX)"
  rmdir "$pg_dir"
  pg_port=25432  # below the ephemeral range (32768-60999), where client sockets come and go
  backends="sqlite only: PostgreSQL did not start (its tests fail when CI=true and skip otherwise)"
  # The port probe sees listeners only; a client socket may hold the port for a moment, so try a few ports.
  for attempt in 1 2 3 4 5; do
    while (echo >/dev/tcp/127.0.0.1/$pg_port) 2>/dev/null; do pg_port=$((pg_port + 1)); done
    if pg_cs="$(bash "$root/eng/postgres.sh" start "$pg_dir" "$pg_port")"; then
      export VIGIL_TEST_POSTGRES="$pg_cs"
      backends="sqlite, postgres (127.0.0.1:$pg_port)"
      break
    fi
    bash "$root/eng/postgres.sh" stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
    pg_port=$((pg_port + 1))
  done
fi

# promtool (Debian's prometheus package) checks the server's /metrics exposition; installed when missing.
if ! command -v promtool >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== install promtool (prometheus)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1; } \
    || echo "promtool could not be installed: the metrics format test fails when CI=true"
fi

echo "== restore and build (Release)"
if ! dotnet build Vigil.slnx -c Release --nologo -v q -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

echo "== test"
dotnet test --solution Vigil.slnx -c Release --no-build --no-progress "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

total=$(grep -E '^\s+total:' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
failed=$(grep -E '^\s+failed:' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
passed=$(grep -E '^\s+succeeded:' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
skipped=$(grep -E '^\s+skipped:' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
errors=$(grep -E '^\s+error:' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
if [ "$rc" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then
  # a crashed test host or a project that ran no tests: count it as a failure
  failed=$(( ${errors:-0} > 0 ? errors : 1 ))
fi
echo
echo "store backends: $backends"
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "$rc" -eq 0 ] && [ "${failed:-0}" -eq 0 ]
