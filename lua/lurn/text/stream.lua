--- lurn.text.stream — a long text as B parallel streams, for language models
-- trained by truncated backpropagation through time.
--
--   local stream = require "lurn.text.stream"
--   local toks = stream.tokens(s, "char")            -- one token per code point
--   local v = stream.Vocab.build({toks}, {kind = "char"})
--   local ids = v:encode(toks, "train.txt")          -- int32 [N], 0-based
--   local data = stream.Streams(ids, {batch = 32, bptt = 100})
--   for batch in data:batches() do ... end           -- {ids = [T, B], targets = [T, B]}
--
-- The layout is char-rnn's: the N - 1 (input, next token) pairs are cut into
-- B streams of L = (N - 1) // B consecutive positions each (the last pairs
-- that do not fill a stream are left out), and chunk k of an epoch holds
-- positions (k-1)*bptt+1 .. k*bptt of every stream, so stream b of chunk
-- k+1 continues exactly where stream b of chunk k stopped: a stateful
-- recurrent layer carries its state across chunks (nn.LSTM{stateful = true}).
-- The chunks come in order, never shuffled; on_start (when set) is called
-- before the first chunk of each pass, to reset that state.
--
-- Tokens: "char" gives one token per Unicode code point of the UTF-8 text,
-- newlines and spaces included, as they are; a byte that is not valid UTF-8
-- is a token on its own (copied through, never an error). "word" gives each
-- line's words (lurn.text's word tokenizer) followed by "<eos>".
local lurn = require "lurn"
local errors = require "lurn.errors"

local M = {}

--- The end-of-line token of word-level models.
M.EOS = "<eos>"
--- The token that stands for words outside a word-level vocabulary.
M.UNK = "<unk>"

-- The code points of s (each a string), appended to out; a byte that is
-- not part of valid UTF-8 is one token.
local function chars(s, out)
  local n, i = #out, 1
  local len = #s
  while i <= len do
    local ok, bad = utf8.len(s, i)
    local stop = ok and len or bad - 1
    if stop >= i then
      for _, c in utf8.codes(s:sub(i, stop)) do
        n = n + 1
        out[n] = utf8.char(c)
      end
    end
    if ok then break end
    n = n + 1
    out[n] = s:sub(bad, bad)
    i = bad + 1
  end
  return out
end

--- The tokens of text s: kind "char" (code points, whitespace kept) or
-- "word" (each line's words, then "<eos>"); lower = true lower-cases words.
-- @tparam string s the text
-- @tparam string kind "char" or "word"
-- @tparam[opt] boolean lower lower-case words (word only)
-- @treturn {string,...} the tokens
function M.tokens(s, kind, lower)
  if kind == "char" then return chars(s, {}) end
  if kind ~= "word" then
    errors.raise("config", "lm.tokenizer: expected 'char' or 'word', got '%s'", tostring(kind))
  end
  local tok = require("lurn.text").Tokenizer { kind = "word", lower = lower and true or false }
  local out, n = {}, 0
  local pos = 1
  while pos <= #s do
    local e = s:find("\n", pos, true)
    local line = s:sub(pos, (e or #s + 1) - 1)
    for _, t in ipairs(tok:tokenize(line)) do n = n + 1; out[n] = t end
    n = n + 1
    out[n] = M.EOS
    pos = (e or #s) + 1
  end
  return out
end

-- ---------------------------------------------------------------------------
-- Vocabulary: token <-> 0-based id, no padding id.

local Vocab = {}
Vocab.__index = Vocab
Vocab.__name = "stream.Vocab"
M.Vocab = Vocab

--- A vocabulary of token lists. opts: kind ("char": every token seen, in
-- byte order; "word": "<unk>" first, then the tokens seen at least
-- min_count times, most frequent first, at most max_size of them (0 = all)).
-- @tparam {{string,...},...} lists token lists (the training text's; for
-- characters also the validation text's, as char-rnn does)
-- @tparam table opts kind, min_count (1), max_size (0)
-- @treturn stream.Vocab
function Vocab.build(lists, opts)
  local counts = {}
  for _, list in ipairs(lists) do
    for _, t in ipairs(list) do counts[t] = (counts[t] or 0) + 1 end
  end
  local itos = {}
  if opts.kind == "char" then
    for t in pairs(counts) do itos[#itos + 1] = t end
    table.sort(itos)
  else
    local min = opts.min_count or 1
    for t, c in pairs(counts) do
      if c >= min and t ~= M.UNK then itos[#itos + 1] = t end
    end
    table.sort(itos, function(a, b)
      if counts[a] ~= counts[b] then return counts[a] > counts[b] end
      return a < b
    end)
    local max = opts.max_size or 0
    if max > 0 then
      for i = #itos, max, -1 do itos[i] = nil end   -- "<unk>" takes one of the max_size places
    end
    table.insert(itos, 1, M.UNK)
  end
  return Vocab.new(itos, opts.kind)
end

--- A vocabulary from its token list (0-based ids in list order).
function Vocab.new(itos, kind)
  local stoi = {}
  for i, t in ipairs(itos) do stoi[t] = i - 1 end
  return setmetatable({ itos = itos, stoi = stoi, kind = kind,
    unk = kind == "word" and stoi[M.UNK] or nil }, Vocab)
end

--- Number of tokens.
function Vocab:size() return #self.itos end

--- The token of a 0-based id.
function Vocab:token(id) return self.itos[id + 1] end

--- int32 [N] ids of a token list; a character outside the vocabulary is a
-- "data" error naming `what` and the position (words become "<unk>").
-- @treturn Tensor ids
-- @treturn integer how many words were unknown
function Vocab:encode(tokens, what)
  local ids, stoi, unk, n_unk = {}, self.stoi, self.unk, 0
  for i, t in ipairs(tokens) do
    local id = stoi[t]
    if not id then
      if not unk then
        errors.raise("data", "%s: character %d (%q) is not in the model's vocabulary of %d "
          .. "characters", what or "text", i, t, #self.itos)
      end
      id, n_unk = unk, n_unk + 1
    end
    ids[i] = id
  end
  if #ids == 0 then return lurn.zeros(0, "int32"), 0 end
  return lurn.tensor(ids, "int32"), n_unk
end

--- Plain, JSON-able data for checkpoints: tokens that are valid UTF-8 as
-- strings, any other as {hex = "ff"} (JSON holds only UTF-8, and lurn's
-- JSON no NUL: a NUL byte, valid UTF-8, is stored as {hex = "00"} too).
function Vocab:state()
  local out = {}
  for i, t in ipairs(self.itos) do
    out[i] = (utf8.len(t) and not t:find("\0", 1, true)) and t or { hex = (t:gsub(".", function(c)
      return ("%02x"):format(c:byte()) end)) }
  end
  return { kind = self.kind, itos = out }
end

--- The vocabulary of a state(); a malformed one is a "checkpoint" error.
function Vocab.from_state(s)
  local function bad(msg) errors.raise("checkpoint", "language-model vocabulary: %s", msg) end
  if type(s) ~= "table" or type(s.itos) ~= "table" then bad("missing") end
  if s.kind ~= "char" and s.kind ~= "word" then bad("kind must be char or word") end
  local itos, seen = {}, {}
  for i, t in ipairs(s.itos) do
    if type(t) == "table" and type(t.hex) == "string" and #t.hex % 2 == 0
        and not t.hex:find("[^0-9a-f]") then
      t = t.hex:gsub("..", function(x) return string.char(tonumber(x, 16)) end)
    end
    if type(t) ~= "string" or t == "" then bad(("token %d is not a string"):format(i)) end
    if seen[t] then bad(("token %d (%q) appears twice"):format(i, t)) end
    seen[t] = true
    itos[i] = t
  end
  if #itos == 0 then bad("empty") end
  if s.kind == "word" and itos[1] ~= M.UNK then bad("a word vocabulary starts with <unk>") end
  return Vocab.new(itos, s.kind)
end

-- ---------------------------------------------------------------------------
-- Streams

local Streams = {}
Streams.__index = Streams
Streams.__name = "stream.Streams"
M.Streams = Streams

--- B parallel streams of an int32 [N] id tensor, cut in chunks of bptt
-- steps (see the header). opts: batch (B), bptt, what (the text's name,
-- for messages), on_start (function called before each pass's first chunk).
-- Behaves as a train.fit dataset: size() is the number of chunks.
-- @treturn stream.Streams
function M.Streams(ids, opts)
  local B, T = opts.batch, opts.bptt
  local N = ids:numel()
  local L = (N - 1) // B
  if L < 1 then
    errors.raise("data", "%s: %d tokens are too few for %d parallel streams (train.batch_size); "
      .. "a stream needs at least 2 tokens", opts.what or "text", N, B)
  end
  local self = setmetatable({ B = B, T = T, L = L, N = N, what = opts.what,
    on_start = opts.on_start }, Streams)
  self.x = ids:narrow(1, 1, B * L):view(B, L)
  self.y = ids:narrow(1, 2, B * L):view(B, L)
  self.chunks = (L + T - 1) // T
  return self
end

--- Number of chunks in one pass.
function Streams:size() return self.chunks end

--- Tokens (input positions) in one pass: B * L.
function Streams:tokens() return self.B * self.L end

--- Chunk k (1-based): {ids = int32 [t, B], targets = int32 [t, B], tokens = t * B}
-- (t = bptt, or less for the last chunk).
function Streams:chunk(k)
  local start = (k - 1) * self.T + 1
  local t = math.min(self.T, self.L - start + 1)
  self.last_tokens = t * self.B
  return { ids = self.x:narrow(2, start, t):t():contiguous(),
    targets = self.y:narrow(2, start, t):t():contiguous(), tokens = t * self.B, index = { k } }
end

--- Iterate the chunks in order: iter, it (it.plan, it.pos, train.fit's
-- resume protocol: opts.resume = {batches = plan, pos = n} continues after
-- chunk n). Batch-size, shuffle and bucket options are ignored: the layout
-- is fixed by the streams.
function Streams:batches(opts)
  opts = opts or {}
  local it = {}
  if opts.resume then
    it.plan, it.pos = opts.resume.batches, opts.resume.pos
  else
    it.plan, it.pos = {}, 0
    for k = 1, self.chunks do it.plan[k] = { k } end
  end
  local iter = function()
    it.pos = it.pos + 1
    local k = it.plan[it.pos]
    if not k then return nil end
    if it.pos == 1 and self.on_start then self.on_start() end
    return self:chunk(k[1])
  end
  return iter, it
end

return M
