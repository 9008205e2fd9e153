#!/usr/bin/env bash
# bench/read_imdb.sh — reading IMDB's 25,000 training reviews: lurn beside fastText (issue 10).
#
#   bash bench/read_imdb.sh [--data DIR] [--rounds N] [--build DIR]
#
#   --data DIR    aclImdb's train/ (default: $LURN_DATA/imdb/aclImdb/train, then
#                 data/imdb/aclImdb/train from datasets/imdb, then ../shared/datasets/imdb/aclImdb/train)
#   --rounds N    measurements per side (default 3; the order alternates between rounds)
#   --build DIR   lurn build directory (default build)
#
# Three measurements, each a fresh process, wall time from start to exit:
#   lurn-dir    lurn reads the 25,000 files of train/pos and train/neg, tokenizes them (the
#               word tokenizer: lower-case, clitics, punctuation, <br />), counts the tokens,
#               builds the vocabulary and numericalises every review into id lists, as
#               lurn.text.load_dataset does (bench/read_imdb.lua; its phases are printed too)
#   lurn-ft     the same from one fastText-format file holding the same reviews
#   fasttext    Debian's fasttext 0.9.2 on that file: `supervised -epoch 0 -dim 1 -thread 2`,
#               which reads it, splits on whitespace, counts and builds its dictionary, then
#               writes a (tiny) model without training: fastText's own reading path
# The fastText-format file is made once, before the rounds, by lurn's imdb reader (not timed).
# Prints the machine's load (uptime) before and after: the machine may be shared, and the
# ratio of medians measured in one run is the figure to quote, not the absolute times.
# Not part of the test suite. About 30 s on an idle 2-core machine with the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3; BUILD=build; DATA=""
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "read_imdb.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$DATA" ]; then
  for d in ${LURN_DATA:+"$LURN_DATA/imdb/aclImdb/train"} data/imdb/aclImdb/train ../shared/datasets/imdb/aclImdb/train \
           ../../shared/datasets/imdb/aclImdb/train; do
    [ -d "$d/pos" ] && { DATA=$d; break; }
  done
fi
[ -n "$DATA" ] && [ -d "$DATA/pos" ] || { echo "read_imdb.sh: no aclImdb train/ found (bash datasets/imdb, or --data DIR)" >&2; exit 2; }
LURN=$BUILD/lurn
[ -x "$LURN" ] || { echo "read_imdb.sh: $LURN not built (bash tools/setup.sh build)" >&2; exit 2; }
command -v fasttext >/dev/null || { echo "read_imdb.sh: fasttext not installed (apt-get install -y fasttext)" >&2; exit 2; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
FT=$tmp/imdb_train.ft
SRC=$DATA DST=$FT "$LURN" -e '
  local r = require("lurn.text").read(os.getenv("SRC"), { format = "imdb" })
  local f = assert(io.open(os.getenv("DST"), "wb"))
  for i, s in ipairs(r.texts) do f:write("__label__", r.labels[i], " ", (s:gsub("[\r\n]", " ")), "\n") end
  f:close()'

now() { date +%s%N; }
run() {  # name, command...: prints "name wall_s [details]"
  local name=$1; shift
  local t0 t1 out
  t0=$(now)
  out=$("$@" 2>&1) || { echo "read_imdb.sh: $name failed: $out" >&2; exit 1; }
  t1=$(now)
  local extra=""
  case "$name" in lurn-*) extra=$(grep '^lurn-read' <<<"$out") ;; esac
  echo "$name $(( (t1 - t0) / 1000000 )) $extra"
}
lurn_dir() { run lurn-dir "$LURN" bench/read_imdb.lua "$DATA" imdb; }
lurn_ft()  { run lurn-ft "$LURN" bench/read_imdb.lua "$FT" fasttext; }
fast()     { run fasttext fasttext supervised -input "$FT" -output "$tmp/model" -epoch 0 -dim 1 -thread 2 -verbose 0; }

echo "data: $DATA ($(du -sh "$DATA" | cut -f1) on disk; fastText file $(du -h "$FT" | cut -f1))"
echo "load before: $(uptime)"
results=$tmp/results
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then lurn_dir; lurn_ft; fast; else fast; lurn_ft; lurn_dir; fi
done | tee "$results"
echo "load after:  $(uptime)"
echo "(lurn-read lines: format read_ms tokenize+count_ms vocab_ms numericalise_ms total_ms docs tokens vocab peak_rss_mb)"
median() { grep "^$1 " "$results" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(median lurn-dir); f=$(median lurn-ft); x=$(median fasttext)
echo "median wall ms over $ROUNDS rounds: lurn-dir $d  lurn-ft $f  fasttext $x"
awk -v d="$d" -v f="$f" -v x="$x" 'BEGIN { printf "ratio to fastText: lurn-dir %.2f  lurn-ft %.2f\n", d / x, f / x }'
