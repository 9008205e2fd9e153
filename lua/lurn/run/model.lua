--- lurn.run.model — a config's model, optimizer and schedule.
--
--   model.spec(cfg, info)          -- the model as a spec (nn.build makes it)
--     info = {vocab_size =, num_classes =, labels =}
--   model.optimizer(cfg, params)   -- an optim optimizer from cfg.optim
--   model.schedule(cfg, opt, steps_per_epoch) -> schedule|nil, every ("step"|"epoch")
--
-- The built-in model types (cfg.model.type):
--   lstm | gru | rnn   Embedding (embed_dropout: word-type dropout; with data.subwords an
--                      nn.SubwordEmbedding: word and character n-gram vectors) -> recurrent
--                      layers (layers, bidirectional, dropout between layers,
--                      input_dropout, output_dropout) -> Pool(pool) or
--                      AttentionPool (pool = "attention") -> Linear
--   bow                Embedding -> Pool(pool, "mean" is usual) -> Linear
--   model.bag = D > 0: beside the network, Ngrams -> Embedding(vocab + bag_buckets, D)
--                      -> Pool("mean") (a fastText-style bag of n-grams), the two
--                      joined (Concat) before the Linear
--   custom             cfg.model.spec, a function of (nn, data) run by the
--                      config layer's sandbox (config.model_spec)
-- Token id 0 is padding (data.Vocab's convention).
local errors = require "lurn.errors"
local optim = require "lurn.optim"

local M = {}

local RECURRENT = { lstm = "LSTM", gru = "GRU", rnn = "RNN" }

function M.spec(cfg, info)
  local m = cfg.model
  if m.type == "custom" then
    local config = require "lurn.config"
    return config.model_spec(cfg, info)
  end
  local V, C = info.vocab_size, info.num_classes
  local eopts = { padding = 0 }
  if m.embed_dropout > 0 then eopts.dropout = m.embed_dropout end
  local layers = { { type = "Embedding", args = { V, m.embed, eopts } } }
  if (cfg.data.subwords or 0) > 0 then   -- words and their character n-grams
    layers[1] = { type = "SubwordEmbedding", args = { V, cfg.data.subwords, m.embed,
      m.embed_dropout > 0 and { dropout = m.embed_dropout } or nil } }
  end
  local width = m.embed
  if RECURRENT[m.type] then
    local opts = { layers = m.layers, bidirectional = m.bidirectional, dropout = m.dropout,
      input_dropout = m.input_dropout, output_dropout = m.output_dropout }
    layers[#layers + 1] = { type = RECURRENT[m.type], args = { m.embed, m.hidden, opts } }
    width = m.hidden * (m.bidirectional and 2 or 1)
  elseif m.type ~= "bow" then
    errors.raise("config", "model.type: unknown model type '%s' (lstm, gru, rnn, bow or custom)",
      tostring(m.type))
  end
  if m.pool == "attention" then
    layers[#layers + 1] = { type = "AttentionPool", args = { width } }
  else
    layers[#layers + 1] = { type = "Pool", args = { m.pool } }
  end
  if m.bag > 0 then
    -- beside it, a bag of the words and their hashed n-grams: mean embedding of bag width
    local bag = { type = "Sequential", args = { {
      { type = "Ngrams", args = { V, m.bag_buckets, m.bag_ngrams } },
      { type = "Embedding", args = { V + m.bag_buckets, m.bag, { padding = 0 } } },
      { type = "Pool", args = { "mean" } } } } }
    layers = { { type = "Concat", args = { -1, { { type = "Sequential", args = { layers } }, bag } } } }
    width = width + m.bag
  end
  layers[#layers + 1] = { type = "Linear", args = { width, C } }
  return { type = "Sequential", args = { layers } }
end

local OPTIMIZERS = { adam = "Adam", adamw = "AdamW", sgd = "SGD", rmsprop = "RMSprop",
  adagrad = "Adagrad" }

function M.optimizer(cfg, params)
  local o = cfg.optim
  local ctor = OPTIMIZERS[o.name]
  if not ctor then
    errors.raise("config", "optim.name: unknown optimizer '%s' (adam, adamw, sgd, rmsprop, adagrad)",
      tostring(o.name))
  end
  local conf = { lr = o.lr, weight_decay = o.weight_decay }
  if o.momentum ~= 0 then
    if o.name ~= "sgd" and o.name ~= "rmsprop" then
      errors.raise("config", "optim.momentum = %s: only sgd and rmsprop take a momentum (optim.name "
        .. "is %s)", tostring(o.momentum), o.name)
    end
    conf.momentum = o.momentum
  end
  if o.lazy then
    if o.name ~= "adam" and o.name ~= "adamw" then
      errors.raise("config", "optim.lazy = true: only adam and adamw update lazily (optim.name is %s)",
        o.name)
    end
    conf.lazy = true
  end
  local ok, opt = pcall(optim[ctor], params, conf)
  if not ok then errors.raise("config", "optim: %s", tostring(opt):gsub("^[^\n]-%.lua:%d+: ", "")) end
  return opt
end

--- The schedule of cfg.optim.schedule (nil for a constant rate) and when
-- train.fit steps it. constant (with warmup > 0: a linear warmup over that
-- many steps), warmup (the same), cosine (to 0 over the whole run, after
-- the warmup), step (lr x 0.1 after each third of the epochs), plateau (lr
-- x 0.1 when train.best_metric has not improved for 2 evaluations).
function M.schedule(cfg, opt, steps_per_epoch)
  local o, t = cfg.optim, cfg.train
  local s = o.schedule
  if s == "constant" or s == "warmup" then
    if o.warmup > 0 then return optim.LinearWarmup(opt, { warmup = o.warmup }), "step" end
    if s == "warmup" then
      errors.raise("config", "optim.schedule = \"warmup\" needs optim.warmup > 0 (steps)")
    end
    return nil
  elseif s == "cosine" then
    return optim.CosineLR(opt, { total = math.max(1, t.epochs * steps_per_epoch),
      warmup = o.warmup }), "step"
  elseif s == "step" then
    return optim.StepLR(opt, { step_size = math.max(1, math.ceil(t.epochs / 3)), gamma = 0.1 }),
        "epoch"
  elseif s == "plateau" then
    return optim.ReduceLROnPlateau(opt, { mode = t.best_mode, factor = 0.1, patience = 2 }), "epoch"
  end
  errors.raise("config", "optim.schedule: unknown schedule '%s' (constant, cosine, step, plateau, "
    .. "warmup)", tostring(s))
end

return M
