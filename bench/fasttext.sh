#!/usr/bin/env bash
# bench/fasttext.sh — Debian's fastText 0.9.2 on the very splits a lurn config trains on (issue 10).
#
#   bash bench/fasttext.sh CONFIG [--seeds "1 2 3"] [--build DIR] [key=value ...] [-- FASTTEXT OPTIONS]
#
# For each seed: bench/fasttext_splits.lua writes the config's training and validation parts
# (its k folds when data.folds >= 2) as fastText files of lurn's tokens; then
# `fasttext supervised -input train.ft -output model -thread 1 -seed SEED FASTTEXT OPTIONS`
# and `fasttext test model.bin valid.ft` (precision at 1 = accuracy). Prints the accuracy per
# seed (the mean over the folds for k folds), then the mean and sample sd over the seeds, the
# wall time and the load. key=value overrides go to the config (as for lurn train).
# --nb also runs bench/naive_bayes.py (binarized multinomial naive Bayes, uni+bigrams) on the
# same files and reports it the same way.
# Examples (docs/results.md has the figures):
#   bash bench/fasttext.sh configs/uci.lua data.train=data/uci-sentences/yelp.txt -- -epoch 25 -wordNgrams 2
#   bash bench/fasttext.sh configs/sst2-lstm.lua
#   bash bench/fasttext.sh configs/imdb-lstm.lua -- -epoch 25 -wordNgrams 2
# Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
SEEDS="1 2 3"; BUILD=build; CONFIG=""; OVR=(); FT=(); NB=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) SEEDS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --nb) NB=1; shift ;;
    --) shift; FT=("$@"); break ;;
    -h|--help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *=*) OVR+=("$1"); shift ;;
    *) [ -z "$CONFIG" ] || { echo "fasttext.sh: unexpected argument '$1'" >&2; exit 2; }; CONFIG=$1; shift ;;
  esac
done
[ -n "$CONFIG" ] || { echo "usage: bash bench/fasttext.sh CONFIG [--seeds \"1 2 3\"] [key=value ...] [-- OPTIONS]" >&2; exit 2; }
command -v fasttext >/dev/null || { echo "fasttext.sh: fasttext is missing: apt-get install -y fasttext" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

echo "config $CONFIG ${OVR[*]:-}; fasttext supervised -thread 1 ${FT[*]:-}"
echo "load before: $(uptime | sed 's/.*load average: //')"
start=$(date +%s.%N)
accs=(); nbs=()
for seed in $SEEDS; do
  "$BUILD/lurn" bench/fasttext_splits.lua "$CONFIG" "$tmp/s$seed" "${OVR[@]}" "seed=$seed" >/dev/null
  sum=0; n=0; nbsum=0
  for dir in $(ls -d "$tmp/s$seed"/fold-* 2>/dev/null || echo "$tmp/s$seed"); do
    fasttext supervised -input "$dir/train.ft" -output "$dir/model" -thread 1 -seed "$seed" \
      "${FT[@]}" >/dev/null 2>&1
    p=$(fasttext test "$dir/model.bin" "$dir/valid.ft" | awk '$1 == "P@1" { print $2 }')
    sum=$(awk -v a="$sum" -v b="$p" 'BEGIN { print a + b }'); n=$((n + 1))
    rm -f "$dir/model.bin" "$dir/model.vec"
    if [ "$NB" = 1 ]; then
      q=$(python3 bench/naive_bayes.py "$dir/train.ft" "$dir/valid.ft" | awk '{ print $2 }')
      nbsum=$(awk -v a="$nbsum" -v b="$q" 'BEGIN { print a + b }')
    fi
  done
  acc=$(awk -v s="$sum" -v n="$n" 'BEGIN { printf "%.4f", s / n }')
  echo "seed $seed: accuracy $acc (mean over $n split(s))"
  accs+=("$acc")
  if [ "$NB" = 1 ]; then
    nb=$(awk -v s="$nbsum" -v n="$n" 'BEGIN { printf "%.4f", s / n }')
    echo "seed $seed: naive Bayes accuracy $nb"
    nbs+=("$nb")
  fi
done
end=$(date +%s.%N)
summary() { awk -v t="$wall" '
  { x[NR] = $1; s += $1 } END { m = s / NR; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2
    sd = 0; if (NR > 1) sd = sqrt(v / (NR - 1))
    printf "mean %.4f  sd %.4f  over %d seed(s); %.0f s wall\n", m, sd, NR, t }'; }
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
printf 'fastText: '; printf '%s\n' "${accs[@]}" | summary
if [ "$NB" = 1 ]; then printf 'naive Bayes: '; printf '%s\n' "${nbs[@]}" | summary; fi
echo "load after: $(uptime | sed 's/.*load average: //')"
