#!/usr/bin/env bash
# lurn's corpus BLEU (lurn.seq2seq.bleu) against an independent implementation on the same
# outputs: tests/sh/bleu_check.py (sacreBLEU's algorithm written again in Python: its 13a
# regular expressions, exp smoothing, brevity penalty) and NLTK's corpus_bleu on the same
# tokens (Debian's python3-nltk), each within 0.01 BLEU. The text is generated: sentences
# with punctuation, numbers, dashes, HTML entities and mixed case, and hypotheses made from
# them by dropping, replacing and swapping words (some shorter, so the brevity penalty acts;
# none under 4 words, where NLTK's per-sentence denominator max(1, count) departs from BLEU's).
# Skips (77) without Python; without NLTK only the first comparison runs (said so).
. "$(dirname "$0")/cli_lib.sh"
py=${LURN_TEST_PYTHON:-/usr/bin/python3}
[ -x "$py" ] || { echo "skip: no $py"; exit 77; }
cd "$tmp"

"$LURN" -e '
lurn.seed(4)
local words = { "a", "man", "A", "Woman", "dog", "runs", "in", "the", "park", "3.5", "1,000",
  "5-6", "well-known", "(red)", "&quot;hi&quot;", "&amp;", "it'"'"'s", "end.", "yes,", "no!",
  "what?", "x/y", "[b]", "$10", "50%", "e.g.", "Street", "jumps", "over", "fence", "ball" }
local function pick() return words[1 + math.floor(lurn.rand(1):get(1) * #words)] end
local function r() return lurn.rand(1):get(1) end
local hyp, ref = {}, {}
for i = 1, 300 do
  local n = 4 + math.floor(r() * 14)
  local s = {}
  for j = 1, n do s[j] = pick() end
  ref[i] = table.concat(s, " ") .. (r() < 0.5 and "." or "")
  local h = {}
  for j = 1, n do
    local u = r()
    if u < 0.12 then -- dropped
    elseif u < 0.25 then h[#h + 1] = pick()
    elseif u < 0.32 and j < n then h[#h + 1] = s[j + 1]; h[#h + 1] = s[j]; s[j + 1] = ""
    elseif s[j] ~= "" then h[#h + 1] = s[j] end
  end
  if i % 7 == 0 then h = { table.unpack(h, 1, #h // 2) } end
  -- at least 4 words: NLTK counts a hypothesis shorter than n as one n-gram (its
  -- denominator is max(1, count) per sentence), sacreBLEU as none; both agree from 4 on
  while #h < 4 do h[#h + 1] = pick() end
  hyp[i] = table.concat(h, " ")
end
local function write(name, lines)
  local f = assert(io.open(name, "w")); f:write(table.concat(lines, "\n"), "\n"); f:close()
end
write("hyp.txt", hyp); write("ref.txt", ref)
local b = require "lurn.seq2seq.bleu"
local function read(name) local t = {} for l in io.lines(name) do t[#t + 1] = l end return t end
hyp, ref = read("hyp.txt"), read("ref.txt")
local f = assert(io.open("lurn.txt", "w"))
f:write(("%.6f %.6f\n"):format(b.corpus(hyp, ref).score, b.corpus(hyp, ref, { lowercase = true }).score))
f:close()
' || { bad "lurn computes BLEU"; finish; exit 1; }

read -r lurn_cased lurn_lower < lurn.txt
read -r py_cased nltk_cased < <("$py" "$SRC/tests/sh/bleu_check.py" hyp.txt ref.txt)
read -r py_lower nltk_lower < <("$py" "$SRC/tests/sh/bleu_check.py" hyp.txt ref.txt --lowercase)
echo "lurn $lurn_cased / $lurn_lower   python (sacreBLEU's algorithm) $py_cased / $py_lower   nltk $nltk_cased / $nltk_lower"

within() {  # name a b: |a - b| <= 0.01
  if awk -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.01) }'; then
    ok "$1 ($2 vs $3)"
  else
    bad "$1" "lurn $2, python $3"
  fi
}
# the generated text must exercise the score: neither 0 nor 100, and the cases differ
awk -v a="$lurn_cased" 'BEGIN { exit !(a > 10 && a < 90) }' && ok "a mid-range score ($lurn_cased)" \
  || bad "a mid-range score" "$lurn_cased"
[ "$lurn_cased" != "$lurn_lower" ] && ok "lowercasing changes the score" || bad "lowercasing changes the score"
within "cased BLEU = sacreBLEU's algorithm in Python" "$lurn_cased" "$py_cased"
within "lowercased BLEU = sacreBLEU's algorithm in Python" "$lurn_lower" "$py_lower"
if [ "$nltk_cased" = nltk-missing ]; then
  echo "note: NLTK is not installed (apt-get install python3-nltk): its comparison did not run"
else
  within "cased BLEU = NLTK corpus_bleu" "$lurn_cased" "$nltk_cased"
  within "lowercased BLEU = NLTK corpus_bleu" "$lurn_lower" "$nltk_lower"
fi
finish
