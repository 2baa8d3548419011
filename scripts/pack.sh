#!/usr/bin/env bash
# Builds the NuGet packages into artifacts/packages (or the folder given): Spillway.Contracts, Spillway.Client,
# Spillway.Server, Spillway.Testing, and the `spillway` dotnet tool (Spillway.Cli), all stamped with
# scripts/version.sh. Install from the folder:
#   dotnet tool install --tool-path ./tools --add-source artifacts/packages Spillway.Cli --prerelease
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/artifacts/packages}"
version="$("$root/scripts/version.sh")"
mkdir -p "$out"
dotnet pack "$root/Spillway.slnx" -c Release -o "$out" -p:Version="$version" -nologo -v quiet >&2
echo "packed $version into $out" >&2
echo "$version"
