#!/usr/bin/env bash
# tools/quickstart.sh — set everything up and run lurn's main job.
#
# Installs the Debian packages lurn needs (as root; otherwise prints the
# apt-get line), builds lurn in build/, prints what it runs on, then trains
# a small recurrent model on generated data and shows what it learned
# (docs/examples/order.lua).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh build
build/lurn info
echo
exec build/lurn docs/examples/order.lua "$@"
