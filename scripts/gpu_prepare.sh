#!/usr/bin/env bash
# Prepares, on a machine with network, what a GPU machine without network needs to build boxlcd
# and run scripts/gpu_check.sh: the wheels of the Python packages such a machine's image lacks,
# into .whl/, and Box2D's pinned source archive (the URLs and SHA-256 of cmake/box2d.cmake),
# into .box2d/. Both folders are ignored by git; carry them to that machine with the working
# tree, where scripts/gpu_install.sh (which gpu_check.sh runs when SITE is set) installs them
# without asking any registry.
#
# The image it is made for has Python 3.12 with a CUDA torch, numpy, scipy, matplotlib,
# pillow, tqdm, cloudpickle, packaging, typing-extensions, pytest, cmake, ninja, pybind11 and
# scikit-build-core (the one docs/speed.md's "On a GPU" names); the wheels here are the rest of
# what the tests and benchmarks import: gymnasium and its farama-notifications,
# stable-baselines3 and pytorch-ignite (these two as pyproject.toml pins them). All four are
# pure Python; each is named, with --no-deps, so nothing else is fetched.
#
# Usage: bash scripts/gpu_prepare.sh
# Optional environment: PYTHON (the pip that downloads, default python3), PY_VERSION (the
# target machine's Python, default 3.12).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
PY_VERSION=${PY_VERSION:-3.12}

pin() {  # pin NAME: NAME==VERSION as pyproject.toml pins it
  grep -oE "\"$1==[^\"]+\"" pyproject.toml | head -1 | tr -d '"' || true
}
wheels=("gymnasium==1.4.0" "farama-notifications==0.0.6" "$(pin stable-baselines3)" "$(pin pytorch-ignite)")
for w in "${wheels[@]}"; do
  [[ $w == *==* ]] || { echo "gpu_prepare.sh: pyproject.toml pins no version of a package named here" >&2; exit 1; }
done

# Into a fresh folder, then in place of .whl: one version of each package, or the install stops.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64; do platforms+=(--platform "$p"); done
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PY_VERSION" --implementation cp \
  "${platforms[@]}" -d "$tmp/whl" "${wheels[@]}"
rm -rf .whl
mv "$tmp/whl" .whl

# Box2D: the archive cmake/box2d.cmake would fetch, from the first of its URLs that answers.
sha=$(grep -oE 'SHA256=[0-9a-f]{64}' cmake/box2d.cmake | cut -d= -f2)
mapfile -t urls < <(sed -n '/FetchContent_Declare(box2d/,/URL_HASH/p' cmake/box2d.cmake | grep -oE 'https?://[^ ]+')
[ -n "$sha" ] && [ "${#urls[@]}" -gt 0 ] || { echo "gpu_prepare.sh: no URL or SHA256 found in cmake/box2d.cmake" >&2; exit 1; }
archive=.box2d/box2d.tar.gz
if ! echo "$sha  $archive" | sha256sum -c --quiet >/dev/null 2>&1; then
  mkdir -p .box2d
  for url in "${urls[@]}"; do
    if curl -fsSL --retry 2 -o "$tmp/box2d.tar.gz" "$url" && echo "$sha  $tmp/box2d.tar.gz" | sha256sum -c --quiet >/dev/null 2>&1; then
      mv "$tmp/box2d.tar.gz" "$archive"
      break
    fi
  done
  echo "$sha  $archive" | sha256sum -c --quiet >/dev/null 2>&1 || {
    echo "gpu_prepare.sh: none of Box2D's URLs in cmake/box2d.cmake gave the archive with its SHA-256" >&2; exit 1; }
fi

ls .whl
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 cat | wc -c)
carried=$(cat .whl/* "$archive" | wc -c)
echo "carried: $((carried / 1024)) KiB in .whl and .box2d; with the working tree $(((tree + carried) / 1048576)) MiB"
