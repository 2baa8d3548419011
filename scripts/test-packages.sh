#!/usr/bin/env bash
# What a user installs, tested as a user gets it (part of scripts/test.sh; runnable alone):
#  1. scripts/pack.sh into a temp folder, then the sample test project in samples/TestingSample (outside the
#     solution) restores Spillway.Testing and Spillway.Client from that folder and runs its tests;
#  2. the `spillway` dotnet tool installs from that folder and prints its version;
#  3. scripts/publish.sh linux-x64, then scripts/smoke-binary.sh runs the binary where no .NET is visible.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/spillway-packages.XXXXXX")"
trap 'rm -rf "$work"' EXIT

version="$("$root/scripts/pack.sh" "$work/packages")"
# A package of the same version restored before would be taken from the cache: drop our own ids from it.
rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/spillway.{testing,client,server,contracts,cli}/"$version"
echo "test-packages: sample test project on the packed Spillway.Testing $version" >&2
dotnet test "$root/samples/TestingSample/TestingSample.csproj" -c Release -nologo \
  -p:SpillwayVersion="$version" -p:RestoreAdditionalProjectSources="$work/packages" \
  --results-directory "$work/results" -o "$work/sample-bin"

echo "test-packages: dotnet tool install Spillway.Cli $version" >&2
dotnet tool install --tool-path "$work/tools" --add-source "$work/packages" Spillway.Cli --version "$version" >&2
installed="$("$work/tools/spillway" --version)"
[[ "$installed" == "$version"+* ]] || { echo "test-packages: the tool says $installed, not $version" >&2; exit 1; }

echo "test-packages: self-contained linux-x64 binary" >&2
SPILLWAY_ARTIFACTS="$work/artifacts" "$root/scripts/publish.sh" linux-x64 >/dev/null
"$root/scripts/smoke-binary.sh" "$work/artifacts/bin/linux-x64/spillway"
echo "test-packages: passed" >&2
