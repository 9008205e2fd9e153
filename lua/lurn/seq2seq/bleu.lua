--- lurn.seq2seq.bleu — corpus BLEU as sacreBLEU computes it (13a tokenisation, brevity penalty).
--
--   local bleu = require "lurn.seq2seq.bleu"
--   local r = bleu.corpus(hypotheses, references)   -- lists of detokenised strings, one each
--   print(r.score, r.precisions[1], r.bp, r.sys_len, r.ref_len)
--
-- Papineni et al. 2002: the geometric mean of the clipped n-gram precisions
-- p_1..p_4 over the whole corpus, times the brevity penalty
--   BP = 1 if c >= r, else exp(1 - r / c)   (c, r: hypothesis and reference token counts)
--   BLEU = 100 * BP * exp(sum_n log(p_n) / 4)
-- Tokens come from the "13a" tokeniser (mteval-v13a.pl, sacreBLEU's default):
-- a few HTML entities unescaped, punctuation split off, periods and commas split
-- unless next to a digit, a dash split after a digit. lowercase = true compares
-- lowercased text (sacreBLEU's -lc). Smoothing "exp" (sacreBLEU's default; it only
-- matters when some n-gram order has no match at all): the k-th order without a
-- match counts as 1 / 2^k matches; "none" makes such a corpus score 0.
-- tests/sh/test_bleu_python.sh checks these figures against NLTK's corpus_bleu
-- on the same tokens and against sacreBLEU's algorithm written again in Python.
local M = {}

-- The characters 13a splits off everywhere: sacreBLEU's class
-- [\{-\~\[-\` -\&\(-\+\:-\@\/] (ASCII punctuation but ' , - . which have rules below).
local PUNCT = {}
for _, range in ipairs { { 0x7B, 0x7E }, { 0x5B, 0x60 }, { 0x20, 0x26 }, { 0x28, 0x2B },
  { 0x3A, 0x40 }, { 0x2F, 0x2F } } do
  for c = range[1], range[2] do PUNCT[string.char(c)] = " " .. string.char(c) .. " " end
end

--- The 13a tokenisation of one line: its tokens joined by single spaces.
-- @tparam string line
-- @treturn string
function M.tokenize_13a(line)
  line = line:gsub("<skipped>", ""):gsub("%-\n", ""):gsub("\n", " ")
  if line:find("&", 1, true) then
    line = line:gsub("&quot;", '"'):gsub("&amp;", "&"):gsub("&lt;", "<"):gsub("&gt;", ">")
  end
  line = " " .. line .. " "
  -- the four rules in sacreBLEU's order; Lua's gsub scans left to right without
  -- overlapping matches, as Python's re.sub does
  line = line:gsub(".", PUNCT)
  line = line:gsub("([^0-9])([%.,])", "%1 %2 ")
  line = line:gsub("([%.,])([^0-9])", " %1 %2")
  line = line:gsub("([0-9])(%-)", "%1 %2 ")
  local out = {}
  for w in line:gmatch("%S+") do out[#out + 1] = w end
  return table.concat(out, " ")
end

-- (lowercased before the tokeniser, as sacreBLEU does; string.lower changes ASCII letters only)
local function tokens(line, lowercase)
  local t = M.tokenize_13a(lowercase and line:lower() or line)
  local out = {}
  for w in t:gmatch("%S+") do out[#out + 1] = w end
  return out
end

-- n-gram counts of a token list, n = 1..4: counts[n][ngram] = k.
local function ngrams(toks, max_n)
  local counts = {}
  for n = 1, max_n do
    local c = {}
    for i = 1, #toks - n + 1 do
      local g = table.concat(toks, " ", i, i + n - 1)
      c[g] = (c[g] or 0) + 1
    end
    counts[n] = c
  end
  return counts
end

--- The sufficient statistics of one sentence pair (or of tokens given as lists).
function M.stats(hyp_tokens, ref_tokens, max_n)
  max_n = max_n or 4
  local h, r = ngrams(hyp_tokens, max_n), ngrams(ref_tokens, max_n)
  local s = { sys_len = #hyp_tokens, ref_len = #ref_tokens, correct = {}, total = {} }
  for n = 1, max_n do
    local correct = 0
    for g, k in pairs(h[n]) do correct = correct + math.min(k, r[n][g] or 0) end
    s.correct[n], s.total[n] = correct, math.max(0, #hyp_tokens - n + 1)
  end
  return s
end

--- BLEU from summed statistics (what corpus() does after tokenising).
function M.from_stats(st, opts)
  opts = opts or {}
  local max_n = #st.correct
  local smooth = opts.smooth or "exp"
  local precisions, log_sum = {}, 0
  local k = 1
  local zero = false
  for n = 1, max_n do
    local c, t = st.correct[n], st.total[n]
    if t == 0 then
      precisions[n] = 0
      zero = true
    elseif c == 0 then
      if smooth == "exp" then
        k = k * 2
        precisions[n] = 100 / (k * t)
      else
        precisions[n] = 0
        zero = true
      end
    else
      precisions[n] = 100 * c / t
    end
    if precisions[n] > 0 then log_sum = log_sum + math.log(precisions[n] / 100) end
  end
  local c, r = st.sys_len, st.ref_len
  local bp = (c >= r) and 1 or (c > 0 and math.exp(1 - r / c) or 0)
  local score = (zero or c == 0) and 0 or 100 * bp * math.exp(log_sum / max_n)
  return { score = score, precisions = precisions, bp = bp, sys_len = c, ref_len = r,
    ratio = r > 0 and c / r or 0, correct = st.correct, total = st.total }
end

--- Corpus BLEU of hypotheses against one reference each.
-- @tparam {string,...} hyps detokenised hypotheses
-- @tparam {string,...} refs detokenised references, as many
-- @tparam[opt] table opts `lowercase = false`, `smooth = "exp"` (or "none"), `max_n = 4`
-- @treturn table `{score, precisions = {p1..p4} (percent), bp, sys_len, ref_len, ratio}`
-- @usage bleu.corpus({"the cat sat on the mat ."}, {"The cat sat on the mat."}, {lowercase = true}).score  -- 100
function M.corpus(hyps, refs, opts)
  opts = opts or {}
  if #hyps ~= #refs then
    error(("bleu.corpus: %d hypotheses but %d references"):format(#hyps, #refs), 2)
  end
  local max_n = opts.max_n or 4
  local st = { sys_len = 0, ref_len = 0, correct = {}, total = {} }
  for n = 1, max_n do st.correct[n], st.total[n] = 0, 0 end
  for i = 1, #hyps do
    local s = M.stats(tokens(hyps[i], opts.lowercase), tokens(refs[i], opts.lowercase), max_n)
    st.sys_len, st.ref_len = st.sys_len + s.sys_len, st.ref_len + s.ref_len
    for n = 1, max_n do
      st.correct[n] = st.correct[n] + s.correct[n]
      st.total[n] = st.total[n] + s.total[n]
    end
  end
  return M.from_stats(st, opts)
end

--- sacreBLEU's one-line form: "BLEU = 34.12 65.3/40.1/27.0/18.9 (BP = 0.981 ratio = 0.981 hyp_len = ... ref_len = ...)".
function M.format(r)
  local p = {}
  for i, v in ipairs(r.precisions) do p[i] = ("%.1f"):format(v) end
  return ("BLEU = %.2f %s (BP = %.3f ratio = %.3f hyp_len = %d ref_len = %d)"):format(r.score,
    table.concat(p, "/"), r.bp, r.ratio, r.sys_len, r.ref_len)
end

return M
