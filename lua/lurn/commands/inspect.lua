--- lurn inspect CHECKPOINT|RUN_DIR [--json] [--checkpoint best|last]
--
-- What a checkpoint holds, without running anything in it: the format and
-- its version, step and epoch, the module tree with shapes and parameter
-- counts, every parameter, labels, vocabulary and tokenizer, optimizer,
-- the metric history (last and best), and the resolved config.
local argparse = require "argparse"
local lfs = require "lfs"
local errors = require "lurn.errors"
local checkpoint = require "lurn.checkpoint"
local saved = require "lurn.run.saved"
local json = require "lurn.run.json"

local M = {}

M.summary_text = "show a checkpoint: config, modules, parameters, metrics"

local function parser()
  local p = argparse("lurn inspect", "Show what a checkpoint holds.")
  p:add_help(false)
  p:usage("usage: lurn inspect CHECKPOINT|RUN_DIR [options]")
  p:argument("model", "a checkpoint file or a run directory (its best checkpoint)")
      :argname("CHECKPOINT|RUN_DIR")
  p:option("--checkpoint", "which checkpoint of a run directory", "best"):choices { "best", "last" }
  p:flag("--json", "print it as one JSON object")
  p:flag("-h --help", "show this help")
  p:epilog("Exit status: 0 done, 2 usage error, 4 checkpoint error (missing or damaged).")
  return p
end

function M.help() return parser():get_help() end

local function config_text(cfg)
  local ok, config = pcall(require, "lurn.config")
  if ok and config.serialize then
    local ok2, s = pcall(config.serialize, cfg)
    if ok2 then return s end
  end
  return json.pretty(cfg)
end

local function fmt(v)
  if type(v) ~= "number" then return tostring(v) end
  if math.type(v) == "integer" then return tostring(v) end
  return ("%.4f"):format(v)
end

local function record_line(r)
  local keys = {}
  for k, v in pairs(r) do if type(v) == "number" then keys[#keys + 1] = k end end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. " " .. fmt(r[k]) end
  return table.concat(parts, "  ")
end

function M.main(args)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn inspect --help)", o) end
  local s = saved.load(o.model, { which = o.checkpoint, any_state = true })
  local st, m = s.state, s.model
  -- parameters: the rebuilt model's (in module order), else the file's tensors
  local params, total = {}, 0
  if m then
    for _, p in ipairs(m:parameters()) do
      params[#params + 1] = { name = p.name, shape = p.value:shape(), count = p.value:numel() }
    end
  else
    local names = {}
    for name in pairs(st.model or {}) do names[#names + 1] = name end
    table.sort(names)
    for _, name in ipairs(names) do
      local t = st.model[name]
      params[#params + 1] = { name = name, shape = t:shape(), count = t:numel() }
    end
  end
  for _, p in ipairs(params) do total = total + p.count end
  local hist = st.history or {}
  local t = st.train or {}
  local opt = st.optimizer and st.optimizer.config or {}
  local info = {
    file = s.path, bytes = lfs.attributes(s.path, "size"),
    format = { kind = checkpoint.KIND, version = checkpoint.VERSION,
      bundle = s.bundle and s.bundle.version or nil },
    step = st.step, epoch = st.data and st.data.epoch,
    model = m and tostring(m) or nil, spec = s.spec, num_parameters = total, parameters = params,
    labels = s.labels, vocab_size = s.vocab and s.vocab:size() or nil,
    tokenizer = s.tokenizer and s.tokenizer:state() or nil,
    optimizer = opt, history = hist,
    best = t.best and { value = t.best, epoch = t.best_epoch, step = t.best_step } or nil,
    config = s.config,
  }
  if o.json then
    print(json.object(info, { "file", "bytes", "format", "step", "epoch" }))
    return 0
  end
  print(("file        %s (%d bytes)"):format(s.path, info.bytes or 0))
  print(("format      %s version %d, %s"):format(checkpoint.KIND, checkpoint.VERSION,
    s.bundle and ("run bundle version %d"):format(s.bundle.version)
    or "no run bundle (not written by lurn train: no model description, labels or tokenizer)"))
  print(("position    step %s%s"):format(tostring(st.step), st.data and st.data.epoch
    and (", epoch %s, batch %s"):format(tostring(st.data.epoch), tostring(st.data.pos)) or ""))
  if m then
    print("")
    print("model")
    print("  " .. tostring(m):gsub("\n", "\n  "))
  end
  print("")
  print(("parameters  %d in %d tensors"):format(total, #params))
  for _, p in ipairs(params) do
    print(("  %-28s %-14s %10d"):format(p.name, tostring(p.shape), p.count))
  end
  print("")
  if s.labels then print(("labels      %s"):format(table.concat(s.labels, ", "))) end
  if s.tokenizer then
    local tk = s.tokenizer:state()
    print(("vocabulary  %d tokens; tokenizer %s%s, ngrams %d"):format(s.vocab:size(), tk.kind,
      tk.lower and ", lower-cased" or "", tk.ngrams or 1))
  end
  local groups = opt.groups and opt.groups[1] and opt.groups[1].config or opt
  if st.optimizer then
    print(("optimizer   %s%s"):format(tostring(opt.kind or "?"),
      type(groups) == "table" and groups.lr and ("  lr %.3g"):format(groups.lr) or ""))
  end
  if #hist > 0 then
    print(("metrics     %d evaluations; last (step %s): %s"):format(#hist, tostring(hist[#hist].step),
      record_line(hist[#hist])))
  end
  if info.best then
    print(("best        %s at step %s, epoch %s"):format(fmt(info.best.value),
      tostring(info.best.step), tostring(info.best.epoch)))
  end
  if next(s.config) then
    print("")
    print("config (resolved)")
    io.write(config_text(s.config))
  end
  return 0
end

return M
