--- lurn sample RUN_DIR|CHECKPOINT [--length N] [--temperature T] [--top-k K] [--prime TEXT]
--              [--seed N] [--checkpoint best|last] [--midi FILE]
--
-- Generates text from a language model (a run of task "lm"): the priming
-- text is read first (the recurrent state carries it), then tokens are
-- drawn one at a time from the softmax of the logits divided by the
-- temperature (0: always the most likely token), among the K most likely
-- (--top-k, 0: all), and printed as they are drawn. The same seed gives the
-- same text (at the same thread count). --midi FILE (ABC tunes, e.g. a
-- model of the Nottingham tunes) writes the first whole tune of the text
-- as a MIDI file with abc2midi.
--
-- A run of another task goes to its module: lurn.tasks.<task>.sample_main(args, s)
-- with the command's arguments as given and the loaded run (lurn.run.saved's s).
local argparse = require "argparse"
local errors = require "lurn.errors"
local saved = require "lurn.run.saved"

local M = {}

M.summary_text = "generate text from a language model (task lm)"

local function parser()
  local p = argparse("lurn sample", "Generate text from a trained language model.")
  p:add_help(false)
  p:usage("usage: lurn sample RUN_DIR|CHECKPOINT [options]")
  p:argument("model", "a run directory (its best checkpoint) or a checkpoint file")
      :argname("RUN_DIR|CHECKPOINT")
  p:option("--length", "tokens to generate (characters for a character model)", "500")
      :argname("N")
  p:option("--temperature", "divides the logits: below 1 safer, above 1 more varied; 0 picks "
    .. "the most likely token", "1"):argname("T")
  p:option("--top-k", "draw among the K most likely tokens only (0 = all)", "0"):argname("K")
  p:option("--prime", "text to read before generating (printed first)", ""):argname("TEXT")
  p:option("--seed", "random seed: the same seed gives the same text", "1"):argname("N")
  p:option("--checkpoint", "which checkpoint of a run directory", "best"):choices { "best", "last" }
  p:option("--midi", "ABC tunes: write the first whole tune of the text (from its X: line to "
    .. "an empty line) as a MIDI file, with abc2midi (Debian's abcmidi)"):argname("FILE")
  p:flag("-h --help", "show this help")
  p:epilog("Exit status: 0 done, 2 usage error, 4 checkpoint error (missing or damaged).\n"
    .. "See docs/lm.md.")
  return p
end

function M.help() return parser():get_help() end

-- Options that take a value: their values are not the run directory.
local VALUED = { ["--length"] = true, ["--temperature"] = true, ["--top-k"] = true,
  ["--prime"] = true, ["--seed"] = true, ["--checkpoint"] = true, ["--midi"] = true }

-- The run directory or checkpoint among the raw arguments (the first one
-- that is neither an option nor an option's value) and --checkpoint's value.
local function model_arg(args)
  local which, i = nil, 1
  while i <= #args do
    local a = args[i]
    if a == "--checkpoint" then which = args[i + 1] end
    local v = a:match("^%-%-checkpoint=(.*)$")
    if v then which = v end
    if VALUED[a] then
      i = i + 2
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      i = i + 1
    else
      return a, which
    end
  end
  return nil, which
end

local function number(v, name, min, integer)
  local x = tonumber(v)
  if x and integer then x = math.tointeger(x) end
  if not x or x ~= x or x < min or x == math.huge then
    errors.raise("usage", "%s must be %s >= %s, got '%s'", name,
      integer and "an integer" or "a number", tostring(min), tostring(v))
  end
  return x
end

function M.main(args)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local path, which = model_arg(args)
  if not path then errors.raise("usage", "lurn sample needs a run directory or checkpoint (try "
    .. "lurn sample --help)") end
  local s = saved.load(path, { which = which })
  if s.task ~= "lm" then
    local task = s.task and require("lurn.tasks").module(s.task)
    if task and task.sample_main then return task.sample_main(args, s) or 0 end
    errors.raise("usage", "%s is a %s run: lurn sample generates from language models (task = "
      .. "\"lm\")%s", s.path, s.task or "classify", s.task and "" or "; try lurn predict")
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn sample --help)", o) end
  local opts = {
    length = number(o.length, "--length", 0, true),
    temperature = number(o.temperature, "--temperature", 0),
    top_k = number(o.top_k, "--top-k", 0, true),
    seed = number(o.seed, "--seed", 0, true),
    prime = o.prime,
  }
  -- --midi needs abc2midi: refused before generating, not after
  local abc = o.midi and require "lurn.abc"
  if abc and not abc.available() then
    errors.raise("usage", "--midi: abc2midi is not installed; it turns ABC tunes into MIDI "
      .. "(Debian: apt-get install -y abcmidi)")
  end
  local text = {}
  require("lurn.tasks.lm").generate(s, opts, function(t)
    io.stdout:write(t)
    io.stdout:flush()
    if abc then text[#text + 1] = t end
  end)
  io.stdout:write("\n")
  if abc then M.write_midi(table.concat(text), o.midi) end
  return 0
end

--- The first whole ABC tune of a sampled text, written as a MIDI file by
-- abc2midi (lurn.abc; Nottingham's "d" chords defined). A text without a
-- whole tune, or a tune abc2midi reports errors for, is a data error and
-- writes nothing.
-- @param text the sampled text
-- @param path the MIDI file
function M.write_midi(text, path)
  local abc = require "lurn.abc"
  local tune = abc.first_whole_tune(text)
  if not tune then
    errors.raise("data", "--midi: the sampled text holds no whole ABC tune (an X: line, the tune, "
      .. "then an empty line); try a larger --length, and --prime with a tune's first line (X: 1)")
  end
  local r = abc.to_midi(tune, nil, { preamble = abc.NOTTINGHAM_CHORDS })
  if not r.ok then
    local msgs = {}
    for line in r.output:gmatch("[^\n]+") do
      if line:match("^Error") then msgs[#msgs + 1] = "  " .. line end
    end
    errors.raise("data", "--midi: abc2midi does not convert the sampled tune (%d error(s)%s); "
      .. "nothing written:\n%s", r.errors, r.notes == 0 and ", no notes" or "",
      table.concat(msgs, "\n"))
  end
  abc.to_midi(tune, path, { preamble = abc.NOTTINGHAM_CHORDS })
  io.stderr:write(("wrote %s (the tune \"%s\", %d notes, by abc2midi)\n"):format(path,
    tune:match("\nT:%s*([^\n]*)") or "untitled", r.notes))
end

return M
