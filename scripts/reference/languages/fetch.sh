#!/usr/bin/env bash
# Downloads the packages of corpus.txt (PyPI sdists with pip, npm tarballs with `npm pack`,
# Debian binary packages that ship source with `apt-get download`) into
# .tools/lang-corpus/downloads and unpacks the listed folder of each into
# .tools/lang-corpus/LANGUAGE/PACKAGE-VERSION. Idempotent; prints the corpus folder.
#
#   fetch.sh [LIST [FOLDER]]   another list (corpus-holdout.txt) into another folder
set -euo pipefail
cd "$(dirname "$0")/../../.."
LIST=${1:-scripts/reference/languages/corpus.txt}
CORPUS=${2:-.tools/lang-corpus}
DOWNLOADS=.tools/lang-corpus/downloads
mkdir -p "$DOWNLOADS"
log() { echo "[lang-corpus] $*" >&2; }
grep -v '^#' "$LIST" | while read -r language registry package version subdir; do
  [ -n "$language" ] || continue
  target="$CORPUS/$language/$package-$version"
  [ -d "$target" ] && continue
  unpacked=$(mktemp -d)
  case $registry in
    pypi)
      ls "$DOWNLOADS/$package-$version".tar.gz >/dev/null 2>&1 ||
        python3 -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps \
          -d "$DOWNLOADS" "$package==$version" >&2
      tar xzf "$DOWNLOADS/$package-$version.tar.gz" -C "$unpacked" ;;
    npm)
      [ -f "$DOWNLOADS/$package-$version.tgz" ] ||
        (cd "$DOWNLOADS" && npm pack --silent "$package@$version" >/dev/null)
      tar xzf "$DOWNLOADS/$package-$version.tgz" -C "$unpacked" ;;
    debian)
      deb=$(ls "$DOWNLOADS/${package}_"*.deb 2>/dev/null | head -1 || true)
      if [ -z "$deb" ]; then
        (cd "$DOWNLOADS" && apt-get download "$package=$version" >&2 2>/dev/null)
        deb=$(ls "$DOWNLOADS/${package}_"*.deb | head -1)
      fi
      dpkg-deb -x "$deb" "$unpacked"
      if [ "$package" = openjdk-17-source ]; then
        # The sources come as a zip inside the package; keep one folder's files.
        zip=$(find "$unpacked" -name src.zip | head -1)
        mkdir -p "$unpacked/src"
        unzip -q -o "$zip" "$subdir/*" -d "$unpacked/src"
        unpacked="$unpacked/src"
      fi ;;
    *) log "unknown registry $registry"; exit 2 ;;
  esac
  log "$language: $package $version ($subdir)"
  mkdir -p "$target"
  if [ -f "$unpacked/$subdir" ]; then
    cp "$unpacked/$subdir" "$target/"
  elif [ "$package" = openjdk-17-source ]; then
    find "$unpacked/$subdir" -maxdepth 1 -type f -name '*.java' -exec cp {} "$target/" \;
  else
    cp -r "$unpacked/$subdir/." "$target/"
  fi
  rm -rf "$unpacked"
done
echo "$PWD/$CORPUS"
