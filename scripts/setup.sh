#!/usr/bin/env bash
# Installs what boxlcd needs on a fresh Debian/Ubuntu machine and builds it into .venv.
# Usage: bash scripts/setup.sh [pip extras, e.g. test]
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

apt_packages="libbox2d-dev libgtest-dev libbenchmark-dev g++ git"
# A bare Debian python3 lacks venv and headers; pyenv/conda Pythons have them.
if ! python3 -c "import ensurepip, sysconfig, os, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))" 2>/dev/null; then
  apt_packages="$apt_packages python3-venv python3-dev"
fi
missing=""
for p in $apt_packages; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q cmake ninja
extras="${1:-}"
if [ "$extras" = test ]; then
  # The tests cover the optional torch and Ray paths too; torch pinned to its CPU build.
  .venv/bin/python -m pip install -q "torch==2.13.0" "ray>=2.9"
fi
.venv/bin/python -m pip install -q ".${extras:+[$extras]}"
