#!/usr/bin/env bash
# tools/quickstart.sh — set everything up and run lurn's main job: sentiment analysis.
#
#   bash tools/quickstart.sh
#
# 1. installs the Debian packages lurn needs (as root; otherwise prints the apt-get line),
#    curl and ca-certificates included, and builds lurn in build/ (tools/setup.sh);
# 2. fetches the UCI labelled sentences (3,000 review sentences from amazon, yelp and
#    imdb) with datasets/uci-sentences, unless data/uci-sentences/all.txt is there;
# 3. trains and evaluates the default model, `lurn train configs/sentiment.lua`, in a new
#    run directory runs/quickstart-<UTC time> (under a minute on an idle 2-core machine;
#    docs/results.md has the measured times);
# 4. shows what the saved model says of a few typed sentences (`lurn predict`) and prints
#    the command to try your own.
# Offline: LURN_DATA=DIR takes the sentences from a local copy (see datasets/uci-sentences).
set -euo pipefail
cd "$(dirname "$0")/.."
LURN_EXTRA_PACKAGES="curl ca-certificates ${LURN_EXTRA_PACKAGES:-}" bash tools/setup.sh build
build/lurn info | head -3
echo

if [ ! -s data/uci-sentences/all.txt ]; then
  bash datasets/uci-sentences
  echo
fi

run=runs/quickstart-$(date -u +%Y%m%d-%H%M%S)
start=$(date +%s)
build/lurn train configs/sentiment.lua --out "$run"
echo
build/lurn eval "$run"
echo "(trained and evaluated in $(($(date +%s) - start)) s)"
echo

echo "What the saved model ($run/checkpoints/best.ckpt) says of a few sentences:"
sentences=(
  "The food was delicious and the staff were very friendly."
  "Worst phone I have ever owned, it broke after two days."
  "A wonderful film with a great cast."
  "I would not recommend this place to anyone."
  "The battery lasts all day, excellent value."
)
printf '%s\n' "${sentences[@]}" | build/lurn predict "$run" |
  paste - <(printf '%s\n' "${sentences[@]}") |
  awk -F'\t' '{ printf "  %-8s %.2f  %s\n", $1, $2, $3 }'
echo
echo "Try your own:"
echo "  build/lurn predict $run \"your sentence here\""
echo "  build/lurn predict $run < sentences.txt      # one sentence a line"
