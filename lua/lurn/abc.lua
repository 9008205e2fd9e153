--- lurn.abc — ABC music notation: tunes out of a text, and MIDI files through abc2midi.
--
--   local abc = require "lurn.abc"
--   for _, tune in ipairs(abc.tunes(text)) do ... end     -- each starts at its X: line
--   local r = abc.to_midi(tune, "out.mid")                 -- runs abc2midi (Debian's abcmidi)
--   r.ok, r.errors, r.warnings, r.notes, r.output
--
-- A tune "converts" when abc2midi reports no error for it and the MIDI
-- file it writes reads back (lurn.midi) with at least one note. abc2midi
-- always exits 0, so its messages are what tells: lines starting "Error"
-- count as errors, "Warning" as warnings.
local errors = require "lurn.errors"

local M = {}

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

--- Whether abc2midi is on the PATH.
-- @return true or false
-- @usage if not abc.available() then print("apt-get install -y abcmidi") end
function M.available()
  local ok = os.execute("command -v abc2midi >/dev/null 2>&1")
  return ok == true or ok == 0
end

--- The tunes of an ABC text: each runs from a line starting "X:" to the
-- next such line or an empty line (ABC's tune separator); text before the
-- first X: line (a file header, a partial tune) is left out.
-- @param text the ABC text
-- @return a list of tune texts, each ending with a newline
-- @usage local t = abc.tunes("% header\nX:1\nK:G\nGABc|\n\nX:2\nK:D\nDEF|\n")
-- print(#t, t[2])   --> 2  X:2 K:D DEF| (three lines)
function M.tunes(text)
  local out, cur = {}, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line:gsub("\r$", "")
    if line:match("^X:") then
      if cur then out[#out + 1] = table.concat(cur, "\n") .. "\n" end
      cur = { line }
    elseif line:match("^%s*$") then
      if cur then out[#out + 1] = table.concat(cur, "\n") .. "\n" end
      cur = nil
    elseif cur then
      cur[#cur + 1] = line
    end
  end
  if cur then out[#out + 1] = table.concat(cur, "\n") .. "\n" end
  return out
end

--- The first whole tune of a text: from an X: line to the empty line
-- that ends it (a tune cut off by the end of the text, as a sample of a
-- fixed length may be, does not count).
-- @param text the text
-- @return the tune's text (ending with a newline), or nil
-- @usage print(abc.first_whole_tune("GA|\nX:1\nK:G\nGABc|\n\nX:2\nK:D"))   --> X:1 K:G GABc| (X:2 is cut off)
function M.first_whole_tune(text)
  text = text:gsub("\r\n", "\n")
  local at = text:sub(1, 2) == "X:" and 1 or text:find("\nX:")
  while at do
    if text:sub(at, at) == "\n" then at = at + 1 end
    local stop = text:find("\n[ \t]*\n", at)
    if not stop then return nil end
    local tune = text:sub(at, stop)
    -- another X: line before the empty line starts a new tune: this one ended without one
    local inner = tune:find("\nX:")
    if not inner or inner >= #tune then return tune end
    at = at + inner   -- inner counts from the tune's start (it was taken from the text's: a loop)
  end
  return nil
end

--- The Nottingham Music Database writes a diminished chord as "C#d",
-- a chord name abc2midi does not know ("Unrecognized chord name"): this
-- line, put after a tune's X: line, defines it (a diminished triad:
-- root, minor third, diminished fifth).
-- @usage local tune = "X:1\nK:G\n\"G\"GABc \"C#d\"c2|\n"
-- if abc.available() then print(abc.to_midi(tune, nil, { preamble = abc.NOTTINGHAM_CHORDS }).ok) end
M.NOTTINGHAM_CHORDS = "%%MIDI chordname d 0 3 6"

--- Convert one tune to a MIDI file with abc2midi.
-- @param tune the tune's ABC text (from its X: line)
-- @param path the MIDI file to write (nil: a temporary file, removed after the check)
-- @param opts preamble: lines put after the tune's X: line (e.g. M.NOTTINGHAM_CHORDS)
-- @return {ok = converted, errors = n, warnings = n, notes = n, output = abc2midi's messages}
-- @usage if abc.available() then
--   local r = abc.to_midi("X:1\nT:Scale\nM:4/4\nL:1/8\nK:C\nCDEF GABc|\n")
--   print(r.ok, r.notes, r.errors)   --> true 8 0
-- end
function M.to_midi(tune, path, opts)
  opts = opts or {}
  if opts.preamble then
    tune = tune:gsub("^(X:[^\n]*\n)", function(x) return x .. opts.preamble .. "\n" end, 1)
  end
  if not M.available() then
    errors.raise("usage", "abc2midi is not installed: it turns ABC tunes into MIDI "
      .. "(Debian: apt-get install -y abcmidi)")
  end
  local dir = os.tmpname()
  os.remove(dir)
  local okd = os.execute("mkdir -m 700 " .. quote(dir))
  if not (okd == true or okd == 0) then errors.raise("data", "cannot make a temporary directory %s", dir) end
  local src, mid = dir .. "/tune.abc", dir .. "/tune.mid"
  local f = assert(io.open(src, "w"))
  f:write(tune)
  f:close()
  -- abc2midi writes next to its input when -o is missing: run it inside the temporary directory
  local p = io.popen(("cd %s && abc2midi tune.abc -o tune.mid 2>&1"):format(quote(dir)))
  local output = p:read("a")
  p:close()
  local r = { errors = 0, warnings = 0, notes = 0, output = output }
  for line in output:gmatch("[^\n]+") do
    if line:match("^Error") then r.errors = r.errors + 1
    elseif line:match("^Warning") then r.warnings = r.warnings + 1 end
  end
  local midi = require "lurn.midi"
  local okr, song = pcall(midi.read, mid)
  if okr then r.notes = #midi.notes(song) end
  r.ok = r.errors == 0 and okr and r.notes > 0
  if path and okr then
    local g = assert(io.open(mid, "rb"))
    local bytes = g:read("a")
    g:close()
    local core = require "lurn.core"
    local okw, err = pcall(core.write_file_atomic, path, bytes)
    if not okw then
      os.execute("rm -rf " .. quote(dir))
      errors.raise("data", "%s: cannot write the MIDI file: %s", path, tostring(err))
    end
  end
  os.execute("rm -rf " .. quote(dir))
  return r
end

return M
