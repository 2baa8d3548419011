#!/usr/bin/env bash
# Prints the version stamped into packages and binaries: the release number of Directory.Build.props, then
# -dev.<commits on this branch>. The build adds +<commit> to the informational version (what --version prints).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' "$root/Directory.Build.props")"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  height="$(git -C "$root" rev-list --count HEAD)"
  echo "$prefix-dev.$height"
else
  echo "$prefix-dev.0"
fi
