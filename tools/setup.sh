#!/usr/bin/env bash
# tools/setup.sh — install what lurn needs from Debian and build it.
#
#   bash tools/setup.sh [build-dir] [extra cmake args...]
#
# Missing Debian packages are installed with apt-get when run as root;
# otherwise the exact apt-get line is printed and the script stops.
# Then lurn is configured and built (Release) in build-dir (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(cmake gcc libc6-dev make pkg-config liblua5.4-dev lua5.4 libblis-openmp-dev libcjson-dev
          lua-unit libreadline-dev
          lua-argparse lua-cjson lua-filesystem   # the command line: arguments, JSON, directories
          tmux                                     # tests: the live progress line in a real terminal
          libxml2-utils                            # tests: xmllint checks the SVG lurn forecast writes
          espeak-ng                                # tests: lurn transcribe on synthesised speech
          clang libclang-rt-14-dev libomp-dev      # tests/fuzz: libFuzzer harnesses (OpenMP for lurn's C under clang)
          python3-nltk                             # tests/sh/test_bleu_python.sh: NLTK's corpus_bleu beside lurn's
          libopenmpi-dev openmpi-bin)              # mpirun -np N lurn train/sweep (optional: cmake -DLURN_MPI=OFF)
[ -n "${LURN_EXTRA_PACKAGES:-}" ] && PACKAGES+=(${LURN_EXTRA_PACKAGES})

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages. Run:"
    echo "  sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
fi

build=${1:-build}
shift || true
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="${LURN_BUILD_TYPE:-Release}" "$@" >/dev/null
cmake --build "$build" -j"$(nproc)" 2>&1 | grep -v "^\[" || true
test -x "$build/lurn" || { echo "setup: build failed"; exit 1; }
echo "setup: built $build/lurn"
