#!/usr/bin/env bash
# The test command: restore, build (Release) and run every test project, then the deployment checks (Kubernetes
# schemas, container image build + smoke, compose smoke; see eng/container.sh), then print one line
# "N passed, N failed, N skipped" over all of them. Exit code 0 only when nothing failed.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log="$(mktemp -t vigil-test.XXXXXX)"
pg_dir=""
az_dir=""
cleanup() {
  rm -f "$log"
  if [ -n "$az_dir" ]; then bash "$root/eng/azurite.sh" stop "$az_dir" >/dev/null 2>&1 || true; fi
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

# Azurite (the Azure Storage emulator, npm azurite@3.37.0, installed when missing) for the blob artifact store tests:
# in memory on a free loopback port. Without it those tests skip locally and fail when CI=true.
artifacts="local folder only: Azurite did not start (the blob store tests fail when CI=true and skip otherwise)"
if [ -n "${VIGIL_TEST_AZURITE:-}" ]; then
  artifacts="local folder, Azure Blob (VIGIL_TEST_AZURITE)"
else
  echo "== start Azurite"
  az_port=20000
  for attempt in 1 2 3; do
    while (echo >/dev/tcp/127.0.0.1/$az_port) 2>/dev/null; do az_port=$((az_port + 1)); done
    az_dir="$(mktemp -d /tmp/vigil-azurite.XXXXXX)"
    if az_cs="$(bash "$root/eng/azurite.sh" start "$az_dir" "$az_port")"; then
      export VIGIL_TEST_AZURITE="$az_cs"
      artifacts="local folder, Azure Blob (Azurite 127.0.0.1:$az_port)"
      break
    fi
    bash "$root/eng/azurite.sh" stop "$az_dir" >/dev/null 2>&1 || true
    az_dir=""
    az_port=$((az_port + 1))
  done
fi

# promtool (Debian's prometheus package) checks the server's /metrics exposition; installed when missing.
if ! command -v promtool >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== install promtool (prometheus)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1; } \
    || echo "promtool could not be installed: the metrics format test fails when CI=true"
fi

# Python with scikit-learn, pandas and torch for the FX import tests (Debian packages; installed when missing).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  bash "$root/eng/ensure-python.sh" --torch >/dev/null 2>&1 || echo "python3-torch could not be installed: the FX import tests fail when CI=true"
fi

# chromium (Debian's package) renders the monitoring HTML report in a test (screenshot, console errors); installed when missing.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "== install chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1; } \
    || echo "chromium could not be installed: the HTML report test fails when CI=true"
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
# Deployment checks (eng/container.sh), each counted as one test in the closing line: the Kubernetes manifests
# against the API schemas, the container image build and its smoke run, and the compose smoke (two replicas on
# PostgreSQL). podman is installed with apt-get when missing; when it cannot be, the container checks are skipped
# loudly, and under CI=true they fail. VIGIL_TEST_CONTAINER=0 skips them on a developer machine (not under CI).
deploy_summary=""
deploy_check() {  # deploy_check NAME SECONDS COMMAND...: run with a time limit, count it, note the time
  local name="$1" secs="$2" t0 rc
  shift 2
  echo "== deploy: $name"
  t0=$(date +%s)
  timeout --kill-after=30 "$secs" "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    passed=$(( ${passed:-0} + 1 ))
    deploy_summary+=" $name $(( $(date +%s) - t0 ))s;"
  else
    failed=$(( ${failed:-0} + 1 ))
    [ "$rc" -eq 124 ] && echo "deploy check $name: timed out after $secs s"
    echo "deploy check $name: FAILED (exit code $rc)"
    deploy_summary+=" $name FAILED;"
  fi
  return "$rc"
}
deploy_check k8s-schemas 300 bash "$root/eng/container.sh" validate-k8s || true
# The CLI as a .NET tool: dotnet pack -> dotnet tool install --tool-path from ./artifacts on a clean home -> vigil quickstart.
deploy_check dotnet-tool 900 bash "$root/eng/tool.sh" || true
if [ "${VIGIL_TEST_CONTAINER:-1}" = 0 ] && [ "${CI:-}" != true ]; then
  echo "== deploy: container checks SKIPPED (VIGIL_TEST_CONTAINER=0)"
  skipped=$(( ${skipped:-0} + 3 ))
  deploy_summary+=" container checks skipped (VIGIL_TEST_CONTAINER=0);"
elif ! bash "$root/eng/container.sh" ensure-podman; then
  if [ "${CI:-}" = true ]; then
    echo "deploy: ERROR: podman is missing and could not be installed: the container checks FAIL under CI=true"
    failed=$(( ${failed:-0} + 3 ))
    deploy_summary+=" container checks FAILED (no podman);"
  else
    echo "################################################################################"
    echo "deploy: podman is missing and could not be installed (needs root and apt-get):"
    echo "deploy: container build, smoke and compose-smoke are SKIPPED (they fail under CI=true)"
    echo "################################################################################"
    skipped=$(( ${skipped:-0} + 3 ))
    deploy_summary+=" container checks SKIPPED (no podman);"
  fi
elif deploy_check image-build 1800 bash "$root/eng/container.sh" build --tag test; then
  deploy_check container-smoke 300 bash "$root/eng/container.sh" smoke --tag test || true
  deploy_check compose-smoke 900 bash "$root/eng/container.sh" compose-smoke --tag test || true
else
  failed=$(( ${failed:-0} + 2 ))
  deploy_summary+=" smoke and compose-smoke not run (no image);"
fi

echo
echo "store backends: $backends"
echo "artifact stores: $artifacts"
echo "deploy checks:${deploy_summary}"
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
[ "$rc" -eq 0 ] && [ "${failed:-0}" -eq 0 ]
