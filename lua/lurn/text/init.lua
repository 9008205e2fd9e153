--- lurn.text — from corpus files to numericalised datasets.
--
--   local text = require "lurn.text"
--   local r = text.read("train.tsv", {format = "auto"})      -- {texts, labels, dropped}
--   local tok = text.Tokenizer { kind = "word", lower = true, ngrams = 1 }
--   tok:tokenize("It's not bad!")                             -- {"it", "'s", "not", "bad", "!"}
--   local d = text.load_dataset(cfg.data, { seed = 1 })       -- train/valid/test Datasets, vocab, labels
--   for i, d in text.kfold(cfg.data, { seed = 1 }) do ... end -- k-fold cross-validation
--
-- The tokenizers run in C (src/core/text.c, rules in text.h and
-- docs/data.md); counting and numericalising call them directly, so a corpus
-- is never held as Lua token strings. Readers are in text/read.lua, splits and
-- truncation in text/split.lua. Every problem with the data raises an error
-- object {code = "data"} (lurn.errors) naming the file and line; a bad
-- setting raises {code = "config"} naming the data.* key.
local core = require "lurn.core"
local data = require "lurn.data"
local errors = require "lurn.errors"
local util = require "lurn.util"
local read = require "lurn.text.read"
local split = require "lurn.text.split"

local M = {}
M.read = read.read
M.detect = read.detect
--- text.split — seeded, stratified held-out splits and k folds (lurn.text.split:
-- holdout(labels, size, seed), kfold(labels, k, seed), truncate(ids, max_len, mode), Rng(seed)).
-- @usage local train_idx, valid_idx = text.split.holdout({0, 1, 0, 1, 0, 1}, 0.5, 7)
M.split = split

-- ---------------------------------------------------------------------------
-- Tokenizer

local Tokenizer = {}
Tokenizer.__index = Tokenizer
Tokenizer.__name = "text.Tokenizer"
Tokenizer.__tostring = function(t)
  return ("text.Tokenizer(%s%s%s)"):format(t.kind, t.lower and ", lower" or "",
    t.ngrams > 1 and (", ngrams=" .. t.ngrams) or "")
end
--- text.Tokenizer([opts]) — text to tokens, the same way at training and at prediction.
-- Options (default first):
--   kind = "word"         "word" (data.tokenize's rules) or "char"
--   lower = true          lower-case first
--   ngrams = 1            also the n-grams of 2..ngrams tokens, joined by a space (at most 16)
-- Methods: tok:tokenize(s), tok:count(s, counts), tok:count_texts(texts, counts),
-- tok:encode(s, vocab), tok:state() (and text.Tokenizer.from_state(s)).
-- @tparam[opt] table opts the options above
-- @treturn table the tokenizer
-- @usage local tok = text.Tokenizer { kind = "word", ngrams = 2 }
-- print(table.concat(tok:tokenize("Not bad at all"), "|"))
M.Tokenizer = Tokenizer

local TOKENIZER_KEYS = { kind = true, lower = true, ngrams = true, version = true }

--- Tokenizer{kind = "word" | "char", lower = true, ngrams = 1}
function Tokenizer.new(opts)
  opts = opts or {}
  util.check_keys(opts, TOKENIZER_KEYS, "text.Tokenizer")
  local kind = opts.kind or "word"
  if kind ~= "word" and kind ~= "char" then
    errors.raise("config", "data.tokenizer: expected 'word' or 'char', got '%s'", tostring(kind))
  end
  local ngrams = opts.ngrams or 1
  if math.type(ngrams) ~= "integer" or ngrams < 1 or ngrams > 16 then
    errors.raise("config", "data.ngrams: expected an integer in 1..16, got %s", tostring(ngrams))
  end
  local lower = opts.lower
  if lower == nil then lower = true end
  return setmetatable({ kind = kind, lower = lower and true or false, ngrams = ngrams }, Tokenizer)
end
setmetatable(Tokenizer, { __call = function(_, opts) return Tokenizer.new(opts) end })

--- The tokens of s (then its n-grams of 2..ngrams tokens, joined by a space).
function Tokenizer:tokenize(s)
  return core.text_tokenize(s, self.kind, self.lower, self.ngrams)
end

--- counts[token] += 1 for every token of s, counts a text.counter();
-- returns the number of tokens. record = true also keeps s's tokens in the
-- counter, for counts:recorded(vocab:index(), vocab.unk) -> id lists, n_unk
-- (numericalising the texts a vocabulary was counted from without
-- tokenizing them twice).
function Tokenizer:count(s, counts, record)
  return counts:count(s, self.kind, self.lower, self.ngrams, record)
end

--- Tokenizer:count for every text of a list, on lurn's threads (each
-- counts a contiguous part into its own map, merged in order: the counts and
-- records are the same at every thread count).
function Tokenizer:count_texts(texts, counts, record)
  return counts:count_texts(texts, self.kind, self.lower, self.ngrams, record)
end

--- The ids of s's tokens in vocab (vocab.unk for unknown tokens), and
-- how many were unknown.
function Tokenizer:encode(s, vocab)
  return vocab:index():encode(s, self.kind, self.lower, self.ngrams, vocab.unk)
end

--- text.counter() — a token counter for Tokenizer:count, kept in C (counter:totable() gives
-- {token = count}); data.Vocab.from_counts takes it as it is.
-- @treturn userdata a lurn.core.text_map
-- @usage local c = text.counter(); text.Tokenizer():count("a b a", c)
-- local v = data.Vocab.from_counts(c)   -- <pad> <unk> a b
function M.counter() return core.text_map() end

--- Plain data for checkpoints, and back.
function Tokenizer:state()
  return { kind = self.kind, lower = self.lower, ngrams = self.ngrams, version = 1 }
end
function Tokenizer.from_state(s)
  if type(s) ~= "table" then
    errors.raise("checkpoint", "tokenizer state: expected a table, got %s", type(s))
  end
  if s.version ~= nil and s.version ~= 1 then
    errors.raise("checkpoint", "tokenizer state: version %s is not known (this lurn reads 1)",
      tostring(s.version))
  end
  return Tokenizer.new { kind = s.kind, lower = s.lower, ngrams = s.ngrams }
end
--- text.tokenizer_state(tok) — the tokenizer as plain data for a checkpoint (tok:state()).
-- @tparam table tok a text.Tokenizer
-- @treturn table {kind =, lower =, ngrams =, version = 1}
-- @usage local s = text.tokenizer_state(text.Tokenizer())
function M.tokenizer_state(tok) return tok:state() end

-- ---------------------------------------------------------------------------
-- Labels

--- text.label_list(labels) — the sorted label set: numerically when every label is a number
-- ("0" < "1" < "10"), else as strings ("neg" < "pos"); class i-1 is list[i].
-- @tparam {string,...} labels
-- @treturn {string,...}
-- @usage print(table.concat(text.label_list { "pos", "neg", "pos" }, " "))   --> neg pos
function M.label_list(labels)
  local seen, list, numeric = {}, {}, true
  for _, l in ipairs(labels) do
    if not seen[l] then
      seen[l] = true
      list[#list + 1] = l
      if not tonumber(l) then numeric = false end
    end
  end
  table.sort(list, function(a, b)
    if numeric and tonumber(a) ~= tonumber(b) then return tonumber(a) < tonumber(b) end
    return a < b
  end)
  return list
end

-- ---------------------------------------------------------------------------
-- Datasets

local TRUNCATE = { head = true, tail = true, both = true }

--- text.encode(texts, opts) — a data.Dataset of texts, numericalised with a tokenizer and a vocabulary.
-- opts: tokenizer, vocab (required); labels (label strings) with label_index
-- (label -> 0-based class); max_len (0: none) and truncate = "head" | "tail" |
-- "both"; what (the split's name, for messages); encoded = {seqs, n_unk} when
-- the texts are numericalised already; subwords = n > 0: batches carry the
-- words' character n-grams in n buckets (data.Dataset's subwords; unknown words
-- keep ids of vocab:extend).
-- @tparam {string,...} texts
-- @tparam table opts
-- @treturn data.Dataset
-- @treturn table stats {size, tokens, unk, truncated, class_counts}
-- @usage local ds, stats = text.encode({ "a b", "b c" }, { tokenizer = text.Tokenizer(),
--   vocab = vocab, labels = { "x", "y" }, label_index = { x = 0, y = 1 } })
function M.encode(texts, opts)
  local tok, vocab = opts.tokenizer, opts.vocab
  local max_len, mode = opts.max_len or 0, opts.truncate or "head"
  if not TRUNCATE[mode] then
    errors.raise("config", "data.truncate: expected head, tail or both, got '%s'", tostring(mode))
  end
  local seqs, stats = {}, { size = #texts, tokens = 0, unk = 0, truncated = 0 }
  local subwords = (opts.subwords or 0) > 0 and { buckets = opts.subwords } or nil
  local pre = not subwords and opts.encoded
  if pre then stats.unk = pre[2] end
  local V = vocab:size()
  for i, s in ipairs(texts) do
    local ids
    if pre then ids = pre[1][i]
    elseif subwords then   -- unknown words keep an id of their own (vocab:extend)
      ids = vocab:encode(tok:tokenize(s), true)
      for _, id in ipairs(ids) do
        if id >= V then stats.unk = stats.unk + 1 end
      end
    else
      local nunk
      ids, nunk = tok:encode(s, vocab)
      stats.unk = stats.unk + nunk
    end
    stats.tokens = stats.tokens + #ids
    if max_len > 0 and #ids > max_len then
      stats.truncated = stats.truncated + 1
      ids = split.truncate(ids, max_len, mode)
    end
    seqs[i] = ids
  end
  local ids
  if opts.labels then
    ids = {}
    stats.class_counts = {}
    for i, l in ipairs(opts.labels) do
      local c = opts.label_index[l]
      if not c then
        errors.raise("data", "%s: label '%s' (sample %d) does not occur in the training data (labels: %s)",
          opts.what or "data", l, i, table.concat(opts.label_list or {}, ", "))
      end
      ids[i] = c
      stats.class_counts[l] = (stats.class_counts[l] or 0) + 1
    end
  end
  return data.Dataset { seqs = seqs, labels = ids, vocab = vocab, subwords = subwords }, stats
end

local function pick(t, idx)
  local out = {}
  for k, i in ipairs(idx) do out[k] = t[i] end
  return out
end

--- A checked copy of a data config: whole-number floats (400.0, as a
-- number from JSON or an override may be) become integers.
local function check_data_cfg(cfg)
  if type(cfg) ~= "table" then errors.raise("config", "data: expected a table, got %s", type(cfg)) end
  local c = {}
  for k, v in pairs(cfg) do c[k] = math.type(v) == "float" and math.tointeger(v) or v end
  cfg = c
  if type(cfg.train) ~= "string" or cfg.train == "" then
    errors.raise("config", "data.train: no training file given")
  end
  local fmt = cfg.format or "auto"
  if fmt ~= "auto" and not read.formats[fmt] then
    errors.raise("config", "data.format: unknown format '%s' (auto, csv, fasttext, imdb, json, label_text, tsv)",
      tostring(fmt))
  end
  for _, k in ipairs { "min_count", "max_vocab", "max_len", "folds", "subwords" } do
    local v = cfg[k]
    if v ~= nil and (math.type(v) ~= "integer" or v < 0) then
      errors.raise("config", "data.%s: expected an integer >= 0, got %s", k, tostring(v))
    end
  end
  return cfg
end

--- The default notice writer: one line on stderr.
local function stderr_log(msg) io.stderr:write("lurn: ", msg, "\n") end

--- text.prepare(cfg [, opts]) — read the files of a data config once: {train = r, valid = r|nil, test = r|nil, files}.
-- Reading is the slow part; load_dataset, build and kfold share one of these.
-- cfg is a config's `data` table (docs/cli.md: train, valid, test, format,
-- tokenizer, min_count, max_len, folds, ...). opts.log(msg) receives the
-- notices (rows without a label dropped); the default writes them to
-- stderr, log = false drops them.
-- @tparam table cfg
-- @tparam[opt] table opts {log =}
-- @treturn table
-- @usage local f = assert(io.open("tiny.tsv", "w"))
-- f:write("1\tgood film\n0\tbad film\n1\tnice one\n0\tawful\n"); f:close()
-- local p = text.prepare({ train = "tiny.tsv", folds = 2 }, { log = false })
function M.prepare(cfg, opts)
  opts = opts or {}
  local log = opts.log
  if log == nil then log = stderr_log end
  cfg = check_data_cfg(cfg)
  local ropts = { format = cfg.format or "auto", text_field = cfg.text_field, label_field = cfg.label_field }
  local p = { cfg = cfg, files = {} }
  for _, part in ipairs { "train", "valid", "test" } do
    local path = cfg[part]
    if type(path) == "string" and path ~= "" then
      p[part] = read.read(path, ropts)
      p.files[#p.files + 1] = path
      local n = p[part].dropped
      if n > 0 and log then
        log(("%s: %d row%s without a label dropped"):format(path, n, n == 1 and "" or "s"))
      end
    end
  end
  -- data.extra: more training rows, one list for all the files
  for path in (type(cfg.extra) == "string" and cfg.extra or ""):gmatch("[^,]+") do
    path = path:match("^%s*(.-)%s*$")
    if path ~= "" then
      local r = read.read(path, ropts)
      p.extra = p.extra or { texts = {}, labels = {}, files = {} }
      table.move(r.texts, 1, #r.texts, #p.extra.texts + 1, p.extra.texts)
      table.move(r.labels, 1, #r.labels, #p.extra.labels + 1, p.extra.labels)
      p.extra.files[#p.extra.files + 1] = path
      p.files[#p.files + 1] = path
      if r.dropped > 0 and log then
        log(("%s: %d row%s without a label dropped"):format(path, r.dropped,
          r.dropped == 1 and "" or "s"))
      end
    end
  end
  return p
end

--- text.build(p [, opts]) — the datasets of a prepared config (as load_dataset returns).
-- opts: seed (the held-out split's), fold (1..k when cfg.folds = k >= 2:
-- fold `fold` is the validation part).
-- @tparam table p what text.prepare returned
-- @tparam[opt] table opts
-- @treturn table {train =, valid =, test =, vocab =, labels =, tokenizer =, files =, stats =}
-- @usage local f = assert(io.open("tiny.tsv", "w"))
-- f:write("1\tgood film\n0\tbad film\n1\tnice one\n0\tawful\n"); f:close()
-- local d = text.build(text.prepare({ train = "tiny.tsv", folds = 2 }, { log = false }), { fold = 1 })
function M.build(p, opts)
  opts = opts or {}
  local cfg = p.cfg
  local seed = opts.seed or 1
  local tr_texts, tr_labels = p.train.texts, p.train.labels
  local va_texts, va_labels, va_what
  local folds = cfg.folds or 0
  if opts.fold then
    if folds < 2 then
      errors.raise("config", "fold %s asked for, but data.folds is %d (set data.folds >= 2)",
        tostring(opts.fold), folds)
    end
    if math.type(opts.fold) ~= "integer" or opts.fold < 1 or opts.fold > folds then
      errors.raise("config", "fold %s is not in 1..%d", tostring(opts.fold), folds)
    end
    local f = split.kfold(tr_labels, folds, seed)[opts.fold]
    va_texts, va_labels = pick(tr_texts, f.valid), pick(tr_labels, f.valid)
    tr_texts, tr_labels = pick(tr_texts, f.train), pick(tr_labels, f.train)
    va_what = ("%s (fold %d of %d)"):format(cfg.train, opts.fold, folds)
  elseif p.valid then
    va_texts, va_labels, va_what = p.valid.texts, p.valid.labels, cfg.valid
  elseif (cfg.valid_split or 0) > 0 then
    local tri, vai = split.holdout(tr_labels, cfg.valid_split, seed)
    va_texts, va_labels = pick(tr_texts, vai), pick(tr_labels, vai)
    tr_texts, tr_labels = pick(tr_texts, tri), pick(tr_labels, tri)
    va_what = ("%s (held out: valid_split = %s)"):format(cfg.train, tostring(cfg.valid_split))
  end
  if p.extra then   -- data.extra joins the training part, after any split
    tr_texts = table.move(p.extra.texts, 1, #p.extra.texts, #tr_texts + 1,
      table.move(tr_texts, 1, #tr_texts, 1, {}))
    tr_labels = table.move(p.extra.labels, 1, #p.extra.labels, #tr_labels + 1,
      table.move(tr_labels, 1, #tr_labels, 1, {}))
  end

  local tok = Tokenizer.new { kind = cfg.tokenizer or "word", lower = cfg.lower, ngrams = cfg.ngrams or 1 }
  local counts = M.counter()
  tok:count_texts(tr_texts, counts, true)
  local vocab = data.Vocab.from_counts(counts, { min_count = cfg.min_count or 1, max_size = cfg.max_vocab or 0 })
  local tr_encoded = { counts:recorded(vocab:index(), vocab.unk) }

  local labels = M.label_list(tr_labels)
  local index = {}
  for i, l in ipairs(labels) do index[l] = i - 1 end
  local eopts = { tokenizer = tok, vocab = vocab, max_len = cfg.max_len or 0,
                  truncate = cfg.truncate or "head", label_index = index, label_list = labels,
                  subwords = cfg.subwords or 0 }
  local out = { vocab = vocab, labels = labels, tokenizer = tok, files = p.files,
                stats = { vocab_size = vocab:size(), num_classes = #labels, dropped = {} } }
  local function one(name, texts, labs, what, encoded)
    eopts.labels, eopts.what, eopts.encoded = labs, what, encoded
    out[name], out.stats[name] = M.encode(texts, eopts)
  end
  one("train", tr_texts, tr_labels, cfg.train, tr_encoded)
  if va_texts then one("valid", va_texts, va_labels, va_what) end
  if p.test then one("test", p.test.texts, p.test.labels, cfg.test) end
  for _, part in ipairs { "train", "valid", "test" } do
    if p[part] and p[part].dropped > 0 then out.stats.dropped[cfg[part]] = p[part].dropped end
  end
  out.fold, out.folds = opts.fold, opts.fold and folds or nil
  return out
end

--- text.load_dataset(cfg [, opts]) — everything a training run needs from the config's `data` table:
-- {train = Dataset, valid = Dataset|nil, test = Dataset|nil, vocab, labels,
--  tokenizer, files, stats}. opts: seed (for the held-out split), fold, log
-- (see prepare).
-- @tparam table cfg the config's data table
-- @tparam[opt] table opts
-- @treturn table
-- @usage local f = assert(io.open("tiny.tsv", "w"))
-- f:write("1\tgood film\n0\tbad film\n1\tnice one\n0\tawful\n"); f:close()
-- local d = text.load_dataset({ train = "tiny.tsv", valid = 0.5 }, { seed = 1, log = false })
function M.load_dataset(cfg, opts)
  return M.build(M.prepare(cfg, opts), opts)
end

--- text.kfold(cfg [, opts]) — iterate the folds of k-fold cross-validation (cfg.folds = k >= 2).
-- The files are read once; each fold builds its own vocabulary from its
-- training part, so nothing of the held-out fold leaks into it.
-- @tparam table cfg the config's data table
-- @tparam[opt] table opts {seed =, log =}
-- @usage local f = assert(io.open("tiny.tsv", "w"))
-- f:write("1\tgood film\n0\tbad film\n1\tnice one\n0\tawful\n"); f:close()
-- for i, d in text.kfold({ train = "tiny.tsv", folds = 2 }, { seed = 1, log = false }) do
--   print(i, d.train:size(), d.valid:size())
-- end
function M.kfold(cfg, opts)
  opts = opts or {}
  local p = M.prepare(cfg, opts)
  local k = p.cfg.folds or 0
  if k < 2 then errors.raise("config", "data.folds: k-fold cross-validation needs folds >= 2, got %d", k) end
  local i = 0
  return function()
    i = i + 1
    if i > k then return nil end
    return i, M.build(p, { seed = opts.seed, fold = i })
  end
end

return M
