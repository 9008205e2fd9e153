--- bench/sst2_epoch.lua — one SST-2 training epoch in lurn (the peer of sst2_epoch_torch.py).
--
--   lurn bench/sst2_epoch.lua --data-dir ../shared/datasets/sst2 [--threads 2]
--        [--batch 32] [--max-batches 0] [--optim adam|sgd]
--
-- The same model, data, batches and batch order as bench/sst2_epoch_torch.py
-- (read its header for the exact rules; both sides implement them alike):
--   nn.Embedding(V, 128, padding 0) -> nn.LSTM(128, 256) -> nn.Pool("max")
--   (over each sentence's valid steps) -> nn.Linear(256, 2), nn.CrossEntropy,
--   Adam(lr = 1e-3) (--optim sgd: plain SGD lr = 0.1);
--   whitespace tokens, vocabulary by count, length bucketing, an LCG
--   Fisher-Yates batch order, longest sentence first inside a batch.
-- Batches are built before the clock starts; the timed epoch is, per batch:
-- forward, loss, zero_grad, backward, optimizer step. Prints one JSON line.
-- --profile 1 also times each phase (each module's forward and backward,
-- the loss, zero_grad, the step) and adds the split to the JSON line; the
-- remainder of the epoch time is the loop's own Lua overhead.
-- --pair-threads N trains every batch twice, once at 1 thread and once at N, in
-- alternating order, and adds both sums to the JSON line ("pair": one_s, default_s, their
-- ratio, and in how many batches N threads were slower): the two thread counts compared on
-- the same batches at the same moments (bench/under_load.sh --sst2).
-- --gc step runs a full collectgarbage() after every batch (timed: it is
-- part of the loop then), to show how much of the peak RSS is garbage the
-- Lua GC has not reached (it does not see the size of tensor storage).
local lurn = require "lurn"
-- helpers shared with the other lurn-side script, next to this file
local common = dofile((arg[0]:match("^(.*)/") or ".") .. "/common.lua")
local vm_hwm_mb = common.vm_hwm_mb
local nn = lurn.nn

local function parse_args(argv)
  local a = { ["data-dir"] = "../shared/datasets/sst2", threads = 2, batch = 32, emb = 128,
              hidden = 256, optim = "adam", ["max-batches"] = 0, profile = 0,
              gc = "auto", ["pair-threads"] = 0 }
  local i = 1
  while i <= #argv do
    local k = argv[i]:match("^%-%-(.+)$")
    if not k or a[k] == nil then error("sst2_epoch: unknown argument " .. argv[i]) end
    local v = argv[i + 1] or error("sst2_epoch: --" .. k .. " needs a value")
    a[k] = math.tointeger(tonumber(v)) or v
    i = i + 2
  end
  return a
end

local function load(path)
  local f, err = io.open(path, "rb")
  if not f then
    io.stderr:write("sst2_epoch: ", err, " (--data-dir: a directory with SST-2's train.tsv)\n")
    os.exit(2)
  end
  f:read("l")                                       -- header
  local sents, labels = {}, {}
  for line in f:lines() do
    line = line:gsub("[\r\n]+$", "")
    local text, lab = line:match("^(.*)\t([^\t]*)$")
    if text then
      local toks = {}
      for w in text:gmatch("%S+") do toks[#toks + 1] = w end
      if #toks > 0 then
        sents[#sents + 1] = toks
        labels[#labels + 1] = math.tointeger(tonumber(lab))
      end
    end
  end
  f:close()
  return sents, labels
end

local function build_vocab(sents)
  local count, words = {}, {}
  for _, s in ipairs(sents) do
    for _, w in ipairs(s) do
      if not count[w] then words[#words + 1] = w; count[w] = 0 end
      count[w] = count[w] + 1
    end
  end
  table.sort(words, function(x, y)
    if count[x] ~= count[y] then return count[x] > count[y] end
    return x < y
  end)
  local vocab = {}
  for i, w in ipairs(words) do vocab[w] = i + 1 end  -- ids 2..; 0 padding, 1 unknown
  return vocab, #words
end

local function make_batches(sents, labels, vocab, bsz)
  local order = {}
  for i = 1, #sents do order[i] = i end
  table.sort(order, function(x, y)
    if #sents[x] ~= #sents[y] then return #sents[x] < #sents[y] end
    return x < y
  end)
  local groups = {}
  for k = 1, #order, bsz do
    local g = {}
    for i = k, math.min(k + bsz - 1, #order) do g[#g + 1] = order[i] end
    groups[#groups + 1] = g
  end
  local s = 1
  for i = #groups - 1, 1, -1 do                     -- Fisher-Yates, LCG (same as the torch side)
    s = (s * 1103515245 + 12345) % 2147483648
    local j = s % (i + 1)
    groups[i + 1], groups[j + 1] = groups[j + 1], groups[i + 1]
  end
  local out = {}
  for _, g in ipairs(groups) do
    table.sort(g, function(x, y)
      if #sents[x] ~= #sents[y] then return #sents[x] > #sents[y] end
      return x < y
    end)
    local T, B = #sents[g[1]], #g
    local ids, lengths, ys = {}, {}, {}
    for t = 1, T do
      local row = {}
      for b = 1, B do
        local w = sents[g[b]][t]
        row[b] = w and (vocab[w] or 1) or 0
      end
      ids[t] = row
    end
    for b = 1, B do lengths[b] = #sents[g[b]]; ys[b] = labels[g[b]] end
    out[#out + 1] = {
      ids = lurn.tensor(ids, "int32"), lengths = lurn.tensor(lengths, "int32"),
      labels = lurn.tensor(ys, "int32"), n_tokens = 0,
    }
    for b = 1, B do out[#out].n_tokens = out[#out].n_tokens + lengths[b] end
  end
  return out
end

--- The optimizer: lurn.optim when it exists, else plain SGD by tensor ops.
local function make_optimizer(kind, params)
  local ok, optim = pcall(function() return lurn.optim end)
  if kind == "adam" then
    if not (ok and optim and optim.Adam) then
      error("sst2_epoch: lurn.optim.Adam is not available (use --optim sgd)")
    end
    return optim.Adam(params, { lr = 1e-3 }), "Adam lr=1e-3"
  end
  if ok and optim and optim.SGD then return optim.SGD(params, { lr = 0.1 }), "SGD lr=0.1" end
  return { step = function()
    for _, p in ipairs(params) do p.value:add_(p.grad:mul(-0.1)) end
  end }, "SGD lr=0.1 (tensor ops)"
end

local function main(argv)
  local a = parse_args(argv)
  local now = common.now_ms
  lurn.threads(a.threads)
  lurn.seed(0)
  local t0 = now()
  local sents, labels = load(a["data-dir"] .. "/train.tsv")
  local vocab, n_words = build_vocab(sents)
  local data = make_batches(sents, labels, vocab, a.batch)
  if a["max-batches"] > 0 then
    for i = #data, a["max-batches"] + 1, -1 do data[i] = nil end
  end
  local prep_s = (now() - t0) / 1e3

  local model = nn.Sequential {
    nn.Embedding(n_words + 2, a.emb, { padding = 0 }),
    nn.LSTM(a.emb, a.hidden),
    nn.Pool("max"),
    nn.Linear(a.hidden, 2),
  }
  local loss_fn = nn.CrossEntropy()
  local opt, opt_name = make_optimizer(a.optim, model:parameters())
  model:train()

  -- --profile: wrap each phase in a timer (the wrappers cost ~1 us per call)
  local prof, prof_order = {}, {}
  local function timed(name, obj, method)
    local f = obj[method]
    prof[name] = 0
    prof_order[#prof_order + 1] = name
    obj[method] = function(...)
      local s0 = now()
      local r1, r2 = f(...)
      prof[name] = prof[name] + (now() - s0)
      return r1, r2
    end
  end
  if a.profile ~= 0 then
    for i, m in ipairs(model.modules) do
      local name = m.__name or ("module " .. i)
      timed(name .. ".forward", m, "forward")
    end
    for i = #model.modules, 1, -1 do
      local m = model.modules[i]
      timed((m.__name or ("module " .. i)) .. ".backward", m, "backward")
    end
    timed("loss.forward", loss_fn, "forward")
    timed("loss.backward", loss_fn, "backward")
    timed("zero_grad", model, "zero_grad")
    timed("optimizer.step", opt, "step")
  end

  local total, n_sent, tokens = 0, 0, 0
  local c0 = os.clock()
  t0 = now()
  local function step(batch)
    local logits = model:forward(batch)
    local loss = loss_fn:forward(logits, batch.labels)
    model:zero_grad()
    model:backward(loss_fn:backward())
    opt:step()
    return loss
  end
  local pair, side_ms, lost = a["pair-threads"], { 0, 0 }, 0
  for i, batch in ipairs(data) do
    local loss
    if pair > 0 then
      -- each batch twice, at 1 thread and at `pair` threads, in alternating order
      local ms = {}
      for k = 1, 2 do
        local s = (i + k) % 2 + 1   -- 1: one thread, 2: pair threads
        lurn.threads(s == 1 and 1 or pair)
        local s0 = now()
        loss = step(batch)
        ms[s] = now() - s0
      end
      side_ms[1], side_ms[2] = side_ms[1] + ms[1], side_ms[2] + ms[2]
      if ms[2] > ms[1] then lost = lost + 1 end
    else
      loss = step(batch)
    end
    if a.gc == "step" then collectgarbage() end
    total = total + loss
    n_sent = n_sent + batch.labels:size(1)
    tokens = tokens + batch.n_tokens
  end
  local epoch_s = (now() - t0) / 1e3
  local cpu_s = os.clock() - c0

  local split = {}
  for _, name in ipairs(prof_order) do
    split[#split + 1] = ('"%s": %.4f'):format(name, prof[name] / 1e3)
  end
  print(('{"side": "sst2_lurn", "epoch_s": %.4f, "cpu_s": %.4f, "prep_s": %.4f, "batches": %d, '
    .. '"sentences": %d, "tokens": %d, "vocab": %d, "mean_loss": %.6f, "rss_mb": %.2f, '
    .. '"threads": %d, "config": "batch %d, emb %d, hidden %d, %s, lengths%s"%s}')
    :format(epoch_s, cpu_s, prep_s, #data, n_sent, tokens, n_words + 2, total / math.max(#data, 1),
      vm_hwm_mb(), lurn.threads(), a.batch, a.emb, a.hidden, opt_name,
      a.gc == "step" and ", collectgarbage() per batch" or "",
      (#split > 0 and (', "profile_s": {' .. table.concat(split, ", ") .. "}") or "")
      .. (pair > 0 and (', "pair": {"threads": %d, "one_s": %.4f, "default_s": %.4f, '
          .. '"ratio": %.4f, "lost": %d}'):format(pair, side_ms[1] / 1e3, side_ms[2] / 1e3,
          side_ms[1] / side_ms[2], lost) or "")))
end

main(arg or { ... })
