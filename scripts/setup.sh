#!/usr/bin/env bash
# Installs what boxlcd needs on a fresh Debian/Ubuntu machine and builds it into .venv.
# Usage: bash scripts/setup.sh [pip extras, e.g. test]
# Box2D is built from its pinned source (cmake/box2d.cmake), so no Box2D package is needed.
# A second run with the same sources and extras installs nothing: .venv/boxlcd-installed
# records a hash of the package's source files and the extras installed from them.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

apt_packages="libgtest-dev libbenchmark-dev g++ git"
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

extras="${1:-}"
want="extras ${extras:-none}"
# What the installed package was built from: every file the wheel is made of (tracked or new,
# committed or not); the stamp lists it and each set of extras installed from it.
stamp=.venv/boxlcd-installed
sources=""
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  sources=$(git ls-files -z --cached --others --exclude-standard -- CMakeLists.txt cmake cpp python pyproject.toml |
            sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
fi
installed=""
if [ -n "$sources" ] && [ -f "$stamp" ] && grep -qx "sources $sources" "$stamp"; then
  installed=$(grep '^extras ' "$stamp" || true)
fi
if [ -n "$installed" ] && grep -qx "$want" <<<"$installed" && .venv/bin/python -c "import boxlcd._core" 2>/dev/null; then
  echo "boxlcd in .venv was built from these sources${extras:+ with [$extras]}; nothing to install"
  exit 0
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
rm -f "$stamp"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q cmake ninja
if [ "$extras" = test ]; then
  # The tests cover the optional torch and Ray paths too; torch pinned to its CPU build.
  .venv/bin/python -m pip install -q "torch==2.13.0" "ray>=2.9"
fi
.venv/bin/python -m pip install -q ".${extras:+[$extras]}"
if [ -n "$sources" ]; then
  printf 'sources %s\n%s\n' "$sources" "$(printf '%s\n%s\n' "$installed" "$want" | grep . | sort -u)" >"$stamp"
fi
