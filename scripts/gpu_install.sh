#!/usr/bin/env bash
# Installs boxlcd and the wheels in .whl/ into the folder SITE for PYTHON, asking no registry:
# for a GPU machine without network whose Python already holds torch and boxlcd's build tools
# (scikit-build-core, pybind11, cmake, ninja, numpy) and a C++ compiler. Box2D is built from
# the archive in .box2d/ (checked against cmake/box2d.cmake's SHA-256), on every core.
# scripts/gpu_prepare.sh fills .whl/ and .box2d/ where there is network.
# Then use it with PYTHONPATH=SITE; scripts/gpu_check.sh runs this itself when SITE is set.
#
# Usage: PYTHON=python3 bash scripts/gpu_install.sh SITE
set -euo pipefail
SITE=${1:?usage: gpu_install.sh SITE}
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
start=$SECONDS
fail() { echo "gpu_install.sh: $*" >&2; exit 1; }

archive=.box2d/box2d.tar.gz
compgen -G ".whl/*.whl" >/dev/null && [ -f "$archive" ] ||
  fail "no .whl/*.whl or $archive here: run bash scripts/gpu_prepare.sh where there is network, and carry .whl and .box2d"
sha=$(grep -oE 'SHA256=[0-9a-f]{64}' cmake/box2d.cmake | cut -d= -f2)
echo "$sha  $archive" | sha256sum -c --quiet >/dev/null 2>&1 || fail "$archive is not the archive cmake/box2d.cmake pins"
"$PY" -c "
import importlib.util, os, sys, sysconfig
missing = [m for m in ('scikit_build_core', 'pybind11', 'numpy') if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f'{sys.executable} lacks {\", \".join(missing)}, which the build needs')
if not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')):
    sys.exit(f'{sys.executable} has no Python.h, which the build needs')
" || fail "cannot build with $PY (above)"
cxx=${CXX:-$(command -v c++ || command -v g++ || true)}  # CMake finds one of these too
[ -n "$cxx" ] && command -v "$cxx" >/dev/null || fail "no C++ compiler (c++ or g++; or set CXX)"

# boxlcd links with LTO where the compiler can (a few % faster steps), else without it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
lto=ON
echo 'int main() { return 0; }' | "$cxx" -x c++ -flto - -o "$tmp/lto" 2>/dev/null || {
  lto=OFF; echo "gpu_install.sh: $cxx cannot link with -flto; boxlcd is built without LTO"; }

src=$PWD/build/box2d-source  # kept for a second build (unchanged files: nothing to rebuild)
if [ ! -f "$src/include/box2d/b2_world.h" ]; then
  rm -rf "$src" && mkdir -p "$src"
  tar -xzf "$archive" -C "$src" --strip-components=1
fi

"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl ||
  fail "installing the wheels in .whl failed (above)"
build() {
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) BOX2D_SOURCE_DIR=$src "$PY" -m pip install -q --no-index --no-deps \
    --no-build-isolation --no-cache-dir --upgrade --target "$SITE" -C cmake.define.BOXLCD_LTO=$lto .
}
if ! build; then
  [ $lto = ON ] || fail "building boxlcd failed (above)"
  lto=OFF
  echo "gpu_install.sh: building with LTO failed (above); again without it"
  build || fail "building boxlcd failed (above)"
fi
PYTHONPATH=$SITE${PYTHONPATH:+:$PYTHONPATH} "$PY" -c "
import boxlcd, gymnasium, ignite, stable_baselines3
print('gpu_install.sh: boxlcd', boxlcd.__version__, 'from', boxlcd.__file__, '| gymnasium', gymnasium.__version__,
      '| ignite', ignite.__version__, '| stable-baselines3', stable_baselines3.__version__)
"
echo "gpu_install.sh: installed into $SITE in $((SECONDS - start))s (LTO $lto, $(nproc) cores)"
