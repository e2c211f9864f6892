#!/usr/bin/env bash
# Build, smoke-test and validate Vigil's container deployment with podman (no Docker daemon needed).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: eng/container.sh COMMAND [options]

Commands:
  build            publish the CLI self-contained for linux-x64, stage a root file system (the publish, the
                   glibc/libstdc++/OpenSSL files ldd lists, /etc/passwd with the non-root user vigil 10001)
                   and build vigil:<version> (and vigil:latest) from deploy/Containerfile with podman
  smoke            run the image read-only on a loopback port with a volume holding a home with a registered
                   model: /livez and /readyz 200, one /v1/predict 200, `podman stop` exits 0 within 10 s, and
                   the request's inference-log row is in the volume's store
  compose-smoke    build the PostgreSQL image (from Debian packages) and bring up deploy/compose.yaml with
                   podman-compose: two vigil replicas on PostgreSQL sharing an artifact volume; score through
                   both, move the champion alias, see both replicas follow; then take it down
  postgres-image   only build the PostgreSQL image vigil-postgres:15 used by compose (done by compose-smoke)
  validate-k8s     validate every manifest in deploy/k8s against the Kubernetes API schemas
                   (npm package kubernetes-models: npm ci into eng/k8s-validate/node_modules on first use)
  ensure-podman    install podman, runc, buildah, netavark, aardvark-dns, iptables and podman-compose with apt-get
                   when missing (needs root)

Options:
  --tag TAG        image tag for build/smoke/compose-smoke (default: the version, e.g. 1.0.0-g1a2b3c4)
  --keep           smoke/compose-smoke: leave the containers and volumes for inspection
  --publish DIR    build: use DIR, an earlier publish made with the same settings, instead of publishing again
  -h, --help       this text

Environment:
  (every command but validate-k8s needs podman and fails, exit code 3, when it cannot be installed;
   eng/test.sh then skips the container checks loudly, or fails them under CI=true)
  VIGIL_IMAGE      image name (default vigil)
  VIGIL_SMOKE_PORT loopback port for smoke (default: a free one from 18080)

podman runs with deploy/podman/containers.conf (CONTAINERS_CONF): runtime runc, ulimits the VM allows.
EOF
}

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export CONTAINERS_CONF="$root/deploy/podman/containers.conf"

image="${VIGIL_IMAGE:-vigil}"
tag=""
keep=0
publish_dir=""
work="$root/artifacts/container"

# a time limit (timeout) or Ctrl-C ends the script through exit, so the EXIT traps remove containers and volumes
trap 'exit 143' TERM
trap 'exit 130' INT

log() { echo "container.sh: $*" >&2; }
die() { echo "container.sh: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------------- podman

apt_install() {
  [ "$(id -u)" -eq 0 ] || return 1
  command -v apt-get >/dev/null 2>&1 || return 1
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1; }
}

ensure_podman() {
  local missing=()
  command -v podman >/dev/null 2>&1 || missing+=(podman)
  command -v runc >/dev/null 2>&1 || missing+=(runc)
  command -v buildah >/dev/null 2>&1 || missing+=(buildah)
  [ -x /usr/lib/podman/netavark ] || command -v netavark >/dev/null 2>&1 || missing+=(netavark)
  [ -x /usr/lib/podman/aardvark-dns ] || command -v aardvark-dns >/dev/null 2>&1 || missing+=(aardvark-dns)
  command -v podman-compose >/dev/null 2>&1 || missing+=(podman-compose)
  # netavark publishes ports with iptables ("netavark: No such file or directory" without it)
  command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || missing+=(iptables)
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]} with apt-get"
  if ! apt_install "${missing[@]}"; then
    echo "container.sh: ERROR: podman (${missing[*]}) is not installed and could not be installed with apt-get" >&2
    echo "container.sh: ERROR: (needs root and Debian's packages: apt-get install podman runc buildah netavark aardvark-dns iptables podman-compose)" >&2
    exit 3
  fi
}

# ----------------------------------------------------------------------------------------------------- build

version() {
  local v sha dirty=""
  v="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)"
  v="${v:-1.0.0}"
  sha="$(git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)"
  if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then dirty="-dirty"; fi
  echo "$v-g$sha$dirty"
}

# Copy FILE (and, for a symlink, what it points at) into the staged root at the same path.
stage_file() {
  local f="$1" rootfs="$2" real
  real="$(readlink -f "$f")"
  mkdir -p "$rootfs$(dirname "$real")"
  cp -p "$real" "$rootfs$real"
  if [ "$f" != "$real" ]; then
    mkdir -p "$rootfs$(dirname "$f")"
    # a symlink at the path the loader asks for, pointing at the real file, unless the path is already there
    # through a symlinked directory (usrmerge: /lib -> usr/lib)
    [ -e "$rootfs$f" ] || ln -s "$real" "$rootfs$f"
  fi
}

cmd_build() {
  ensure_podman
  command -v dotnet >/dev/null 2>&1 || die "the .NET 10 SDK (dotnet) is required"
  command -v ldd >/dev/null 2>&1 || die "ldd is required (Debian package libc-bin)"
  [ "$(uname -m)" = x86_64 ] || die "the image is linux-x64; this machine is $(uname -m)"
  local ver start t0 publish rootfs ctx
  ver="$(version)"
  tag="${tag:-$ver}"
  start="$(now)"
  ctx="$work/context"
  publish="$work/publish"
  rootfs="$ctx/rootfs"
  rm -rf "$work"
  mkdir -p "$publish" "$rootfs" "$ctx/home"

  t0="$(now)"
  if [ -n "$publish_dir" ]; then
    [ -x "$publish_dir/vigil" ] || die "$publish_dir/vigil not found"
    log "using the publish in $publish_dir"
    cp -a "$publish_dir/." "$publish/"
  else
    log "publish src/Vigil.Cli (Release, linux-x64, self-contained, single file, not trimmed)"
    # No trimming: it breaks ASP.NET Core start-up (X509 type load). A single file with compressed assemblies:
    # the plain self-contained publish is 160 MB (100 MB of it managed assemblies), the compressed bundle 58 MB;
    # the assemblies are decompressed into memory as they load, and the native libraries (ONNX Runtime,
    # LightGBM, SQLite) stay beside the executable, so nothing is extracted to disk (read-only root).
    dotnet publish src/Vigil.Cli/Vigil.Cli.csproj -c Release -r linux-x64 --self-contained true \
      -p:PublishTrimmed=false -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true \
      -p:IncludeNativeLibrariesForSelfExtract=false \
      -o "$publish" --nologo -v q -clp:"ErrorsOnly;NoSummary" >&2 || die "dotnet publish failed"
  fi
  # debug symbols and XML docs are not needed at run time
  find "$publish" \( -name '*.pdb' -o -name '*.dbg' -o -name '*.xml' \) -delete
  # DuckDB's native library (70 MB) serves only `vigil lake query` and `metrics sync --to duckdb:`, which are
  # workstation and pipeline tools: the image leaves it out to stay under 150 MB (those commands then say so).
  rm -f "$publish/libduckdb.so"
  log "published in $(elapsed "$t0") s ($(du -sh "$publish" | cut -f1))"

  log "stage the root file system"
  mkdir -p "$rootfs/opt" "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/var/lib"
  cp -a "$publish" "$rootfs/opt/vigil"
  chmod 1777 "$rootfs/tmp"
  # The libraries the apphost, the runtime and every native package library link to, as ldd resolves them here,
  # plus the ones .NET opens by name at run time: OpenSSL (SHA-256 of bundles and artifacts, TLS to PostgreSQL
  # or blob storage) and GSSAPI. libgcc_s/libstdc++/libgomp come in through ONNX Runtime and LightGBM.
  local libs lib interp opened
  # GSSAPI: Npgsql asks for it on every PostgreSQL connection (the runtime prints "Cannot load library
  # libgssapi_krb5.so.2" without it, and Kerberos authentication needs it).
  ldconfig -p | grep -q 'libgssapi_krb5\.so\.2 ' || apt_install libgssapi-krb5-2 \
    || die "libgssapi_krb5.so.2 not found (Debian package libgssapi-krb5-2)"
  opened="$(ldconfig -p | awk '$1 ~ /^lib(ssl\.so\.3|crypto\.so\.3|gssapi_krb5\.so\.2)$/ && /x86-64/ { print $NF }')"
  [ "$(wc -w <<<"$opened")" -ge 3 ] || die "libssl.so.3, libcrypto.so.3 or libgssapi_krb5.so.2 not found (Debian packages libssl3, libgssapi-krb5-2)"
  libs="$( { for f in "$rootfs/opt/vigil/vigil" "$rootfs"/opt/vigil/*.so $opened; do ldd "$f" 2>/dev/null || true; done
             printf '%s\n' $opened | sed 's/^/x => /'; } \
           | awk '/=> \// { print $3 } /^[[:space:]]*\/.*ld-linux/ { print $1 }' | sort -u)"
  [ -n "$libs" ] || die "ldd found no libraries"
  for lib in $libs; do
    [ -e "$lib" ] || die "library $lib (listed by ldd) does not exist"
    case "$lib" in "$rootfs"*) continue ;; esac
    stage_file "$lib" "$rootfs"
  done
  # unresolved libraries are an error, except optional ones the runtime probes for (lttng tracing, numa)
  local missing
  missing="$(for f in "$rootfs/opt/vigil/vigil" "$rootfs"/opt/vigil/*.so; do ldd "$f" 2>/dev/null || true; done \
    | awk '/not found/ { print $1 }' | grep -vE '^liblttng|^libnuma' | sort -u || true)"
  [ -z "$missing" ] || die "libraries not found by ldd: $missing"
  interp="$(readlink -f /lib64/ld-linux-x86-64.so.2)"
  [ -e "$rootfs/lib64/ld-linux-x86-64.so.2" ] || { mkdir -p "$rootfs/lib64"; cp -p "$interp" "$rootfs/lib64/ld-linux-x86-64.so.2"; }
  printf '%s\n' /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 > "$rootfs/etc/ld.so.conf"
  ldconfig -r "$rootfs" 2>/dev/null || die "ldconfig -r failed"
  if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  else
    log "warning: /etc/ssl/certs/ca-certificates.crt not found; the image has no CA certificates"
  fi
  cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
vigil:x:10001:10001:vigil:/var/lib/vigil:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
PASSWD
  cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
vigil:x:10001:
nogroup:x:65534:
GROUP
  printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
  # an empty /etc/hosts and resolv.conf as mount points (podman and Kubernetes bind theirs over them)
  : > "$rootfs/etc/hosts"
  : > "$rootfs/etc/resolv.conf"
  log "root file system: $(du -sh "$rootfs" | cut -f1)"

  log "podman build $image:$tag"
  t0="$(now)"
  podman build --quiet -f deploy/Containerfile --build-arg "VERSION=$ver" \
    --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    -t "$image:$tag" -t "$image:latest" "$ctx" >/dev/null || die "podman build failed"
  local size_bytes size_mb
  size_bytes="$(podman image inspect --format '{{.Size}}' "$image:$tag")"
  size_mb=$(( size_bytes / 1000000 ))
  log "podman build took $(elapsed "$t0") s"
  echo "built $image:$tag ($size_mb MB, $size_bytes bytes) in $(elapsed "$start") s"
  [ "$size_mb" -le 150 ] || die "the image is $size_mb MB; the limit is 150 MB"
  # earlier builds that lost their tag to this one
  podman image prune -f --filter label=org.opencontainers.image.title=vigil >/dev/null 2>&1 || true
  rm -rf "$publish"
}

# ----------------------------------------------------------------------------------------------------- smoke

free_port() {
  local p="${1:-18080}"
  while (echo >/dev/tcp/127.0.0.1/"$p") 2>/dev/null; do p=$((p + 1)); done
  echo "$p"
}

# wait_http URL [STATUS] [SECONDS]: poll until URL answers STATUS (default 200); print the last status on failure.
wait_http() {
  local url="$1" want="${2:-200}" secs="${3:-60}" code="" deadline
  deadline=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url" || true)"
    [ "$code" = "$want" ] && return 0
    sleep 0.3
  done
  log "$url answered ${code:-nothing} (wanted $want) for $secs s"
  return 1
}

# The image's own CLI on a volume: run_cli VOLUME [podman run options --] ARGS...
run_cli() {
  local vol="$1"; shift
  local opts=()
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  [ "$#" -gt 0 ] && shift
  podman run --rm --read-only -v "$vol:/var/lib/vigil" "${opts[@]}" "$image:$tag" "$@"
}

# A /v1/predict body from the first row of a generated CSV: numbers stay numbers, everything else a string.
predict_body() {
  local csv="$1" model="$2"
  awk -F, -v model="$model" 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next }
    NR == 2 { printf "{\"model\":\"%s\",\"instances\":[{", model
              for (i = 1; i <= NF; i++) {
                if (h[i] == "label" || h[i] == "fraud_pattern") continue
                v = $i
                if (v !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) v = "\"" v "\""
                printf "%s\"%s\":%s", (n++ ? "," : ""), h[i], v
              }
              printf "}]}"; exit }' "$csv"
}

cmd_smoke() {
  ensure_podman
  command -v curl >/dev/null 2>&1 || apt_install curl || die "curl is required"
  tag="${tag:-$(version)}"
  podman image exists "$image:$tag" || die "image $image:$tag not found: run eng/container.sh build first"
  local start id port mount body rid out t0 stop_s code
  start="$(now)"
  id="$$-$(date +%s)"
  vol="vigil-smoke-$id"
  ctr="vigil-smoke-$id"
  port="${VIGIL_SMOKE_PORT:-$(free_port 18080)}"
  cleanup_smoke() {
    if [ "$keep" -eq 1 ]; then log "kept container $ctr and volume $vol"; return; fi
    podman rm -f -t 0 "$ctr" >/dev/null 2>&1 || true
    podman volume rm -f "$vol" >/dev/null 2>&1 || true
  }
  trap cleanup_smoke EXIT

  log "volume $vol: a home with a registered model, made by the image's own CLI (as user vigil, read-only root)"
  podman volume create "$vol" >/dev/null
  run_cli "$vol" -- generate transactions --rows 4000 --seed 7 --days 10 --out /var/lib/vigil/tx.csv --quiet
  run_cli "$vol" -- train --data /var/lib/vigil/tx.csv --label label --kind iforest --seed 0 \
    --register fraud --experiment smoke >/dev/null
  run_cli "$vol" -- models alias set fraud champion 1 --reason "container smoke" >/dev/null
  mount="$(podman volume inspect --format '{{.Mountpoint}}' "$vol")"
  [ "$(stat -c %u "$mount/vigil.db")" = 10001 ] || die "the store in the volume is not owned by uid 10001"

  log "serve on 127.0.0.1:$port"
  podman run -d --name "$ctr" --read-only -v "$vol:/var/lib/vigil" -p "127.0.0.1:$port:8080" \
    -e VIGIL_MODELS=fraud -e VIGIL_LOG_LEVEL=Warning "$image:$tag" >/dev/null
  [ "$(podman inspect --format '{{.Config.User}}' "$ctr")" = "10001:10001" ] || die "the container does not run as 10001"
  wait_http "http://127.0.0.1:$port/livez" 200 60 || { podman logs "$ctr" >&2; die "/livez is not 200"; }
  wait_http "http://127.0.0.1:$port/readyz" 200 60 || { podman logs "$ctr" >&2; die "/readyz is not 200"; }
  log "/livez 200, /readyz 200"

  body="$(predict_body "$mount/tx.csv" fraud)"
  rid="smoke-$id"
  out="$(curl -s -w '\n%{http_code}' --max-time 10 -H 'Content-Type: application/json' -H "X-Request-ID: $rid" \
    -d "$body" "http://127.0.0.1:$port/v1/predict")"
  code="$(tail -n1 <<<"$out")"
  [ "$code" = 200 ] || { echo "$out" >&2; die "/v1/predict answered $code"; }
  grep -q '"status":200' <<<"$out" || { echo "$out" >&2; die "/v1/predict did not score the item"; }
  log "/v1/predict 200: $(head -n1 <<<"$out" | cut -c1-160)"

  log "podman stop (SIGTERM, 10 s before SIGKILL)"
  t0="$(now)"
  podman stop -t 10 "$ctr" >/dev/null
  stop_s="$(elapsed "$t0")"
  code="$(podman inspect --format '{{.State.ExitCode}}' "$ctr")"
  [ "$code" = 0 ] || { podman logs "$ctr" >&2; die "the server exited with $code after SIGTERM"; }
  awk -v s="$stop_s" 'BEGIN { exit !(s < 10) }' || die "podman stop took $stop_s s (limit 10 s)"
  log "stopped in $stop_s s, exit code 0"

  out="$(run_cli "$vol" -- logs tail -n 20 --model fraud --json)"
  grep -q "\"$rid\"" <<<"$out" || { echo "$out" >&2; die "the request $rid is not in the inference log of the volume's store"; }
  log "inference log row of $rid found in the volume's store"
  echo "container smoke passed in $(elapsed "$start") s (stop $stop_s s)"
}

# ---------------------------------------------------------------------------------------------- postgres image

# vigil-postgres:15: PostgreSQL 15 from Debian's packages on an empty base. apt-get downloads postgresql-15 with
# its whole dependency closure (an empty dpkg status, so nothing is taken from this machine), dpkg-deb unpacks
# them into a root file system (no maintainer scripts run; the entrypoint does what they would), and
# deploy/postgres/Containerfile assembles it.
cmd_postgres_image() {
  ensure_podman
  local pgwork="$work/postgres" rootfs start deb
  start="$(now)"
  if podman image exists vigil-postgres:15 && [ "${VIGIL_REBUILD_POSTGRES:-0}" != 1 ]; then
    log "vigil-postgres:15 exists (VIGIL_REBUILD_POSTGRES=1 rebuilds it)"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "building the PostgreSQL image needs root (apt-get, file ownership)"
  rm -rf "$pgwork"
  mkdir -p "$pgwork/apt/archives/partial" "$pgwork/apt/state" "$pgwork/context"
  : > "$pgwork/apt/state/status"
  log "download postgresql-15 and its dependencies from Debian"
  local aptopts=(-q -y -o "Dir::State::status=$pgwork/apt/state/status" -o "Dir::Cache::archives=$pgwork/apt/archives"
    -o Debug::NoLocking=1 -o APT::Install-Recommends=false -o APT::Install-Suggests=false)
  apt-get "${aptopts[@]}" --download-only install postgresql-15 dash coreutils >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get "${aptopts[@]}" --download-only install postgresql-15 dash coreutils >/dev/null; } \
    || die "apt-get could not download postgresql-15"
  rootfs="$pgwork/context/rootfs"
  mkdir -p "$rootfs"
  for deb in "$pgwork"/apt/archives/*.deb; do
    # LLVM (JIT, off here), the locale data and perl (postgresql-common's scripts) are not needed to run the server
    case "$(basename "$deb")" in libllvm*|libz3-*|locales_*|libc-l10n_*|perl-modules-*|libperl5*) continue ;; esac
    dpkg-deb -x "$deb" "$rootfs"
  done
  rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/man" "$rootfs/usr/share/info" "$rootfs/usr/share/locale" \
    "$rootfs/usr/lib/postgresql/15/lib/bitcode" "$rootfs/usr/lib/postgresql/15/lib/llvmjit"*
  [ -x "$rootfs/usr/lib/postgresql/15/bin/postgres" ] || die "postgres binary missing after unpacking"
  ln -sf dash "$rootfs/bin/sh" 2>/dev/null || ln -sf dash "$rootfs/usr/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n' > "$rootfs/etc/passwd"
  printf 'root:x:0:\npostgres:x:999:\n' > "$rootfs/etc/group"
  mkdir -p "$rootfs/tmp" "$rootfs/var/lib/postgresql"
  chmod 1777 "$rootfs/tmp"
  install -D -m 0755 deploy/postgres/entrypoint.sh "$rootfs/usr/local/bin/vigil-postgres-entrypoint"
  printf '%s\n' /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu > "$rootfs/etc/ld.so.conf"
  ldconfig -r "$rootfs" 2>/dev/null || die "ldconfig -r failed for the PostgreSQL root file system"
  log "PostgreSQL root file system: $(du -sh "$rootfs" | cut -f1)"
  podman build --quiet -f deploy/postgres/Containerfile -t vigil-postgres:15 "$pgwork/context" >/dev/null \
    || die "podman build of vigil-postgres:15 failed"
  rm -rf "$pgwork"
  echo "built vigil-postgres:15 ($(( $(podman image inspect --format '{{.Size}}' vigil-postgres:15) / 1000000 )) MB) in $(elapsed "$start") s"
}

# ---------------------------------------------------------------------------------------------- compose-smoke

cmd_compose_smoke() {
  ensure_podman
  command -v curl >/dev/null 2>&1 || apt_install curl || die "curl is required"
  tag="${tag:-$(version)}"
  podman image exists "$image:$tag" || die "image $image:$tag not found: run eng/container.sh build first"
  cmd_postgres_image
  local start p1 p2 mount body v1 v2 t0
  start="$(now)"
  project="vigilsmoke$$"
  p1="$(free_port 18181)"
  p2="$(free_port $((p1 + 1)))"
  export VIGIL_IMAGE_REF="localhost/$image:$tag" VIGIL_PORT_1="$p1" VIGIL_PORT_2="$p2"
  export VIGIL_API_KEYS="smoke-key-$$" POSTGRES_PASSWORD="smoke-$$"
  compose=(podman-compose -p "$project" -f deploy/compose.yaml)
  net="${project}_default"
  home_vol="${project}_vigil-home"
  cleanup_compose() {
    if [ "$keep" -eq 1 ]; then log "kept compose project $project"; return; fi
    "${compose[@]}" down -v >/dev/null 2>&1 || true
    podman volume rm -f "$home_vol" "${project}_pg-data" >/dev/null 2>&1 || true
    podman network rm -f "$net" >/dev/null 2>&1 || true
  }
  trap cleanup_compose EXIT

  log "compose up: PostgreSQL first (the replicas need a registered model before they are ready)"
  "${compose[@]}" up -d postgres >/dev/null 2>&1 || { "${compose[@]}" logs >&2 || true; die "podman-compose up postgres failed"; }
  local store="postgres://vigil:$POSTGRES_PASSWORD@postgres:5432/vigil"
  local deadline=$(( $(date +%s) + 90 ))
  until podman run --rm --read-only --network "$net" -v "$home_vol:/var/lib/vigil" -e "VIGIL_STORE=$store" \
      "$image:$tag" models list >/dev/null 2>&1; do
    [ "$(podman container inspect -f '{{.State.Running}}' "${project}_postgres_1" 2>/dev/null)" = true ] \
      || { podman logs "${project}_postgres_1" >&2 || true; die "the PostgreSQL container is not running"; }
    [ "$(date +%s)" -lt "$deadline" ] || { podman logs "${project}_postgres_1" >&2 || true; die "PostgreSQL did not accept connections in 90 s"; }
    sleep 1
  done
  log "PostgreSQL is up; register fraud v1 and v2 (shared artifact volume $home_vol), champion -> 1"
  cli() { podman run --rm --read-only --network "$net" -v "$home_vol:/var/lib/vigil" -e "VIGIL_STORE=$store" "$image:$tag" "$@"; }
  cli generate transactions --rows 4000 --seed 7 --days 10 --out /var/lib/vigil/tx.csv --quiet
  cli train --data /var/lib/vigil/tx.csv --label label --kind iforest --seed 0 --register fraud >/dev/null
  cli train --data /var/lib/vigil/tx.csv --label label --kind iforest --seed 1 --register fraud >/dev/null
  cli models alias set fraud champion 1 --reason "compose smoke" >/dev/null

  log "compose up: two vigil replicas on 127.0.0.1:$p1 and 127.0.0.1:$p2"
  "${compose[@]}" up -d >/dev/null 2>&1 || { "${compose[@]}" logs >&2 || true; die "podman-compose up failed"; }
  for p in "$p1" "$p2"; do
    wait_http "http://127.0.0.1:$p/readyz" 200 90 || { "${compose[@]}" logs >&2 || true; die "replica on port $p not ready"; }
  done
  mount="$(podman volume inspect --format '{{.Mountpoint}}' "$home_vol")"
  body="$(predict_body "$mount/tx.csv" fraud)"
  served_version() {  # served_version PORT: the version /v1/predict answers with (and a 200)
    local out
    out="$(curl -s -w '\n%{http_code}' --max-time 10 -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$1/v1/predict")"
    [ "$(tail -n1 <<<"$out")" = 200 ] || { echo "$out" >&2; return 1; }
    head -n1 <<<"$out" | grep -oE '"version":[0-9]+' | head -1 | cut -d: -f2
  }
  v1="$(served_version "$p1")" || die "scoring through replica 1 failed"
  v2="$(served_version "$p2")" || die "scoring through replica 2 failed"
  [ "$v1" = 1 ] && [ "$v2" = 1 ] || die "replicas serve versions $v1 and $v2, expected 1 and 1"
  log "both replicas scored with fraud v1"

  log "move champion to v2; both replicas must follow (VIGIL_REFRESH_SECONDS in compose.yaml)"
  t0="$(now)"
  cli models alias set fraud champion 2 --reason "compose smoke: follow" >/dev/null
  deadline=$(( $(date +%s) + 60 ))
  while :; do
    v1="$(served_version "$p1")" || die "scoring through replica 1 failed"
    v2="$(served_version "$p2")" || die "scoring through replica 2 failed"
    [ "$v1" = 2 ] && [ "$v2" = 2 ] && break
    [ "$(date +%s)" -lt "$deadline" ] || die "after 60 s the replicas serve versions $v1 and $v2, expected 2 and 2"
    sleep 0.5
  done
  log "both replicas serve fraud v2 $(elapsed "$t0") s after the alias move"

  local count
  count="$(cli logs count --model fraud)"
  [ "${count:-0}" -ge 2 ] 2>/dev/null || die "the PostgreSQL inference log holds $count rows for fraud, expected at least 2"
  log "inference log in PostgreSQL: $count rows for fraud"
  echo "compose smoke passed in $(elapsed "$start") s"
}

# ---------------------------------------------------------------------------------------------- validate-k8s

cmd_validate_k8s() {
  command -v node >/dev/null 2>&1 || die "node is required (Debian package nodejs)"
  command -v npm >/dev/null 2>&1 || die "npm is required"
  local tools="$root/eng/k8s-validate"
  if [ ! -d "$tools/node_modules/kubernetes-models" ] || [ ! -d "$tools/node_modules/yaml" ] \
      || [ "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]; then
    log "npm ci in eng/k8s-validate (kubernetes-models, yaml)"
    (cd "$tools" && npm ci --no-audit --no-fund --loglevel=error >&2) || die "npm ci failed in eng/k8s-validate"
  fi
  node "$tools/validate.mjs" "$root/deploy/k8s"
}

# ------------------------------------------------------------------------------------------------------ main

[ "$#" -gt 0 ] || { usage >&2; exit 2; }
command="$1"; shift
while [ "$#" -gt 0 ]; do
  case "$1" in
    --tag) [ "$#" -ge 2 ] || die "--tag needs a value"; tag="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --publish) [ "$#" -ge 2 ] || die "--publish needs a directory"; publish_dir="$(cd "$2" && pwd)" || die "no directory $2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
done
case "$command" in
  build) cmd_build ;;
  smoke) cmd_smoke ;;
  compose-smoke) cmd_compose_smoke ;;
  postgres-image) cmd_postgres_image ;;
  validate-k8s) cmd_validate_k8s ;;
  ensure-podman) ensure_podman ;;
  -h|--help|help) usage ;;
  *) usage >&2; die "unknown command $command" ;;
esac
