--- lurn predict RUN_DIR|CHECKPOINT [TEXT ...] [--top K] [--json] [--checkpoint best|last]
--
-- Labels texts with a trained model: one text per argument, or, with none,
-- one per line of standard input, answered line by line as they come (the
-- model loads once, so it streams in a pipe). Each answer is one line:
--   label<TAB>probability                       (--top K: K label/probability pairs)
--   {"text": ..., "label": ..., "probability": ..., "top": [...]}   (--json)
-- Everything needed (model, vocabulary, tokenizer, label names) is in the
-- checkpoint; no config code runs.
local argparse = require "argparse"
local lurn = require "lurn"
local core = require "lurn.core"
local errors = require "lurn.errors"
local saved = require "lurn.run.saved"
local json = require "lurn.run.json"

local M = {}

M.summary_text = "predict labels for texts with a checkpoint"

local function parser()
  local p = argparse("lurn predict", "Label texts with a trained model.")
  p:add_help(false)
  p:usage("usage: lurn predict RUN_DIR|CHECKPOINT [TEXT ...] [options]")
  p:argument("model", "a run directory (its best checkpoint) or a checkpoint file; an ensemble "
    .. "run's directory, or several paths joined by commas, predict as one model (the mean of "
    .. "their probabilities)"):argname("RUN_DIR|CHECKPOINT")
  p:argument("texts", "texts to label; none: one text per line of standard input")
      :args("*"):argname("TEXT")
  p:option("--top", "print the K most likely labels", "1"):convert(math.tointeger):argname("K")
  p:option("--checkpoint", "which checkpoint of a run directory", "best"):choices { "best", "last" }
  p:flag("--json", "one JSON object per text")
  p:flag("-h --help", "show this help")
  p:epilog("Exit status: 0 done, 2 usage error, 4 checkpoint error (missing or damaged).")
  return p
end

function M.help() return parser():get_help() end

-- Probabilities of every class for a list of texts: rows of a [N, C] tensor.
local function probabilities(s, texts)
  local ds = saved.encode(s, texts, nil, "input")
  local index = {}
  for i = 1, #texts do index[i] = i end
  local logits = s.model:forward(ds:make_batch(index))
  return core.softmax(logits)
end

local function answer(s, text, probs, row, k, as_json)
  local C = #s.labels
  local order = {}
  for c = 1, C do order[c] = { c, probs:get(row, c) } end
  -- by probability, ties by class order, so the output never depends on sort internals
  table.sort(order, function(a, b)
    if a[2] ~= b[2] then return a[2] > b[2] end
    return a[1] < b[1]
  end)
  if as_json then
    local top = {}
    for i = 1, math.min(k, C) do
      top[i] = { label = s.labels[order[i][1]], probability = order[i][2] }
    end
    return json.object({ text = text, label = top[1].label, probability = top[1].probability,
      top = top }, { "text", "label", "probability", "top" })
  end
  local parts = {}
  for i = 1, math.min(k, C) do
    parts[#parts + 1] = s.labels[order[i][1]]
    parts[#parts + 1] = ("%.4f"):format(order[i][2])
  end
  return table.concat(parts, "\t")
end

function M.main(args)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn predict --help)", o) end
  if not o.top or o.top < 1 then errors.raise("usage", "--top must be a positive integer") end
  local s = saved.load(o.model, { which = o.checkpoint })
  if s.task then   -- another task's run (lurn.tasks): it has no labels to predict
    local other = { forecast = " (try lurn forecast)", translate = " (try lurn translate)",
      lm = " (try lurn sample)" }
    errors.raise("usage", "%s: a run of task '%s'; lurn predict labels texts with a "
      .. "classification run%s", s.path, s.task, other[s.task] or "")
  end
  if #o.texts > 0 then
    local probs = probabilities(s, o.texts)
    for i, t in ipairs(o.texts) do print(answer(s, t, probs, i, o.top, o.json)) end
    return 0
  end
  -- standard input: one answer per line, written as soon as the line is read
  for line in io.stdin:lines() do
    local probs = probabilities(s, { line })
    io.stdout:write(answer(s, line, probs, 1, o.top, o.json), "\n")
    io.stdout:flush()
  end
  return 0
end

return M
