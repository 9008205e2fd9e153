--- lurn.seq2seq.data — parallel corpora: reading, tokens, vocabularies, batches.
--
--   local sd = require "lurn.seq2seq.data"
--   local src, tgt = sd.read_pair("data/multi30k/train", "de", "en")   -- PREFIX.de, PREFIX.en
--   local vs = sd.build_vocab(sd.tokenize_all(src, {lower = true}), {min_count = 2})
--   local ds = sd.Dataset{src = src_ids, tgt = tgt_ids}
--   for batch in ds:batches{size = 64, shuffle = true, bucket = true} do ... end
--
-- A batch: src [S, B] and tgt_in [T, B] int32 ids (time-major, padded with 0),
-- src_lengths, tgt_lengths [B]; tgt_in = <s> y, targets = y </s> ([T, B],
-- padded with -100, which CrossEntropy ignores); lengths = tgt_lengths (the
-- target tokens a step trains on, for the tokens/s figures). Vocabularies
-- hold <pad> = 0, <unk> = 1, <s> = 2, </s> = 3, then the tokens, most frequent
-- first. Tokens are the 13a tokeniser's (lurn.seq2seq.bleu), so the BLEU of
-- the joined output tokens is what sacreBLEU would measure of them.
local lurn = require "lurn"
local data = require "lurn.data"
local errors = require "lurn.errors"
local read = require "lurn.text.read"
local bleu = require "lurn.seq2seq.bleu"

local M = {}

M.PAD, M.UNK, M.BOS, M.EOS = 0, 1, 2, 3
M.SPECIALS = { "<pad>", "<unk>", "<s>", "</s>" }

--- The lines of a text file (UTF-8, one sentence a line; a final newline optional).
-- A missing file, a line with a NUL byte or one that is not valid UTF-8 is a
-- "data" error naming the file and line (the vocabularies are saved as JSON,
-- which holds UTF-8 only: a Latin-1 corpus would otherwise fail at the first
-- checkpoint, after the training time spent).
-- @tparam string path
-- @treturn {string,...}
function M.read_lines(path)
  local f, err = io.open(path, "rb")
  if not f then errors.raise("data", "%s: cannot read (%s)", path, tostring(err)) end
  local text = f:read("a")
  f:close()
  read.check_utf8(path, text)
  local lines = {}
  local n = 0
  for line in (text .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do
    n = n + 1
    if line:find("\0", 1, true) then
      errors.raise("data", "%s:%d: a NUL byte (not a text file?)", path, n)
    end
    lines[n] = (line:gsub("\r$", ""))
  end
  if text == "" then lines = {} end
  return lines
end

--- The two sides of a parallel corpus, PREFIX.SRC and PREFIX.TGT, line by line.
-- Files of different lengths are a "data" error naming both.
-- @treturn {string,...} source lines
-- @treturn {string,...} target lines
function M.read_pair(prefix, src_ext, tgt_ext)
  local a, b = prefix .. "." .. src_ext, prefix .. "." .. tgt_ext
  local s, t = M.read_lines(a), M.read_lines(b)
  if #s ~= #t then
    errors.raise("data", "%s has %d lines but %s has %d: a parallel corpus needs one line each",
      a, #s, b, #t)
  end
  return s, t, { a, b }
end

--- The model's tokens of a sentence: 13a tokens, lowercased when opts.lower.
-- @tparam string line
-- @tparam[opt] table opts `{lower = false}`
-- @treturn {string,...}
function M.tokenize(line, opts)
  local t = bleu.tokenize_13a(line)
  if opts and opts.lower then t = t:lower() end
  local out = {}
  for w in t:gmatch("%S+") do out[#out + 1] = w end
  return out
end

function M.tokenize_all(lines, opts)
  local out = {}
  for i, l in ipairs(lines) do out[i] = M.tokenize(l, opts) end
  return out
end

--- A vocabulary of token lists: the specials, then tokens seen at least
-- min_count times, most frequent first (ties by the token), at most max_size in all.
-- @tparam {{string,...},...} docs token lists
-- @tparam[opt] table opts `{min_count = 1, max_size = 0 (no limit)}`
-- @treturn data.Vocab
function M.build_vocab(docs, opts)
  opts = opts or {}
  local counts = {}
  for _, d in ipairs(docs) do
    for _, t in ipairs(d) do counts[t] = (counts[t] or 0) + 1 end
  end
  for _, s in ipairs(M.SPECIALS) do counts[s] = nil end
  local max = (opts.max_size and opts.max_size > 0) and opts.max_size or math.huge
  local ranked = data.Vocab.from_counts(counts, { min_count = opts.min_count })
  local v = data.Vocab.new(M.SPECIALS)
  for i = 3, ranked:size() do
    if v:size() >= max then break end
    v:add(ranked:token(i - 1))
  end
  return v
end

--- Ids of a token list (unknown tokens -> <unk>), cut to max_len tokens when given.
function M.encode(vocab, toks, max_len)
  local ids = {}
  local n = (max_len and max_len > 0) and math.min(#toks, max_len) or #toks
  for i = 1, n do ids[i] = vocab:id(toks[i]) end
  return ids
end

--- The tokens of ids, up to the first </s> (specials left out but <unk>).
function M.decode(vocab, ids)
  local out = {}
  for _, id in ipairs(ids) do
    if id == M.EOS then break end
    if id ~= M.PAD and id ~= M.BOS then out[#out + 1] = vocab:token(id) end
  end
  return out
end

--- Tokens back to readable text: no space before closing punctuation or after opening.
function M.detokenize(toks)
  local s = table.concat(toks, " ")
  s = s:gsub(" ([%.,!%?;:%)%]}])", "%1"):gsub("([%(%[{]) ", "%1")
  return s
end

-- ---------------------------------------------------------------------------
-- Dataset: pairs of id lists; batches like data.Dataset's (same shuffling,
-- bucketing by source length, resumable plan), so lurn.train.fit runs it.

--- sd.Dataset{src = {{id, ...}, ...}, tgt = {...}}: a parallel dataset of id lists.
-- `ds:size()`, `ds:make_batch(indices)`, `ds:batches{size, shuffle, bucket, drop_last, resume}`.
-- @usage local ds = sd.Dataset { src = { { 4, 5 } }, tgt = { { 6 } } }
-- local b = ds:make_batch { 1 }   -- b.src [2, 1], b.tgt_in [2, 1] = <s> 6, b.targets = 6 </s>
local Dataset = setmetatable({}, { __index = data.Dataset })
Dataset.__index = Dataset
Dataset.__name = "seq2seq.Dataset"
Dataset.__tostring = function(d) return ("seq2seq.Dataset(%d pairs)"):format(#d.seqs) end
M.Dataset = Dataset

function Dataset.new(spec)
  if type(spec) ~= "table" or type(spec.src) ~= "table" or type(spec.tgt) ~= "table" then
    error("seq2seq.Dataset: give {src = {ids...}, tgt = {ids...}}", 2)
  end
  if #spec.src ~= #spec.tgt then
    error(("seq2seq.Dataset: %d sources but %d targets"):format(#spec.src, #spec.tgt), 2)
  end
  -- seqs: the sources, which data.Dataset's epoch_order buckets by
  return setmetatable({ seqs = spec.src, tgt = spec.tgt, text = spec.text }, Dataset)
end
setmetatable(Dataset, { __index = data.Dataset, __call = function(_, spec) return Dataset.new(spec) end })

function Dataset:size() return #self.seqs end

function Dataset:make_batch(index)
  local B = #index
  local S, T = 1, 1
  for _, i in ipairs(index) do
    S = math.max(S, #self.seqs[i])
    T = math.max(T, #self.tgt[i] + 1)
  end
  local src, tin, tout = {}, {}, {}
  for s = 1, S do src[s] = {} end
  for t = 1, T do tin[t], tout[t] = {}, {} end
  local sl, tl = {}, {}
  for b, i in ipairs(index) do
    local x, y = self.seqs[i], self.tgt[i]
    for s = 1, S do src[s][b] = x[s] or 0 end
    for t = 1, T do
      if t == 1 then tin[t][b] = M.BOS else tin[t][b] = y[t - 1] or 0 end
      if t <= #y then tout[t][b] = y[t] elseif t == #y + 1 then tout[t][b] = M.EOS
      else tout[t][b] = -100 end
    end
    sl[b], tl[b] = #x, #y + 1
  end
  local tlen = lurn.tensor(tl, "int32")
  return { src = lurn.tensor(src, "int32"), src_lengths = lurn.tensor(sl, "int32"),
    tgt_in = lurn.tensor(tin, "int32"), targets = lurn.tensor(tout, "int32"),
    tgt_lengths = tlen, lengths = tlen, index = index }
end

-- ---------------------------------------------------------------------------
-- Generated tasks for tests and docs.

--- A generated parallel corpus of digit strings: the target is the source
-- reversed ("reverse") or copied ("copy"), digits separated by spaces.
-- Draws from lurn's generator (seed it first).
-- @tparam integer n pairs
-- @tparam[opt] table opts `{task = "reverse", min_len = 3, max_len = 8}`
-- @treturn {string,...} sources
-- @treturn {string,...} targets
function M.digits_task(n, opts)
  opts = opts or {}
  local lo, hi = opts.min_len or 3, opts.max_len or 8
  local task = opts.task or "reverse"
  local src, tgt = {}, {}
  local u = lurn.rand(n * (hi + 1))
  local k = 0
  local function draw() k = k + 1; return u:get(k) end
  for i = 1, n do
    local len = lo + math.floor(draw() * (hi - lo + 1))
    local d = {}
    for j = 1, len do d[j] = tostring(math.floor(draw() * 10)) end
    src[i] = table.concat(d, " ")
    if task == "reverse" then
      local r = {}
      for j = 1, len do r[j] = d[len + 1 - j] end
      tgt[i] = table.concat(r, " ")
    else
      tgt[i] = src[i]
    end
  end
  return src, tgt
end

return M
