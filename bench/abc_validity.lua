-- bench/abc_validity.lua — how many sampled ABC tunes abc2midi converts (issue 11, 3a).
--
--   lurn bench/abc_validity.lua RUN_DIR [--tunes N] [--seed S] [--temperature T] [--top-k K]
--                               [--length L] [--prime TEXT] [--keep DIR] [--json]
--
-- Samples N tunes (default 100) from a character model of ABC tunes (a run of task "lm",
-- e.g. configs/nottingham-abc.lua): tune i is `lurn sample RUN_DIR --prime "X: 1<newline>"
-- --seed S+i-1` (S default 1; the prime is a tune's first line, its reference number) up to
-- its first whole tune (an X: line, the tune, an empty line; at most L
-- characters, default 2000). Each whole tune goes through abc2midi (lurn.abc.to_midi, with
-- Nottingham's "d" chord defined): it converts when abc2midi reports no error and the MIDI
-- file it writes holds at least one note. A sample with no whole tune within L characters
-- counts as not converted. Prints one line per tune and the share that converts; --keep DIR
-- writes each tune (tune-NNN.abc) and its abc2midi messages (tune-NNN.log) there.
-- The documented long setting is the default (100 tunes); tests run it with --tunes 3.
-- Exit status: 0 done (whatever the share), 2 usage error, 4 checkpoint error.
local lurn = require "lurn"
local argparse = require "argparse"
local errors = require "lurn.errors"
local abc = require "lurn.abc"
local json = require "lurn.run.json"

local p = argparse("abc_validity.lua", "Sample ABC tunes and count how many abc2midi converts.")
p:argument("run", "a run of task lm over ABC text"):argname("RUN_DIR")
p:option("--tunes", "tunes to sample", "100"):convert(math.tointeger)
p:option("--seed", "seed of the first tune (tune i: seed + i - 1)", "1"):convert(math.tointeger)
p:option("--temperature", "sampling temperature", "1"):convert(tonumber)
p:option("--top-k", "draw among the K most likely characters (0 = all)", "0"):convert(math.tointeger)
p:option("--length", "characters sampled at most per tune", "2000"):convert(math.tointeger)
p:option("--prime", "the text each sample starts from", "X: 1\n"):argname("TEXT")
p:option("--keep", "write each tune and abc2midi's messages into this directory"):argname("DIR")
p:flag("--json", "print the summary as one JSON object")

local function main(argv)
  local ok, o = p:pparse(argv)
  if not ok then errors.raise("usage", "%s (try --help)", o) end
  for _, k in ipairs { "tunes", "seed", "length", "top_k" } do
    if not o[k] or o[k] < 0 then errors.raise("usage", "--%s must be a non-negative integer", k:gsub("_", "-")) end
  end
  if not o.temperature or o.temperature < 0 then errors.raise("usage", "--temperature must be >= 0") end
  if not abc.available() then
    errors.raise("usage", "abc2midi is not installed (Debian: apt-get install -y abcmidi)")
  end
  local s = require("lurn.run.saved").load(o.run)
  if s.task ~= "lm" then errors.raise("usage", "%s is not a run of task lm", o.run) end
  if o.keep then lurn.mkdir(o.keep) end
  local lm = require "lurn.tasks.lm"
  local STOP = {}
  local n_conv, n_whole, n_notes, results = 0, 0, 0, {}
  local t0 = lurn.clock()
  for i = 1, o.tunes do
    local text, tune = {}, nil
    local okg, err = pcall(lm.generate, s, { length = o.length, temperature = o.temperature,
      top_k = o.top_k, seed = o.seed + i - 1, prime = o.prime }, function(t)
      text[#text + 1] = t
      if t:find("\n", 1, true) then
        tune = abc.first_whole_tune(table.concat(text))
        if tune then error(STOP, 0) end
      end
    end)
    if not okg and err ~= STOP then error(err, 0) end
    local r = tune and abc.to_midi(tune, nil, { preamble = abc.NOTTINGHAM_CHORDS })
    local rec = { tune = i, seed = o.seed + i - 1, whole = tune ~= nil, converted = r and r.ok or false,
      errors = r and r.errors or nil, warnings = r and r.warnings or nil, notes = r and r.notes or 0,
      chars = tune and #tune or #table.concat(text),
      title = tune and tune:match("\nT:%s*([^\n]*)") or nil }
    results[i] = rec
    if rec.whole then n_whole = n_whole + 1 end
    if rec.converted then n_conv = n_conv + 1 end
    if r and r.notes > 0 then n_notes = n_notes + 1 end
    if o.keep then
      local f = assert(io.open(("%s/tune-%03d.abc"):format(o.keep, i), "w"))
      f:write(tune or table.concat(text)); f:close()
      f = assert(io.open(("%s/tune-%03d.log"):format(o.keep, i), "w"))
      f:write(r and r.output or "no whole tune within --length characters\n"); f:close()
    end
    if not o.json then
      print(("tune %3d  seed %-5d %-13s %s%s"):format(i, rec.seed,
        rec.converted and "converts" or (rec.whole and "fails" or "unfinished"),
        rec.whole and ("%d chars, %d notes, %d error(s), %d warning(s)"):format(rec.chars, rec.notes,
          rec.errors, rec.warnings) or ("no whole tune in %d chars"):format(rec.chars),
        rec.title and ("  T:" .. rec.title) or ""))
    end
  end
  local summary = { run = s.path, prime = o.prime, tunes = o.tunes, converted = n_conv, whole = n_whole,
    with_notes = n_notes, share = o.tunes > 0 and n_conv / o.tunes or 0, seed = o.seed,
    temperature = o.temperature, top_k = o.top_k, length = o.length,
    seconds = lurn.clock() - t0 }
  if o.json then
    summary.results = results
    print(json.encode(summary))
  else
    print(("converted %d of %d sampled tunes (%.1f %%); %d whole tunes, %d gave abc2midi a MIDI "
      .. "file with notes (errors or not); %s, prime '%s', temperature %g, seeds %d..%d, %.0f s")
      :format(n_conv, o.tunes, 100 * summary.share, n_whole, n_notes, s.path,
        (o.prime:gsub("\n", "\\n")), o.temperature, o.seed, o.seed + o.tunes - 1, summary.seconds))
  end
  return 0
end

local ok, err = pcall(main, arg)
if not ok then
  io.stderr:write("abc_validity: ", tostring(errors.is(err) and err.message or err), "\n")
  os.exit(errors.exit_code(err))
end
