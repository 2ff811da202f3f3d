#!/usr/bin/env bash
# A second Python environment with cyclonedds-python 0.10.2 (the version of Unitree's SDKs and of the
# robot's own processes), built from source against Debian's cyclonedds-dev 0.10.2, for the
# cross-version DDS test (tests/test_dds_cross_version.py). Usage: bash scripts/build_dds010.sh [DIR]
#
# DIR (default .dds010 in the repository) receives:
#   home/   the CycloneDDS C prefix the Python bindings build against (CYCLONEDDS_HOME):
#           include/ (dds, ddsc, idl, idlc headers), lib/ (libddsc*, libcycloneddsidl*, cmake/CycloneDDS),
#           bin/idlc
#   venv/   python3 -m venv with cyclonedds==0.10.2 (no binary wheel: built against home/)
# Needs apt-get (Debian bookworm ships cyclonedds-dev / cyclonedds-tools 0.10.2), a C compiler and the
# Python headers. Exits non-zero, saying why, when any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="$(realpath -m "${1:-.dds010}")"
HOME_DDS="$DIR/home"
say() { echo "build_dds010: $*" >&2; }

if ! [ -e /usr/lib/x86_64-linux-gnu/libddsc.so ] || ! command -v idlc >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || { say "no apt-get: install cyclonedds-dev and cyclonedds-tools 0.10.x by hand"; exit 1; }
  say "apt-get install cyclonedds-dev cyclonedds-tools gcc python3-dev python3-venv"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cyclonedds-dev cyclonedds-tools gcc python3-dev python3-venv >/dev/null
fi
LIBDIR="$(dirname "$(readlink -f "$(ls /usr/lib/*/libddsc.so /usr/lib/libddsc.so 2>/dev/null | head -1)")")"
VERSION="$(dpkg-query -W -f='${Version}' cyclonedds-dev 2>/dev/null || echo unknown)"
say "CycloneDDS C library $VERSION in $LIBDIR"
case "$VERSION" in 0.10.*) ;; *) say "expected cyclonedds-dev 0.10.x, found $VERSION"; exit 1 ;; esac

rm -rf "$HOME_DDS"
mkdir -p "$HOME_DDS/include" "$HOME_DDS/lib/cmake" "$HOME_DDS/bin"
for d in dds ddsc idl idlc; do cp -r "/usr/include/$d" "$HOME_DDS/include/"; done
# Debian puts the multiarch feature header apart; the bindings include it as <dds/features.h>
for f in /usr/include/*-linux-gnu/dds/features.h; do [ -e "$f" ] && cp "$f" "$HOME_DDS/include/dds/"; done
cp -P "$LIBDIR"/libddsc.so* "$LIBDIR"/libcycloneddsidl.so* "$HOME_DDS/lib/"
cp -r "$LIBDIR/cmake/CycloneDDS" "$HOME_DDS/lib/cmake/"
ln -sf "$(command -v idlc)" "$HOME_DDS/bin/idlc"

if ! [ -x "$DIR/venv/bin/python" ]; then python3 -m venv "$DIR/venv"; fi
"$DIR/venv/bin/python" -m pip install -q --upgrade pip setuptools wheel
CYCLONEDDS_HOME="$HOME_DDS" "$DIR/venv/bin/python" -m pip install -q --no-cache-dir --no-binary cyclonedds --force-reinstall cyclonedds==0.10.2
"$DIR/venv/bin/python" - <<'PY'
import cyclonedds.__library__ as lib
import importlib.metadata as md
print(f"build_dds010: cyclonedds-python {md.version('cyclonedds')} on {lib.library_path}")
PY
