#!/usr/bin/env bash
# fetch.sh LIST OUT_DIR
# Downloads the npm tarballs listed in LIST (lines `PACKAGE VERSION SHA256 LICENCE`, `#` comments)
# into OUT_DIR with `npm pack` (which checks the registry's own integrity hash), then checks each
# against its pinned sha256 and refuses any that differs. The folder appears only when every
# download succeeded (temp folder, then rename).
set -euo pipefail
list=${1:?usage: fetch.sh LIST OUT_DIR}
out=${2:?usage: fetch.sh LIST OUT_DIR}
[ -f "$list" ] || { echo "fetch.sh: no such file: $list" >&2; exit 2; }
command -v npm >/dev/null || {
  echo "fetch.sh: npm is needed to download the Java study's packages (Debian: apt-get install npm)" >&2
  exit 2
}
parent=$(dirname "$out")
mkdir -p "$parent"
tmp=$(mktemp -d "$parent/.$(basename "$out").tmp-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
count=0
while read -r package version sha256 _licence; do
  case $package in '' | '#'*) continue ;; esac
  [ -n "$sha256" ] || { echo "fetch.sh: $list: $package $version has no sha256" >&2; exit 2; }
  file=$(cd "$tmp" && npm pack --silent --ignore-scripts "$package@$version" | tail -n 1)
  if ! echo "$sha256  $tmp/$file" | sha256sum --check --quiet --status -; then
    echo "fetch.sh: $package $version: sha256 $(sha256sum "$tmp/$file" | cut -d' ' -f1) is not the pinned $sha256" >&2
    exit 1
  fi
  count=$((count + 1))
done <"$list"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "fetch.sh: $count tarballs in $out" >&2
