#!/usr/bin/env bash
# Builds the `spillway` command as self-contained single-file binaries (no .NET SDK or runtime needed to run them)
# into artifacts/bin/<rid>/ (or $SPILLWAY_ARTIFACTS/bin/<rid>/), stamped with scripts/version.sh.
#   scripts/publish.sh                      # linux-x64 linux-arm64 osx-arm64 win-x64
#   scripts/publish.sh linux-x64            # only the ones named
# The native engines (SQLite, DuckDB) are bundled in the file and unpacked on first start into
# $DOTNET_BUNDLE_EXTRACT_BASE_DIR (default: ~/.net). Not trimmed and not ReadyToRun: see docs/install.md for why.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="$("$root/scripts/version.sh")"
rids=("$@")
[ ${#rids[@]} -gt 0 ] || rids=(linux-x64 linux-arm64 osx-arm64 win-x64)
for rid in "${rids[@]}"; do
  out="${SPILLWAY_ARTIFACTS:-$root/artifacts}/bin/$rid"
  rm -rf "$out"
  dotnet publish "$root/src/Spillway.Cli/Spillway.Cli.csproj" -c Release -r "$rid" --self-contained \
    -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none \
    -p:Version="$version" -o "$out" -nologo -v quiet >&2
  # The binary is all a user needs: the XML docs and config files the referenced projects leave beside it are not.
  file="spillway"; [[ "$rid" == win-* ]] && file="spillway.exe"
  find "$out" -mindepth 1 ! -name "$file" -delete
  echo "$rid: $out/$file ($(du -h "$out/$file" | cut -f1))" >&2
done
echo "$version"
