#!/usr/bin/env bash
# The .NET tool check (a step of eng/test.sh, counted as one test): packs src/Vigil.Cli as the `vigil` tool package
# into ./artifacts, installs it from there (only that local source: no feed is asked) with `dotnet tool install
# --tool-path` (checks `vigil completion bash` and the suggest directive) and with `dotnet tool install --global` into a
# throwaway HOME/DOTNET_CLI_HOME whose tools folder is put on PATH for one subshell, runs `vigil quickstart --json` from
# PATH on that clean home, then uninstalls. The real user's global tools are never touched (checked); the temporary
# folder is removed on exit, so the script can be run again. Usage: eng/tool.sh [ROWS]   (quickstart rows, default 30000)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows="${1:-30000}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d -t vigil-tool.XXXXXX)"
trap 'rm -rf "$work"' EXIT
log() { echo "tool: $*"; }
die() { echo "tool: FAILED: $*" >&2; exit 1; }

log "dotnet pack src/Vigil.Cli -> artifacts/"
rm -f "$root"/artifacts/vigil.*.nupkg
dotnet pack "$root/src/Vigil.Cli/Vigil.Cli.csproj" -c Release -o "$root/artifacts" --nologo -v q -clp:"ErrorsOnly;NoSummary" \
  || die "dotnet pack failed"
nupkg="$(ls "$root"/artifacts/vigil.*.nupkg 2>/dev/null | head -1)"
[ -n "$nupkg" ] || die "no vigil.*.nupkg in artifacts/"
log "packed $(basename "$nupkg") ($(du -m "$nupkg" | cut -f1) MB)"

# A clean home: no ~/.vigil, no tool manifest, no feeds but the local one.
mkdir -p "$work/home"
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><clear /><add key="local" value="$root/artifacts" /></packageSources>
</configuration>
XML
version="$(basename "$nupkg" .nupkg)"; version="${version#vigil.}"
log "dotnet tool install --tool-path TMP --add-source ./artifacts vigil"
(cd "$work" && HOME="$work/home" DOTNET_CLI_HOME="$work/home" dotnet tool install --tool-path "$work/tools" --configfile "$work/nuget.config" --add-source "$root/artifacts" vigil) \
  || die "dotnet tool install --tool-path failed"
[ -x "$work/tools/vigil" ] || die "the --tool-path install has no vigil command"

log "completion script and suggest directive"
HOME="$work/home" "$work/tools/vigil" completion bash | grep -q '\[suggest:' || die "vigil completion bash has no suggest call"
HOME="$work/home" "$work/tools/vigil" "[suggest:3]" "tra" | grep -qx train || die "the suggest directive does not complete 'tra' to train"

# The README's way: `dotnet tool install --global`, into a throwaway HOME and DOTNET_CLI_HOME (so the global tools folder
# is $work/ghome/.dotnet/tools, not the real user's), with that folder on PATH in this subshell only; then `vigil
# quickstart` as a user would type it, and `dotnet tool uninstall --global`. The real user's global tools are compared
# before and after.
real_tools="${DOTNET_CLI_HOME:-$HOME}/.dotnet/tools"
before="$(ls -la "$real_tools" 2>/dev/null || true)"
ghome="$work/ghome"
mkdir -p "$ghome"
log "dotnet tool install --global vigil --add-source ./artifacts --version $version (HOME=$ghome)"
(
  set -euo pipefail
  export HOME="$ghome" DOTNET_CLI_HOME="$ghome"
  unset VIGIL_STORE VIGIL_HOME
  cd "$work"
  dotnet tool install --global vigil --configfile "$work/nuget.config" --add-source "$root/artifacts" --version "$version" >"$work/install.log" 2>&1 \
    || { cat "$work/install.log" >&2; exit 10; }
  export PATH="$ghome/.dotnet/tools:$PATH"
  [ "$(command -v vigil)" = "$ghome/.dotnet/tools/vigil" ] || exit 11
  vigil --version >/dev/null || exit 12
  log "vigil quickstart --json (global tool on PATH, clean home, $rows rows)"
  vigil quickstart --rows "$rows" --out "$work/qs" --json >"$work/qs.json" 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 13; }
  dotnet tool uninstall --global vigil >/dev/null || exit 14
  [ ! -e "$ghome/.dotnet/tools/vigil" ] || exit 15
) || case $? in
  10) die "dotnet tool install --global failed" ;;
  11) die "vigil on PATH is not the global tool in $ghome/.dotnet/tools" ;;
  12) die "the installed vigil --version failed" ;;
  13) die "vigil quickstart (global tool) failed" ;;
  14|15) die "dotnet tool uninstall --global did not remove vigil" ;;
  *) die "the global tool check failed" ;;
esac
[ "$(ls -la "$real_tools" 2>/dev/null || true)" = "$before" ] || die "the real user's global tools folder ($real_tools) changed"

uri="$(grep -o '"uri": *"[^"]*"' "$work/qs.json" | head -1)"
echo "$uri" | grep -q 'models:/quickstart-fraud@champion' || { cat "$work/qs.json"; die "quickstart --json did not report the champion"; }
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["champion"]["version"] >= 1 and len(d["candidates"]) == 3' "$work/qs.json" 2>/dev/null \
  || ! command -v python3 >/dev/null || { cat "$work/qs.json"; die "quickstart --json is not one JSON document with the champion and three candidates"; }
[ -f "$ghome/.vigil/vigil.db" ] || die "quickstart did not create the store under the clean home (~/.vigil/vigil.db)"
[ -f "$work/qs/scores.csv" ] || die "quickstart wrote no scores.csv"
grep -q "fresh start" "$work/stderr" || { cat "$work/stderr"; die "quickstart on a clean home did not say it starts fresh"; }
log "ok: packed, installed from ./artifacts (--tool-path and --global into a throwaway home), ran quickstart, uninstalled"
