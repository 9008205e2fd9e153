-- bench/fasttext_splits.lua — write the splits a lurn config trains on as fastText files.
--
--   lurn bench/fasttext_splits.lua CONFIG OUTDIR [key=value ...]
--
-- Reads the config (with overrides, e.g. seed=2) as `lurn train` does and writes the same
-- training and validation parts lurn.text builds from it, in fastText's format
-- (`__label__<label> <tokens>`), each text as lurn's tokenizer splits it (lower-cased,
-- clitics and punctuation apart, <br /> removed), so both tools see the same tokens:
--   data.folds = k >= 2   OUTDIR/fold-<i>/{train,valid}.ft for i = 1..k (lurn.text's folds)
--   otherwise             OUTDIR/{train,valid}.ft (data.valid, or the held-out valid_split)
-- data.extra's rows are added to every training part, as lurn train adds them.
-- The seed of the split is the config's `seed`, as in lurn train. bench/fasttext.sh uses it.
local lurn = require "lurn"
local config = require "lurn.config"
local text = require "lurn.text"
local split = require "lurn.text.split"

local path, out = arg[1], arg[2]
if not path or not out then
  io.stderr:write("usage: lurn bench/fasttext_splits.lua CONFIG OUTDIR [key=value ...]\n")
  os.exit(2)
end
local overrides = table.move(arg, 3, #arg, 1, {})
local cfg = config.load(path, overrides)
lurn.seed(cfg.seed)   -- the shuffle of the training parts
local p = text.prepare(cfg.data)
local tok = text.Tokenizer { kind = cfg.data.tokenizer, lower = cfg.data.lower }

local function line(t, label)
  return "__label__" .. label .. " " .. table.concat(tok:tokenize(t), " ") .. "\n"
end

-- A training part (opts.train) gets data.extra's rows too (opts.extra), as lurn.text's does,
-- and is shuffled (from the config's seed): fastText reads its input in file order with a
-- decaying learning rate, so a file sorted by label (the aclImdb layout: every neg review, then
-- every pos) trains a model of the last label (55.3 % on IMDB's held-out 5,000; 88.9 %
-- shuffled). A validation part is written in order.
local function write(file, texts, labels, idx, opts)
  local lines = {}
  for _, i in ipairs(idx or {}) do lines[#lines + 1] = line(texts[i], labels[i]) end
  if not idx then
    for i = 1, #texts do lines[#lines + 1] = line(texts[i], labels[i]) end
  end
  local extra = opts.train and opts.extra or { texts = {} }
  for i = 1, #extra.texts do lines[#lines + 1] = line(extra.texts[i], extra.labels[i]) end
  local f = assert(io.open(file, "w"))
  local perm = opts.train and lurn.randperm(#lines)
  for k = 1, #lines do f:write(lines[perm and perm:get(k) + 1 or k]) end
  f:close()
end
local tr = p.train
lurn.mkdir(out)
if cfg.data.folds >= 2 then
  for i, f in ipairs(split.kfold(tr.labels, cfg.data.folds, cfg.seed)) do
    local dir = ("%s/fold-%d"):format(out, i)
    lurn.mkdir(dir)
    write(dir .. "/train.ft", tr.texts, tr.labels, f.train, { train = true, extra = p.extra })
    write(dir .. "/valid.ft", tr.texts, tr.labels, f.valid, { train = false })
  end
  print(("%s: %d folds of %s (seed %d)"):format(out, cfg.data.folds, cfg.data.train, cfg.seed))
elseif p.valid then
  write(out .. "/train.ft", tr.texts, tr.labels, nil, { train = true, extra = p.extra })
  write(out .. "/valid.ft", p.valid.texts, p.valid.labels, nil, { train = false })
  print(("%s: %s and %s"):format(out, cfg.data.train, cfg.data.valid))
else
  local tri, vai = split.holdout(tr.labels, cfg.data.valid_split, cfg.seed)
  write(out .. "/train.ft", tr.texts, tr.labels, tri, { train = true, extra = p.extra })
  write(out .. "/valid.ft", tr.texts, tr.labels, vai, { train = false })
  print(("%s: %d train, %d held out of %s (seed %d)"):format(out, #tri, #vai, cfg.data.train, cfg.seed))
end
