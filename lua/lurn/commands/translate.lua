--- lurn translate RUN_DIR|CHECKPOINT [SENTENCE ...] [--beam N] [--alpha A] [--attention FILE.svg]
--
-- Translates with a trained translate run (task = "translate"): each argument
-- is a sentence, or, with none, each line of standard input, answered as it
-- comes (the model loads once, so it streams in a pipe; --batch N reads N
-- lines at a time, faster for files). One translation per line, in order.
-- --attention FILE.svg draws the attention matrix of the first sentence.
-- Beam size, length normalisation and the output length limit default to the
-- run's config (translate.beam, alpha, max_out); --beam 1 is greedy decoding.
local argparse = require "argparse"
local lurn = require "lurn"
local core = require "lurn.core"
local errors = require "lurn.errors"
local saved = require "lurn.run.saved"
local json = require "lurn.run.json"

local M = {}

M.summary_text = "translate sentences with a trained translate run"

local function parser()
  local p = argparse("lurn translate", "Translate sentences with a trained translation model.")
  p:add_help(false)
  p:usage("usage: lurn translate RUN_DIR|CHECKPOINT [SENTENCE ...] [options]")
  p:argument("model", "a run directory (its best checkpoint) or a checkpoint file")
      :argname("RUN_DIR|CHECKPOINT")
  p:argument("sentences", "sentences to translate; none: one per line of standard input")
      :args("*"):argname("SENTENCE")
  p:option("--beam", "beam size (1 = greedy; default: the run's translate.beam)")
      :convert(math.tointeger):argname("N")
  p:option("--alpha", "length normalisation: score / length^A (default: the run's)")
      :convert(tonumber):argname("A")
  p:option("--attention", "write the attention matrix of the first sentence as an SVG image")
      :argname("FILE.svg")
  p:option("--batch", "standard input: translate N lines at a time", "1")
      :convert(math.tointeger):argname("N")
  p:option("--checkpoint", "which checkpoint of a run directory", "best"):choices { "best", "last" }
  p:flag("--json", "one JSON object per sentence: source, translation, tokens, score")
  p:flag("-h --help", "show this help")
  p:epilog("Exit status: 0 done, 2 usage error, 4 checkpoint error (missing, damaged, or not a\n"
    .. "translate run). See docs/translation.md.")
  return p
end

function M.help() return parser():get_help() end

local function answer(line, r, as_json)
  if as_json then
    return json.object({ source = line, translation = r.text, tokens = r.tokens, score = r.score },
      { "source", "translation", "tokens", "score" })
  end
  return r.text
end

function M.main(args)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn translate --help)", o) end
  if o.beam ~= nil and o.beam < 1 then errors.raise("usage", "--beam must be a positive integer") end
  if o.alpha ~= nil and (o.alpha ~= o.alpha or o.alpha < 0) then
    errors.raise("usage", "--alpha must be a number >= 0")
  end
  if not o.batch or o.batch < 1 then errors.raise("usage", "--batch must be a positive integer") end
  if o.attention and not o.attention:match("%.svg$") then
    errors.raise("usage", "--attention %s: the file name must end in .svg", o.attention)
  end
  local s = saved.load(o.model, { which = o.checkpoint })
  if s.task ~= "translate" then
    errors.raise("usage", "%s is a %s run; lurn translate takes a run of task \"translate\"",
      o.model, tostring(s.task or "classify"))
  end
  local task = require "lurn.tasks.translate"
  local topts = { beam = o.beam, alpha = o.alpha }
  local first = true
  local function run(lines)
    topts.attention = first and o.attention ~= nil
    local outs = task.translate(s, lines, topts)
    if topts.attention then
      local r = outs[1]
      local src = #r.source > 0 and r.source or { "</s>" }
      local plot = require "lurn.seq2seq.plot"
      core.write_file_atomic(o.attention, plot.attention(src, r.tokens, r.attention,
        { title = lines[1] }))
      io.stderr:write(("attention of sentence 1 written to %s\n"):format(o.attention))
    end
    first = false
    for i, l in ipairs(lines) do io.stdout:write(answer(l, outs[i], o.json), "\n") end
    io.stdout:flush()
  end
  if #o.sentences > 0 then
    run(o.sentences)
    return 0
  end
  local chunk = {}
  for line in io.stdin:lines() do
    chunk[#chunk + 1] = line
    if #chunk >= o.batch then run(chunk); chunk = {} end
  end
  if #chunk > 0 then run(chunk) end
  if first and o.attention then
    errors.raise("usage", "--attention: no sentence to translate (standard input was empty)")
  end
  return 0
end

return M
