#!/usr/bin/env bash
# Throwaway Azurite (the official Azure Storage emulator) for the blob artifact store tests.
#
#   eng/azurite.sh start DIR PORT   install azurite@3.37.0 with npm when missing (node/npm from apt-get when missing),
#                                   start its blob service on 127.0.0.1:PORT in memory (--inMemoryPersistence), with
#                                   its pid and log in DIR (created; must not exist or be empty), and print ONE line
#                                   on stdout, the connection string of the well-known devstoreaccount1 account.
#                                   Exit code 0 only when the service answers.
#   eng/azurite.sh stop DIR         stop it (SIGTERM; --disableTelemetry lets it end on SIGTERM) and remove DIR.
set -euo pipefail

log() { echo "azurite.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

version=3.37.0
# The emulator's published development account (documented by Microsoft; not a secret).
account=devstoreaccount1
key='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

ensure_installed() {
  if command -v azurite-blob >/dev/null 2>&1 && azurite-blob --version 2>/dev/null | grep -q "$version"; then return 0; fi
  if ! command -v npm >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 || die "npm is missing and installing it needs root and apt-get"
    log "installing node and npm with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    apt-get install -y -qq nodejs npm >&2 || die "apt-get install nodejs npm failed"
  fi
  log "installing azurite@$version with npm (a minute or two)"
  npm install -g --no-fund --no-audit "azurite@$version" >&2 || die "npm install -g azurite@$version failed"
  command -v azurite-blob >/dev/null 2>&1 || die "azurite was installed but azurite-blob is not on PATH"
}

start() {
  local dir="$1" port="$2"
  [[ "$port" =~ ^[0-9]+$ ]] || die "PORT must be a number, got '$port'"
  ensure_installed
  mkdir -p "$dir"
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  (cd "$dir" && exec setsid azurite-blob --blobHost 127.0.0.1 --blobPort "$port" --skipApiVersionCheck --disableTelemetry \
    --inMemoryPersistence --silent >"$dir/azurite.log" 2>&1 </dev/null) &
  echo $! >"$dir/azurite.pid"
  local deadline=$((SECONDS + 60))
  while ! (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do
    kill -0 "$(cat "$dir/azurite.pid")" 2>/dev/null || { cat "$dir/azurite.log" >&2; die "azurite exited"; }
    [ $SECONDS -lt $deadline ] || die "azurite did not listen on 127.0.0.1:$port within 60 s"
    sleep 0.2
  done
  echo "DefaultEndpointsProtocol=http;AccountName=$account;AccountKey=$key;BlobEndpoint=http://127.0.0.1:$port/$account;"
}

stop() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  if [ -f "$dir/azurite.pid" ]; then
    local pid; pid="$(cat "$dir/azurite.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -rf "$dir"
}

case "${1:-}" in
  start) [ $# -eq 3 ] || die "usage: $0 start DIR PORT"; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$2" ;;
  *) die "usage: $0 start DIR PORT | stop DIR" ;;
esac
