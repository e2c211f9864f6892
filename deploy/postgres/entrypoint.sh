#!/bin/sh
# Entrypoint of vigil-postgres: create the cluster on first start (user POSTGRES_USER with POSTGRES_PASSWORD,
# database POSTGRES_DB, scram-sha-256 over TCP), then run postgres in the foreground as PID 1 (SIGINT, the
# image's stop signal, is PostgreSQL's fast shutdown).
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=vigil}"
: "${POSTGRES_DB:=vigil}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "vigil-postgres: POSTGRES_PASSWORD must be set to create the cluster" >&2
    exit 1
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=/tmp/.pgpass-init
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" -A scram-sha-256 -E UTF8 --locale=C >/dev/null
  rm -f "$pwfile"
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" | postgres --single -D "$PGDATA" -j postgres >/dev/null
  fi
  echo "vigil-postgres: created the cluster (user $POSTGRES_USER, database $POSTGRES_DB)" >&2
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp -c jit=off "$@"
