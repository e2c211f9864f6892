#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for tests.
#
#   eng/postgres.sh start DIR PORT   install PostgreSQL with apt-get when initdb/pg_ctl are missing,
#                                    create a cluster in DIR (must not exist or be empty), start it on
#                                    127.0.0.1:PORT (unix socket inside DIR), create the superuser
#                                    vigil/vigil and print ONE line on stdout, the connection string:
#                                    Host=127.0.0.1;Port=PORT;Username=vigil;Password=vigil;Database=postgres
#                                    Progress goes to stderr. Exit code 0 only when the server accepts
#                                    connections as vigil.
#   eng/postgres.sh stop DIR         stop the cluster in DIR (fast shutdown) and remove DIR.
#   eng/postgres.sh pause DIR        stop the cluster in DIR (fast shutdown) and keep its data: an outage.
#   eng/postgres.sh resume DIR       start a paused cluster again on its port; exit 0 when it accepts connections.
#
# Runs as root (initdb is then run as the postgres OS user through runuser/su) or as any other user.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

find_bin() {
  # Debian/Ubuntu keep the server binaries out of PATH: /usr/lib/postgresql/<major>/bin.
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r) /usr/local/pgsql/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"; return 0
  fi
  return 1
}

ensure_installed() {
  if bin="$(find_bin)"; then return 0; fi
  [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not available"
  log "installing PostgreSQL with apt-get (this takes a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || log "apt-get update failed; trying the install anyway"
  apt-get install -y -qq postgresql >&2 || die "apt-get install postgresql failed"
  bin="$(find_bin)" || die "PostgreSQL was installed but initdb/pg_ctl were not found"
}

# Run a command as the cluster owner: the postgres OS user when we are root, else ourselves.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u "$owner" -- "$@"
    else su -s /bin/sh "$owner" -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

start() {
  local dir="$1" port="$2"
  [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
  ensure_installed
  owner="$(id -un)"
  if [ "$(id -u)" -eq 0 ]; then
    owner=postgres
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres \
      || die "cannot create the postgres OS user"
  fi
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then die "$dir exists and is not empty"; fi
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
  [ "$(id -u)" -eq 0 ] && chown "$owner" "$dir"
  chmod 700 "$dir"
  # the owner must be able to reach DIR: every parent needs the execute bit for it
  if [ "$(id -u)" -eq 0 ] && ! runuser -u "$owner" -- test -w "$dir" 2>/dev/null; then
    die "$dir is not reachable by the $owner user; use a directory under /tmp"
  fi

  local pwfile="$dir/.pw"
  echo vigil > "$pwfile"
  [ "$(id -u)" -eq 0 ] && chown "$owner" "$pwfile"
  log "initdb in $dir/data ($bin)"
  as_owner "$bin/initdb" -D "$dir/data" -U vigil --pwfile="$pwfile" -A scram-sha-256 -E UTF8 \
    --locale=C --no-sync >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
  rm -f "$pwfile"

  cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
EOF
  log "starting on 127.0.0.1:$port"
  if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >&2; then
    cat "$dir/server.log" >&2 || true
    die "the server did not start"
  fi

  local deadline=$((SECONDS + 60))
  until PGPASSWORD=vigil "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U vigil -d postgres; do
    [ $SECONDS -lt $deadline ] || { cat "$dir/server.log" >&2; die "the server is not ready after 60 s"; }
    sleep 0.2
  done
  if command -v psql >/dev/null 2>&1 || [ -x "$bin/psql" ]; then
    local psql="$bin/psql"; [ -x "$psql" ] || psql="$(command -v psql)"
    PGPASSWORD=vigil "$psql" -qAt -h 127.0.0.1 -p "$port" -U vigil -d postgres -c 'select 1' >/dev/null \
      || die "the server runs but the vigil role cannot log in"
  fi
  log "ready"
  echo "Host=127.0.0.1;Port=$port;Username=vigil;Password=vigil;Database=postgres"
}

stop() {
  local dir="$1"
  [ -d "$dir" ] || { log "$dir does not exist; nothing to stop"; return 0; }
  dir="$(cd "$dir" && pwd)"
  if [ -f "$dir/data/postmaster.pid" ]; then
    bin="$(find_bin)" || die "pg_ctl not found"
    owner="$(stat -c %U "$dir/data")"
    [ "$(id -u)" -eq 0 ] || owner="$(id -un)"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2 || log "pg_ctl stop failed"
  fi
  rm -rf "$dir"
  log "stopped and removed $dir"
}

owner_of() {
  bin="$(find_bin)" || die "pg_ctl not found"
  owner="$(stat -c %U "$1/data")"
  [ "$(id -u)" -eq 0 ] || owner="$(id -un)"
}

pause() {
  local dir="$1"
  [ -f "$dir/data/postmaster.pid" ] || die "no running cluster in $dir"
  dir="$(cd "$dir" && pwd)"
  owner_of "$dir"
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2 || die "pg_ctl stop failed"
  log "paused $dir (data kept)"
}

resume() {
  local dir="$1" port
  [ -d "$dir/data" ] || die "no cluster in $dir"
  dir="$(cd "$dir" && pwd)"
  owner_of "$dir"
  port="$(sed -n 's/^port = \([0-9]*\)$/\1/p' "$dir/data/postgresql.conf" | tail -1)"
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >&2 || { cat "$dir/server.log" >&2; die "the server did not start again"; }
  local deadline=$((SECONDS + 60))
  until PGPASSWORD=vigil "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U vigil -d postgres; do
    [ $SECONDS -lt $deadline ] || die "the server is not ready after 60 s"
    sleep 0.1
  done
  log "resumed $dir on 127.0.0.1:$port"
}

case "${1:-}" in
  pause) [ $# -eq 2 ] || die "usage: $0 pause DIR"; pause "$2" ;;
  resume) [ $# -eq 2 ] || die "usage: $0 resume DIR"; resume "$2" ;;
  start) [ $# -eq 3 ] || die "usage: $0 start DIR PORT"; start "$2" "$3" ;;
  stop)  [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  *) die "usage: $0 start DIR PORT | $0 stop DIR | $0 pause DIR | $0 resume DIR" ;;
esac
