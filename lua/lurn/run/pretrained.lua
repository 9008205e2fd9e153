--- lurn.run.pretrained — a classifier's first layers from a language model run
-- (the config section `pretrained`; docs/pretraining.md).
--
-- Semi-supervised sequence learning (Dai & Le 2015): train a language model
-- (task = "lm") on the classifier's text, then start the classifier from it.
--
--   local pre = require "lurn.run.pretrained"
--   local info = pre.apply(cfg, model, ds.vocab, ds.tokenizer)   -- nil when pretrained.from = ""
--   -- info = {file, matched, vocab_size, lm_vocab_size, layers, reverse_fresh, kind, lower}
--   local params = pre.param_groups(cfg, model)    -- for the optimizer (pretrained.lr_scale)
--
-- What is copied, from the language model's checkpoint into the freshly
-- initialised classifier:
--   * embedding rows by token: the classifier's row of token w gets the LM's
--     row of w when the LM's vocabulary has w; the others (and <pad>, which
--     stays zero) keep their fresh initialisation. The two vocabularies differ
--     in order and size (data.Vocab: <pad> <unk> ...; the LM's: <unk> ... <eos>).
--   * every recurrent layer's weights and biases, when cell, sizes and layer
--     count agree. A bidirectional classifier takes them for its forward
--     direction; its reverse direction keeps its fresh initialisation (the LM
--     never read right to left). With more than one layer the upper layers of
--     a bidirectional model read 2 x hidden inputs, the LM's hidden: no match,
--     so that is an error.
-- The output layer is not copied (the LM's predicts tokens). Every mismatch
-- is a "config" error naming pretrained.from, the run and both shapes: a
-- silent partial copy would look like a result and not be one.
--
-- The tokenizers must agree: the same kind (word or char) and the same
-- lower-casing (an LM's char tokens are never lower-cased). N-grams
-- (data.ngrams > 1) are not in an LM's vocabulary: their rows stay fresh.
local lfs = require "lfs"
local errors = require "lurn.errors"

local M = {}

local CELL = { lstm = "LSTM", gru = "GRU", rnn_tanh = "RNN (tanh)", rnn_relu = "RNN (relu)" }

-- The first module of a model (depth first) for which pred is true.
local function find(m, pred)
  if pred(m) then return m end
  for _, c in ipairs(m._children or {}) do
    local f = find(c.module, pred)
    if f then return f end
  end
  return nil
end
local function is_embedding(m) return m.__name == "nn.Embedding" end
local function is_recurrent(m) return m.cell ~= nil and m.w ~= nil and m.hidden ~= nil end

local function params_by_name(m)
  local out = {}
  for _, p in ipairs(m:parameters()) do out[p.name] = p.value end
  return out
end

local function shape(t) return tostring(t:shape()) end

--- True when the config asks for a pretrained start.
-- @tparam table cfg a resolved config
-- @treturn boolean
function M.enabled(cfg)
  return type(cfg.pretrained) == "table" and (cfg.pretrained.from or "") ~= ""
end

--- Check the `pretrained` keys against the rest of the config (before any
-- data is read): the model must be a built-in one with an embedding.
-- @tparam table cfg a resolved config
function M.check_config(cfg)
  local p = cfg.pretrained
  if not M.enabled(cfg) then
    if p and p.lr_scale ~= 1 then
      errors.raise("config", "pretrained.lr_scale = %s: set pretrained.from too (it scales the "
        .. "learning rate of the layers copied from a language model)", tostring(p.lr_scale))
    end
    return
  end
  if cfg.model.type == "custom" then
    errors.raise("config", "pretrained.from = %q: model.type = \"custom\": only the built-in "
      .. "models (lstm, gru, rnn, bow) can be started from a language model", p.from)
  end
end

-- The language model run, loaded: lurn.run.saved's table for an lm checkpoint.
local function load_lm(p)
  local from = p.from
  if not lfs.attributes(from) then
    errors.raise("config", "pretrained.from = %q: no such file or directory (a language model run "
      .. "directory or its checkpoint: lurn train CONFIG with task = \"lm\")", from)
  end
  local saved = require "lurn.run.saved"
  local ok, s = pcall(saved.load, from, { which = p.checkpoint })
  if not ok then
    -- a damaged checkpoint keeps its code (exit 4); the message says whose it is
    if errors.is(s) then s.message = ("pretrained.from = %q: %s"):format(from, s.message) end
    error(s, 0)
  end
  if s.task ~= "lm" then
    errors.raise("config", "pretrained.from = %q: %s is a %s run, not a language model "
      .. "(task = \"lm\")", from, s.path, s.task and ("task %q"):format(s.task) or "classification")
  end
  return s
end

-- Raise a config error about the run s, prefixed with the key.
local function mismatch(p, s, fmt, ...)
  errors.raise("config", "pretrained.from = %q (%s): " .. fmt, p.from, s.path, ...)
end

-- The tokenizers must cut text the same way, or the rows copied by token
-- would mean other strings.
local function check_tokenizer(p, s, tok)
  local lm_lower = s.kind == "word" and s.lower
  if tok.kind ~= s.kind then
    mismatch(p, s, "the language model's tokens are %ss (lm.tokenizer = %q), this model's "
      .. "%ss (data.tokenizer = %q); pretrain with lm.tokenizer = %q", s.kind, s.kind, tok.kind,
      tok.kind, tok.kind)
  end
  if tok.lower ~= lm_lower then
    if s.kind == "char" then
      mismatch(p, s, "the language model's characters keep their case, this model lower-cases "
        .. "them (data.lower = true); set data.lower = false")
    end
    mismatch(p, s, "the language model's words are %s (lm.lower = %s), this model's %s "
      .. "(data.lower = %s); set data.lower = %s or pretrain with lm.lower = %s",
      lm_lower and "lower-cased" or "not lower-cased", tostring(lm_lower),
      tok.lower and "are" or "are not", tostring(tok.lower), tostring(lm_lower),
      tostring(tok.lower))
  end
end

local function check_embedding(p, s, emb, lm_emb)
  local w, lw = params_by_name(emb).weight, params_by_name(lm_emb).weight
  if w:size(2) ~= lw:size(2) then
    mismatch(p, s, "the embedding sizes differ: the language model's embedding is %s, this "
      .. "model's %s (model.embed = %d)", shape(lw), shape(w), w:size(2))
  end
end

-- Copy the embedding rows by token; returns how many tokens matched.
local function copy_embedding(s, emb, lm_emb, vocab)
  local w, lw = params_by_name(emb).weight, params_by_name(lm_emb).weight
  local matched = 0
  for id = 0, vocab:size() - 1 do
    local lm_id = id ~= emb.padding and s.vocab.stoi[vocab.itos[id + 1]]
    if lm_id then
      w:select(1, id + 1):copy(lw:select(1, lm_id + 1))
      matched = matched + 1
    end
  end
  return matched
end

-- Check that the recurrent layers' weights fit (the forward direction of a
-- bidirectional model); copy them when copy is true.
local function recurrent(p, s, rec, lm_rec, copy)
  local lmw, w = params_by_name(lm_rec), params_by_name(rec)
  if rec.cell ~= lm_rec.cell then
    mismatch(p, s, "the recurrent cells differ: %s in the language model (weight_ih_l0 %s), "
      .. "%s in this model (model.type = %q, weight_ih_l0 %s)", CELL[lm_rec.cell] or lm_rec.cell,
      shape(lmw.weight_ih_l0), CELL[rec.cell] or rec.cell,
      (rec.cell:gsub("^rnn_.*", "rnn")), shape(w.weight_ih_l0))
  end
  if rec.hidden ~= lm_rec.hidden then
    mismatch(p, s, "the hidden sizes differ: the language model's weight_hh_l0 is %s (hidden %d), "
      .. "this model's %s (model.hidden = %d)", shape(lmw.weight_hh_l0), lm_rec.hidden,
      shape(w.weight_hh_l0), rec.hidden)
  end
  if rec.layers ~= lm_rec.layers then
    mismatch(p, s, "the layer counts differ: the language model has %d recurrent layer(s), this "
      .. "model %d (model.layers = %d)", lm_rec.layers, rec.layers, rec.layers)
  end
  if rec.dirs == 2 and rec.layers > 1 then
    mismatch(p, s, "model.bidirectional = true with model.layers = %d: layer 2 reads %d inputs "
      .. "(both directions of layer 1), the language model's %d; a bidirectional model can take "
      .. "a one-layer language model only", rec.layers, 2 * rec.hidden, lm_rec.hidden)
  end
  for l = 0, rec.layers - 1 do
    for _, base in ipairs { "weight_ih", "weight_hh", "bias_ih", "bias_hh" } do
      local name = ("%s_l%d"):format(base, l)
      local a, b = w[name], lmw[name]
      if (a == nil) ~= (b == nil) then
        mismatch(p, s, "%s: the language model %s it, this model %s", name,
          b and "has" or "has not", a and "has" or "has not")
      end
      if a then
        if shape(a) ~= shape(b) then
          mismatch(p, s, "%s is %s in the language model, %s in this model", name, shape(b),
            shape(a))
        end
        if copy then a:copy(b) end
      end
    end
  end
end

--- Start a freshly built classifier from the language model of
-- cfg.pretrained.from: embedding rows by token, recurrent weights (see the
-- module's header). Every mismatch raises a "config" error naming
-- pretrained.from before anything is copied.
-- @tparam table cfg a resolved classification config
-- @tparam nn.Module model the classifier, freshly built from cfg
-- @tparam data.Vocab vocab its vocabulary
-- @tparam text.Tokenizer tok its tokenizer
-- @treturn table|nil {file, matched, vocab_size, lm_vocab_size, layers, reverse_fresh}
-- (nil when pretrained.from is "")
function M.apply(cfg, model, vocab, tok)
  if not M.enabled(cfg) then return nil end
  M.check_config(cfg)
  local p = cfg.pretrained
  local s = load_lm(p)
  check_tokenizer(p, s, tok)
  local emb, lm_emb = find(model, is_embedding), find(s.model, is_embedding)
  if not emb or not lm_emb then
    mismatch(p, s, "%s has no embedding layer", emb and "the language model" or "this model")
  end
  local rec, lm_rec = find(model, is_recurrent), find(s.model, is_recurrent)
  if rec and not lm_rec then
    mismatch(p, s, "the language model has no recurrent layer to copy")
  end
  -- every check before the first copy: an error leaves the model as built
  check_embedding(p, s, emb, lm_emb)
  if rec then recurrent(p, s, rec, lm_rec, false) end
  local matched = copy_embedding(s, emb, lm_emb, vocab)
  if rec then recurrent(p, s, rec, lm_rec, true) end
  return { file = s.path, matched = matched, vocab_size = vocab:size(),
    lm_vocab_size = s.vocab:size(), layers = rec and rec.layers or 0,
    reverse_fresh = rec ~= nil and rec.dirs == 2, cell = rec and (CELL[rec.cell] or rec.cell) }
end

--- The optimizer's parameters: the model's list, or with pretrained.lr_scale
-- ~= 1 two groups: the layers a language model starts (the embedding and the
-- recurrent layer, all of them, fresh rows included) at lr x lr_scale, the
-- rest at lr. lr_scale = 0 freezes them. The groups are the same on a fresh
-- and a resumed run, so the optimizer's checkpointed state fits.
-- @tparam table cfg a resolved config
-- @tparam nn.Module model
-- @treturn table parameter records, or a list of two groups
function M.param_groups(cfg, model)
  local params = model:parameters()
  if not M.enabled(cfg) or cfg.pretrained.lr_scale == 1 then return params end
  local mark = {}
  for _, m in ipairs { find(model, is_embedding), find(model, is_recurrent) } do
    for _, r in ipairs(m:parameters()) do mark[r.value] = true end
  end
  local pre, rest = {}, {}
  for _, r in ipairs(params) do
    local list = mark[r.value] and pre or rest
    list[#list + 1] = r
  end
  return { { params = pre, lr = cfg.optim.lr * cfg.pretrained.lr_scale }, { params = rest } }
end

--- One line saying what apply copied (for the run's log).
-- @tparam table info what apply returned
-- @treturn string
function M.describe(info)
  local parts = { ("pretrained: %s: embedding rows of %d of %d tokens copied from the language "
    .. "model's %d (%d keep their fresh init)"):format(info.file, info.matched, info.vocab_size,
    info.lm_vocab_size, info.vocab_size - info.matched) }
  if info.layers > 0 then
    parts[#parts + 1] = ("; %s weights of %d layer(s) copied%s"):format(info.cell, info.layers,
      info.reverse_fresh and " into the forward direction (the reverse keeps its fresh init)" or "")
  else
    parts[#parts + 1] = "; no recurrent layer in this model"
  end
  return table.concat(parts)
end

return M
