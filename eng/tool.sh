#!/usr/bin/env bash
# The .NET tool check (a step of eng/test.sh, counted as one test): packs src/Vigil.Cli as the `vigil` tool package
# into ./artifacts, installs it from there with `dotnet tool install --tool-path` (only that local source: no feed is
# asked), and runs the installed `vigil quickstart` on a clean home. Also checks `vigil completion bash` and the
# suggest directive of the installed tool. Usage: eng/tool.sh [ROWS]   (quickstart rows, default 30000)
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
log "dotnet tool install --tool-path TMP --add-source ./artifacts vigil"
(cd "$work" && HOME="$work/home" dotnet tool install --tool-path "$work/tools" --configfile "$work/nuget.config" --add-source "$root/artifacts" vigil) \
  || die "dotnet tool install failed"
[ -x "$work/tools/vigil" ] || die "the installed tool has no vigil command"

log "vigil quickstart (installed tool, clean home, $rows rows)"
out="$(cd "$work" && env -u VIGIL_STORE -u VIGIL_HOME HOME="$work/home" "$work/tools/vigil" quickstart --rows "$rows" --out "$work/qs" 2>"$work/stderr")" \
  || { cat "$work/stderr" >&2; die "vigil quickstart exited with $?"; }
echo "$out" | grep -q "models:/quickstart-fraud@champion" || { echo "$out"; die "quickstart did not report the champion"; }
[ -f "$work/home/.vigil/vigil.db" ] || die "quickstart did not create the store under the clean home (~/.vigil/vigil.db)"
[ -f "$work/qs/scores.csv" ] || die "quickstart wrote no scores.csv"
grep -q "fresh start" "$work/stderr" || { cat "$work/stderr"; die "quickstart on a clean home did not say it starts fresh"; }

log "completion script and suggest directive"
HOME="$work/home" "$work/tools/vigil" completion bash | grep -q '\[suggest:' || die "vigil completion bash has no suggest call"
HOME="$work/home" "$work/tools/vigil" "[suggest:3]" "tra" | grep -qx train || die "the suggest directive does not complete 'tra' to train"
log "ok: packed, installed from ./artifacts and ran quickstart"
