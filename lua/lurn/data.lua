--- lurn.data — tokens, vocabularies, datasets and batches.
--
--   local vocab = data.Vocab.build(texts, {min_count = 1, max_size = 20000})
--   local ds = data.Dataset{ texts = texts, labels = labels, vocab = vocab }
--   for batch in ds:batches{size = 32, shuffle = true, bucket = true} do
--     -- batch.ids [T, B] int32 (time-major, padded with vocab.pad = 0),
--     -- batch.lengths [B] int32, batch.labels [B] int32, batch.index {i, ...}
--   end
--
-- Shuffling draws from lurn's seeded generator, and a batch iterator can
-- report and restore its position (`it:state()`, `ds:batches{..., resume =
-- state}`), so a run resumed from a checkpoint sees exactly the batches it
-- would have seen.
local lurn = require "lurn"
local util = require "lurn.util"

-- nil or a table of options; anything else is an error at the user's line.
local function options(opts, what)
  if opts == nil then return {} end
  if type(opts) ~= "table" then
    util.user_error(("%s: options must be a table, got %s"):format(what, type(opts)))
  end
  return opts
end

local M = {}

--- Split a text into tokens: runs of letters, digits and apostrophes, so
-- punctuation is dropped ("Don't stop!" gives "don't", "stop"); lower-cased
-- unless `opts.keep_case`; `<br />` tags count as spaces.
-- `opts.whitespace = true` splits on white space only (punctuation kept).
-- @tparam string text
-- @tparam[opt] table opts `{keep_case = false, whitespace = false}`
-- @treturn {string,...} the tokens
-- @usage data.tokenize("Don't stop, <br/>NOW!")  --> {"don't", "stop", "now"}
function M.tokenize(text, opts)
  if type(text) ~= "string" then
    util.user_error(("data.tokenize: expected a string, got %s"):format(type(text)))
  end
  opts = options(opts, "data.tokenize")
  if not opts.keep_case then text = text:lower() end
  local toks = {}
  if opts.whitespace then
    for w in text:gmatch("%S+") do toks[#toks + 1] = w end
    return toks
  end
  text = text:gsub("<br%s*/?>", " ")
  for w in text:gmatch("[%w']+") do toks[#toks + 1] = w end
  return toks
end

-- ---------------------------------------------------------------------------
-- Vocab: token <-> 0-based id. Id 0 is "<pad>", id 1 is "<unk>".

--- data.Vocab: tokens and their 0-based ids (0 = "<pad>", 1 = "<unk>").
-- Built with `Vocab.build(texts_or_token_lists, {min_count =, max_size =})` or
-- `Vocab.from_counts(counts, opts)`; `v:size()`, `v:id(token)`, `v:token(id)`, `v:encode(tokens)`.
-- @usage local v = data.Vocab.build { "a b", "b c" }
-- print(v:size())   -- 5: <pad>, <unk>, b, a, c
local Vocab = {}
Vocab.__index = Vocab
Vocab.__name = "data.Vocab"
Vocab.__tostring = function(v) return ("data.Vocab(%d tokens)"):format(#v.itos) end
M.Vocab = Vocab

--- data.Vocab.new([tokens]) — a vocabulary of these tokens in order (default {"<pad>", "<unk>"}).
-- @tparam[opt] {string,...} tokens id i-1 is tokens[i]
-- @treturn data.Vocab the vocabulary
-- @usage local v = data.Vocab.new { "<pad>", "<unk>", "yes", "no" }   -- v:id("no") == 3
function Vocab.new(tokens)
  local v = setmetatable({ itos = {}, stoi = {}, pad = 0, unk = 1 }, Vocab)
  for _, t in ipairs(tokens or { "<pad>", "<unk>" }) do v:add(t) end
  return v
end

--- v:add(tok) — the id of a token, added at the end when new.
-- @tparam string tok
-- @treturn integer its 0-based id
-- @usage local id = vocab:add("<sep>")
function Vocab:add(tok)
  local id = self.stoi[tok]
  if id then return id end
  id = #self.itos
  self.itos[id + 1] = tok
  self.stoi[tok] = id
  self._index = nil
  return id
end

--- v:index() — the vocabulary as a C map token -> id (lurn.text numericalises with it);
-- built on first use, rebuilt after an add.
-- @treturn userdata a lurn.core.text_map
-- @usage print(vocab:index():get("b"))
function Vocab:index()
  local m = rawget(self, "_index")
  if not m then
    m = lurn.core.text_map(self.itos, 0)
    self._index = m
  end
  return m
end

--- v:size() — the number of tokens (ids are 0 .. size-1).
-- @treturn integer
-- @usage nn.Embedding(vocab:size(), 16)
function Vocab:size() return #self.itos end
--- v:id(tok) — the 0-based id of a token (v.unk, 1, when unknown).
-- @tparam string tok
-- @treturn integer
-- @usage vocab:id("the")
function Vocab:id(tok) return self.stoi[tok] or self.unk end
--- v:token(id) — the token of a 0-based id (nil when out of range).
-- @tparam integer id
-- @treturn string|nil
-- @usage vocab:token(1)   --> "<unk>"
function Vocab:token(id) return self.itos[id + 1] end

--- v:extend(tok) — an id for a token outside the vocabulary: v:size() + k, the same for the
-- same token in this process. Not part of the vocabulary (size, state, the model's table):
-- datasets with subwords (data.subwords) keep unknown words this way, so their
-- character n-grams can stand in for the missing word vector.
-- @tparam string tok
-- @treturn integer its 0-based id (>= v:size() when tok is unknown)
-- @usage local id = vocab:extend("unseen")   -- vocab:word(id) == "unseen"
function Vocab:extend(tok)
  local id = self.stoi[tok]
  if id then return id end
  local ext = rawget(self, "_ext")
  if not ext then
    ext = { stoi = {}, itos = {} }
    self._ext = ext
  end
  local k = ext.stoi[tok]
  if not k then
    k = #ext.itos + 1
    ext.itos[k], ext.stoi[tok] = tok, k
  end
  return #self.itos + k - 1
end

--- v:word(id) — the token of an id of the vocabulary or of v:extend.
-- @tparam integer id
-- @treturn string|nil
-- @usage vocab:word(vocab:extend("unseen"))   --> "unseen"
function Vocab:word(id)
  local n = #self.itos
  if id < n then return self.itos[id + 1] end
  local ext = rawget(self, "_ext")
  return ext and ext.itos[id - n + 1]
end

--- data.Vocab.build(docs [, opts]) — a vocabulary from texts (tokenized with data.tokenize) or token lists.
-- The most frequent tokens first after <pad> (0) and <unk> (1); ties in
-- count are broken by the token, so the ids never depend on table order.
-- Options (default first):
--   min_count = 1         tokens seen fewer times are left out (they read as <unk>)
--   max_size = nil        at most this many entries, <pad> and <unk> included (0: no limit)
--   keep_case, whitespace = false   data.tokenize's options, for texts
-- @tparam table docs texts or token lists
-- @tparam[opt] table opts the options above
-- @treturn data.Vocab
-- @usage local v = data.Vocab.build({ "a b b", "b c" }, { min_count = 2 })   -- <pad> <unk> b
function Vocab.build(docs, opts)
  if type(docs) ~= "table" then
    util.user_error(("data.Vocab.build: expected a list of texts or token lists, got %s"):format(type(docs)))
  end
  opts = options(opts, "data.Vocab.build")
  local counts = {}
  for i, d in ipairs(docs) do
    if type(d) ~= "string" and type(d) ~= "table" then
      util.user_error(("data.Vocab.build: entry %d is a %s, not a text or a token list"):format(i, type(d)))
    end
    local toks = type(d) == "string" and M.tokenize(d, opts) or d
    for _, t in ipairs(toks) do counts[t] = (counts[t] or 0) + 1 end
  end
  return Vocab.from_counts(counts, opts)
end

--- data.Vocab.from_counts(counts [, opts]) — a vocabulary from counts (a table token -> count, or a
-- lurn.core.text_map of counts): tokens seen at least min_count times,
-- most frequent first, at most max_size entries in all (<pad> and <unk>
-- included; nil or 0: no limit).
-- @tparam table counts
-- @tparam[opt] table opts {min_count = 1, max_size = nil}
-- @treturn data.Vocab
-- @usage local v = data.Vocab.from_counts({ the = 10, cat = 2, sat = 1 }, { min_count = 2 })
function Vocab.from_counts(counts, opts)
  if type(counts) ~= "table" and type(counts) ~= "userdata" then
    util.user_error(("data.Vocab.from_counts: expected a table token -> count or a text.counter(), got %s")
      :format(type(counts)))
  end
  opts = options(opts, "data.Vocab.from_counts")
  local max = (opts.max_size and opts.max_size > 0) and opts.max_size or math.huge
  if type(counts) ~= "table" then
    -- a C map sorts itself (ties in byte order, like < in the C locale)
    local v = Vocab.new()
    local list = counts:top(opts.min_count or 1, max < math.huge and max or -1)
    for _, t in ipairs(list) do
      if v:size() >= max then break end
      v:add(t)
    end
    return v
  end
  local list = {}
  for t, c in pairs(counts) do
    if c >= (opts.min_count or 1) then list[#list + 1] = t end
  end
  table.sort(list, function(a, b)
    if counts[a] ~= counts[b] then return counts[a] > counts[b] end
    return a < b
  end)
  local v = Vocab.new()
  for _, t in ipairs(list) do
    if v:size() >= max then break end
    v:add(t)
  end
  return v
end

--- v:encode(toks [, extend]) — the ids of a token list (unknown tokens -> v.unk, or with
-- extend = true an id of their own from v:extend, as datasets with subwords keep them).
-- @tparam {string,...} toks
-- @tparam[opt] boolean extend
-- @treturn {integer,...} the 0-based ids
-- @usage vocab:encode(data.tokenize("a new text"))
function Vocab:encode(toks, extend)
  if type(toks) ~= "table" then
    util.user_error(("data.Vocab:encode: expected a list of tokens, got %s"):format(type(toks)))
  end
  local ids = {}
  for i, t in ipairs(toks) do ids[i] = extend and self:extend(t) or self:id(t) end
  return ids
end

--- v:state() — the vocabulary as plain data (for checkpoints): {tokens = {...}}.
-- @treturn table
-- @usage local copy = data.Vocab.from_state(vocab:state())
function Vocab:state() return { tokens = self.itos } end
--- data.Vocab.from_state(s) — the vocabulary v:state() described.
-- @tparam table s {tokens = {...}}
-- @treturn data.Vocab
-- @usage local copy = data.Vocab.from_state(vocab:state())
function Vocab.from_state(s)
  if type(s) ~= "table" or type(s.tokens) ~= "table" then
    util.user_error("Vocab.from_state: expected {tokens = {...}}")
  end
  return Vocab.new(s.tokens)
end

-- ---------------------------------------------------------------------------
-- Dataset: encoded sequences with labels (a class id per sample, or a
-- target sequence per sample for tagging / language models).

--- data.Dataset{texts =, labels =, vocab =}: encoded sequences with labels.
-- `ds:batches{size =, shuffle =, bucket =, drop_last =}` iterates batches
-- `{ids = [T, B] int32, lengths = [B], labels = [B], index}`; `ds:make_batch(indices)`
-- builds one; `ds:size()` counts the samples.
-- @usage local ds = data.Dataset { texts = { "a b", "b" }, labels = { 0, 1 }, vocab = data.Vocab.build { "a b" } }
-- for batch in ds:batches { size = 2 } do print(batch.ids) end
local Dataset = {}
Dataset.__index = Dataset
Dataset.__name = "data.Dataset"
Dataset.__tostring = function(d) return ("data.Dataset(%d samples)"):format(#d.seqs) end
M.Dataset = Dataset

--- data.Dataset(spec) — samples (id sequences, with labels) that make batches.
-- spec fields:
--   seqs                  {{id, ...}, ...} 0-based ids, or
--   texts + vocab         texts, tokenized (spec.tokenize: data.tokenize's options) and encoded
--   labels = nil          one label per sample (0-based classes for CrossEntropy)
--   max_len = nil         truncate longer sequences
--   subwords = nil        {buckets = n}: batches also carry each word's character
--                         n-grams hashed into n buckets (nn.SubwordEmbedding); unknown
--                         words of texts keep ids of vocab:extend
-- @tparam table spec the fields above
-- @treturn data.Dataset
-- @usage local ds = data.Dataset { texts = { "a b", "b" }, labels = { 1, 0 }, vocab = vocab }
function Dataset.new(spec)
  if type(spec) ~= "table" then
    util.user_error(("data.Dataset: expected a table {seqs = ... | texts = ..., vocab = ...}, got %s")
      :format(type(spec)))
  end
  local d = setmetatable({ seqs = {}, labels = spec.labels, vocab = spec.vocab,
    subwords = spec.subwords }, Dataset)
  if d.subwords ~= nil and (type(d.subwords) ~= "table" or math.type(d.subwords.buckets) ~= "integer"
      or d.subwords.buckets < 1 or not d.vocab) then
    util.user_error("data.Dataset: subwords must be {buckets = n >= 1}, with a vocab")
  end
  for _, k in ipairs { "seqs", "texts", "labels" } do
    if spec[k] ~= nil and type(spec[k]) ~= "table" then
      util.user_error(("data.Dataset: %s must be a list, got %s"):format(k, type(spec[k])))
    end
  end
  if spec.seqs then
    d.seqs = spec.seqs
  elseif spec.texts then
    if not spec.vocab then util.user_error("Dataset: texts need a vocab") end
    for i, t in ipairs(spec.texts) do
      d.seqs[i] = spec.vocab:encode(M.tokenize(t, spec.tokenize), d.subwords ~= nil)
    end
  else
    util.user_error("Dataset: give seqs or texts")
  end
  if d.labels and #d.labels ~= #d.seqs then
    util.user_error(("Dataset: %d sequences but %d labels"):format(#d.seqs, #d.labels))
  end
  if spec.max_len then
    for i, s in ipairs(d.seqs) do
      if #s > spec.max_len then d.seqs[i] = table.move(s, 1, spec.max_len, 1, {}) end
    end
  end
  return d
end
setmetatable(Dataset, { __call = function(_, spec) return Dataset.new(spec) end })

--- ds:size() — the number of samples.
-- @treturn integer
-- @usage print(ds:size())
function Dataset:size() return #self.seqs end

--- ds:make_batch(index) — one batch from sample indices (1-based): {ids = [T, B] int32
-- time-major, padded with 0; lengths = [B]; labels = [B]; index = the indices}.
-- @tparam {integer,...} index
-- @treturn table the batch
-- @usage local b = ds:make_batch { 2, 1 }   -- b.ids [2,2], b.lengths {2, 2}
function Dataset:make_batch(index)
  if type(index) ~= "table" then
    util.user_error(("data.Dataset:make_batch: expected a list of sample indices, got %s"):format(type(index)))
  end
  local B = #index
  local T = 1
  for _, i in ipairs(index) do T = math.max(T, #self.seqs[i]) end
  local ids = {}
  for t = 1, T do ids[t] = {} end
  local lengths, labels = {}, {}
  for b, i in ipairs(index) do
    local s = self.seqs[i]
    for t = 1, T do ids[t][b] = s[t] or 0 end
    lengths[b] = #s
    if self.labels then labels[b] = self.labels[i] end
  end
  local batch = { lengths = lurn.tensor(lengths, "int32"), index = index }
  if self.subwords then self:_subword_batch(batch, ids, T, B) end
  batch.ids = lurn.tensor(ids, "int32")
  if self.labels then
    if type(labels[1]) == "table" then
      -- per-step targets [T, B], padded with -100 (ignored by CrossEntropy)
      local tg = {}
      for t = 1, T do
        tg[t] = {}
        for b = 1, B do tg[t][b] = labels[b][t] or -100 end
      end
      batch.targets = lurn.tensor(tg, "int32")
    elseif math.type(labels[1]) == "integer" then
      batch.labels = lurn.tensor(labels, "int32")
    else
      batch.labels = lurn.tensor(labels)
    end
  end
  return batch
end

-- Datasets with subwords (spec.subwords = {buckets =}, data.subwords): the
-- batch's character n-grams for nn.SubwordEmbedding, from the ids [t][b]
-- (a word outside the vocabulary has an id of vocab:extend; it becomes <unk>
-- in batch.ids, as without subwords):
--   word_ids  [T, B] int32: the ids, 0 (padding: no vector) for unknown words
--   subwords  {pos = [P] int32: position t*B + b (0-based) of each n-gram,
--              ids = [P] int32: its bucket (1-based; 0 is padding),
--              scale = [T, B, 1]: 1 / (vectors averaged at the position)}
-- A known word averages its vector and its n-grams' (1 + n vectors), an
-- unknown one its n-grams' alone (fastText's rule).
function Dataset:_subword_batch(batch, ids, T, B)
  local vocab = self.vocab
  local V, unk = vocab:size(), vocab.unk or 1
  local grams = require("lurn.text.subwords").cache(vocab, self.subwords.buckets)
  local word, scale, pos, sub = {}, {}, {}, {}
  local k = 0
  for t = 1, T do
    local row, wrow = ids[t], {}
    word[t] = wrow
    for b = 1, B do
      local id = row[b]
      local p = (t - 1) * B + (b - 1)
      if id == 0 then
        wrow[b], scale[p + 1] = 0, 0
      else
        local list = grams(id)
        local n = #list
        if id < V then
          wrow[b], n = id, n + 1
        else
          wrow[b], row[b] = 0, unk
        end
        scale[p + 1] = n > 0 and 1 / n or 0
        for j = 1, #list do
          k = k + 1
          pos[k], sub[k] = p, list[j]
        end
      end
    end
  end
  batch.word_ids = lurn.tensor(word, "int32")
  batch.subwords = { scale = lurn.tensor(scale):view(T, B, 1) }
  if #pos > 0 then
    batch.subwords.pos, batch.subwords.ids = lurn.tensor(pos, "int32"), lurn.tensor(sub, "int32")
  end
end

--- ds:epoch_order([opts]) — the batches of one epoch as lists of indices: shuffled (from lurn's
-- generator) or in order; with bucket = true, sorted by length within windows
-- of 50 batches so batches hold similar lengths, then the batches shuffled.
-- @tparam[opt] table opts {size = 32, shuffle = false, bucket = false, drop_last = false}
-- @treturn table {{i, ...}, ...}
-- @usage local plan = ds:epoch_order { size = 2, shuffle = true }
function Dataset:epoch_order(opts)
  opts = options(opts, "data.Dataset:batches")
  local n = #self.seqs
  local size = opts.size or 32
  if math.type(size) ~= "integer" or size < 1 then
    util.user_error(("data.Dataset:batches: size must be a positive integer, got %s"):format(tostring(size)))
  end
  local order = {}
  if opts.shuffle then
    local perm = lurn.randperm(n)
    for i = 1, n do order[i] = perm:get(i) + 1 end
  else
    for i = 1, n do order[i] = i end
  end
  local batches = {}
  if opts.bucket then
    local window = size * 50
    for w = 1, n, window do
      local chunk = table.move(order, w, math.min(w + window - 1, n), 1, {})
      local pos = {}
      for k, i in ipairs(chunk) do pos[i] = k end
      table.sort(chunk, function(a, b)
        local la, lb = #self.seqs[a], #self.seqs[b]
        if la ~= lb then return la > lb end
        return pos[a] < pos[b]
      end)
      for s = 1, #chunk, size do
        batches[#batches + 1] = table.move(chunk, s, math.min(s + size - 1, #chunk), 1, {})
      end
    end
    if opts.shuffle and #batches > 1 then
      local perm = lurn.randperm(#batches)
      local shuffled = {}
      for i = 1, #batches do shuffled[i] = batches[perm:get(i) + 1] end
      batches = shuffled
    end
  else
    for s = 1, n, size do
      batches[#batches + 1] = table.move(order, s, math.min(s + size - 1, n), 1, {})
    end
  end
  if opts.drop_last and #batches > 0 and #batches[#batches] < size then
    batches[#batches] = nil
  end
  return batches
end

--- ds:batches([opts]) — iterate over one epoch's batches (see make_batch).
-- Options (default first):
--   size = 32
--   shuffle = false       from lurn's seeded generator
--   bucket = false        batches of similar lengths (see epoch_order)
--   drop_last = false
--   resume = nil          a state from it:state() to continue mid-epoch
-- The iterator object `it` (second result) has it:state() -> {batches =, pos =}.
-- @tparam[opt] table opts the options above
-- @usage for b in ds:batches { size = 2, shuffle = true } do print(b.ids:shape()) end
function Dataset:batches(opts)
  opts = options(opts, "data.Dataset:batches")
  local it = {}
  if opts.resume then
    it.plan, it.pos = opts.resume.batches, opts.resume.pos
  else
    it.plan, it.pos = self:epoch_order(opts), 0
  end
  function it.state() return { batches = it.plan, pos = it.pos } end
  local iter = function()
    it.pos = it.pos + 1
    local index = it.plan[it.pos]
    if not index then return nil end
    return self:make_batch(index)
  end
  return iter, it
end

-- ---------------------------------------------------------------------------
-- Generated data for tests, examples and the default run.

--- data.order_task(n [, opts]) — generated texts where only word order tells the label.
-- Every sequence holds exactly one "a" and one "b" among filler words; the
-- label is 1 when "a" comes first, else 0. Every sample of a pair has the
-- same bag of words, so only a model that reads the order can beat 50 %.
-- Draws from lurn's generator (seed it first).
-- Options (default first):
--   min_len = 6, max_len = 16
--   fillers = {"the", "of", "and", "to", "in", "is", "it", "on"}
-- @tparam integer n samples
-- @tparam[opt] table opts the options above
-- @treturn {string,...} texts
-- @treturn {integer,...} labels 0/1
-- @usage lurn.seed(1); local texts, labels = data.order_task(100)
function M.order_task(n, opts)
  if math.type(n) ~= "integer" or n < 0 then
    util.user_error(("data.order_task: n must be a non-negative integer, got %s"):format(tostring(n)))
  end
  opts = options(opts, "data.order_task")
  local min_len, max_len = opts.min_len or 6, opts.max_len or 16
  local fillers = opts.fillers or { "the", "of", "and", "to", "in", "is", "it", "on" }
  local texts, labels = {}, {}
  local u = lurn.rand(n * (max_len + 3))
  local k = 0
  local function draw() k = k + 1; return u:get(k) end
  for i = 1, n do
    local len = min_len + math.floor(draw() * (max_len - min_len + 1))
    local words = {}
    for j = 1, len do words[j] = fillers[1 + math.floor(draw() * #fillers)] end
    local pa = 1 + math.floor(draw() * len)
    local pb = 1 + math.floor(draw() * (len - 1))
    if pb >= pa then pb = pb + 1 end
    words[pa], words[pb] = "a", "b"
    texts[i] = table.concat(words, " ")
    labels[i] = pa < pb and 1 or 0
  end
  return texts, labels
end

return M
