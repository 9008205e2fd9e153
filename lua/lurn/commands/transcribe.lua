--- lurn transcribe RUN_DIR|CHECKPOINT [FILE.wav|DIR ...] [--beam N] [--json] [--checkpoint best|last]
--
-- Recognises spoken digits with a run of task "speech": each WAV file given,
-- every .wav file of a directory given (in name order), or, with no FILE,
-- one path per line of standard input, answered line by line as they come
-- (the model loads once, so it streams in a pipe). Each answer is one line:
--   path<TAB>digits                                  (a CTC run: a digit string;
--                                                     a classify run: one digit)
--   {"file": ..., "digits": ...}                     (--json)
-- A file that cannot be read is reported on standard error with its problem
-- and the others are still transcribed; the exit status is then 3.
local argparse = require "argparse"
local lfs = require "lfs"
local errors = require "lurn.errors"
local saved = require "lurn.run.saved"
local json = require "lurn.run.json"
local audio = require "lurn.audio"

local M = {}

M.summary_text = "recognise spoken digits in WAV files with a speech run"

local function parser()
  local p = argparse("lurn transcribe", "Recognise spoken digits in WAV files with a speech run.")
  p:add_help(false)
  p:usage("usage: lurn transcribe RUN_DIR|CHECKPOINT [FILE.wav|DIR ...] [options]")
  p:argument("model", "a run directory of task speech (its best checkpoint) or a checkpoint file")
      :argname("RUN_DIR|CHECKPOINT")
  p:argument("files", "WAV files or directories of them; none: one path per line of standard input")
      :args("*"):argname("FILE")
  p:option("--beam", "prefix beam search width (CTC runs; default: the run's speech.beam)")
      :convert(math.tointeger):argname("N")
  p:option("--checkpoint", "which checkpoint of a run directory", "best"):choices { "best", "last" }
  p:flag("--json", "one JSON object per file")
  p:flag("-h --help", "show this help")
  p:epilog("Exit status: 0 done, 2 usage error, 3 a file could not be read (the others are "
    .. "still transcribed), 4 checkpoint error.")
  return p
end

function M.help() return parser():get_help() end

-- The paths an argument stands for: a file, or a directory's .wav files.
local function expand(path)
  local mode = lfs.attributes(path, "mode")
  if mode ~= "directory" then return { path } end
  local out = {}
  for name in lfs.dir(path) do
    if name:match("%.[wW][aA][vV]$") then out[#out + 1] = path:gsub("/+$", "") .. "/" .. name end
  end
  table.sort(out)
  return out
end

function M.main(args)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn transcribe --help)", o) end
  if o.beam ~= nil and (not o.beam or o.beam < 1 or o.beam > 4096) then
    errors.raise("usage", "--beam must be an integer in 1..4096")
  end
  local s = saved.load(o.model, { which = o.checkpoint })
  if s.task ~= "speech" then
    errors.raise("usage", "%s is a %s run, not a speech run (task = \"speech\")", o.model,
      s.task or "classify")
  end
  local task = require "lurn.tasks.speech"
  local failed = 0
  local function one(path)
    local okr, res = pcall(function()
      return task.recognize(s, { audio.featurize(path, s.features) }, o.beam)[1]
    end)
    if not okr then
      if not errors.is(res) then error(res, 0) end
      io.stderr:write("lurn transcribe: ", tostring(res), "\n")
      failed = failed + 1
      return
    end
    if o.json then
      io.stdout:write(json.object({ file = path, digits = res }, { "file", "digits" }), "\n")
    else
      io.stdout:write(path, "\t", res, "\n")
    end
    io.stdout:flush()
  end
  if #o.files > 0 then
    for _, f in ipairs(o.files) do
      local list = expand(f)
      if #list == 0 then
        io.stderr:write("lurn transcribe: ", f, ": no .wav files in this directory\n")
        failed = failed + 1
      end
      for _, p in ipairs(list) do one(p) end
    end
  else
    for line in io.stdin:lines() do
      local p = line:gsub("\r$", "")
      if p ~= "" then for _, q in ipairs(expand(p)) do one(q) end end
    end
  end
  return failed > 0 and errors.EXIT.data or 0
end

return M
