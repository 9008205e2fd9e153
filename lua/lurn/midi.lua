--- lurn.midi — Standard MIDI Files in plain Lua: a writer and a reader.
--
--   local midi = require "lurn.midi"
--   local song = midi.from_roll({ { 60, 64, 67 }, { 60, 64, 67 }, { 62 } },
--     { bpm = 90, ticks_per_step = 480 })          -- a piano roll: steps of MIDI pitches
--   midi.write("out.mid", song)                      -- format 1 (0 with song.format = 0)
--   local back = midi.read("out.mid")                -- the same events, ticks absolute
--   local roll = midi.to_roll(back, { ticks_per_step = 480 })
--
-- A song is plain data:
--
--   { format = 0 | 1, division = ticks per quarter note,
--     tracks = { { {tick = 0, type = "tempo", tempo = 500000}, -- microseconds per quarter
--                  {tick = 0, type = "note_on", channel = 0, note = 60, velocity = 80},
--                  {tick = 480, type = "note_off", channel = 0, note = 60, velocity = 0},
--                  ... }, ... } }
--
-- Event types: note_on, note_off (a note_on of velocity 0 reads as a
-- note_off, the usual running-status idiom), control (controller, value),
-- program (program), pitch_bend (value, 0..16383), key_pressure (note,
-- pressure), channel_pressure (pressure), tempo (tempo), track_name and
-- text (text), time_signature (numerator, denominator, clocks, thirty_seconds),
-- meta (meta = type byte, data), sysex (data). Ticks are absolute in the
-- song; the file stores deltas as variable-length quantities (7 bits a
-- byte, most significant first, the high bit set on all but the last).
-- The writer adds each track's end-of-track event itself; the reader
-- drops it.
--
-- The format is the MIDI Manufacturers Association's "Standard MIDI Files
-- 1.0": an MThd chunk (format, track count, division), then one MTrk chunk
-- per track. Bad files raise "data" errors (lurn.errors) naming the file
-- and the 1-based byte position.
local errors = require "lurn.errors"

local M = {}

--- The variable-length quantity of a non-negative integer below 2^28.
-- @param n the integer
-- @return the bytes, as a string (1 to 4 bytes)
-- @usage print(#midi.vlq(127), #midi.vlq(128), #midi.vlq(0x0FFFFFFF))   --> 1 2 4
function M.vlq(n)
  if math.type(n) ~= "integer" or n < 0 or n > 0x0FFFFFFF then
    error(("midi.vlq: expected an integer in 0..268435455, got %s"):format(tostring(n)), 2)
  end
  local bytes = { string.char(n & 0x7F) }
  n = n >> 7
  while n > 0 do
    table.insert(bytes, 1, string.char(0x80 | (n & 0x7F)))
    n = n >> 7
  end
  return table.concat(bytes)
end

-- ---- writing ---------------------------------------------------------------

local function u16(n) return string.pack(">I2", n) end
local function u32(n) return string.pack(">I4", n) end

local function check_range(ev, k, lo, hi, where)
  local v = ev[k]
  if math.type(v) ~= "integer" or v < lo or v > hi then
    error(("midi.encode: %s: %s must be an integer in %d..%d, got %s"):format(where, k, lo, hi,
      tostring(v)), 4)
  end
  return v
end

-- An event's bytes after its delta time.
local function event_bytes(ev, where)
  local t = ev.type
  local function ch(status)
    return string.char(status | check_range(ev, "channel", 0, 15, where))
  end
  if t == "note_on" or t == "note_off" then
    return ch(t == "note_on" and 0x90 or 0x80) .. string.char(check_range(ev, "note", 0, 127, where),
      check_range(ev, "velocity", 0, 127, where))
  elseif t == "key_pressure" then
    return ch(0xA0) .. string.char(check_range(ev, "note", 0, 127, where),
      check_range(ev, "pressure", 0, 127, where))
  elseif t == "control" then
    return ch(0xB0) .. string.char(check_range(ev, "controller", 0, 127, where),
      check_range(ev, "value", 0, 127, where))
  elseif t == "program" then
    return ch(0xC0) .. string.char(check_range(ev, "program", 0, 127, where))
  elseif t == "channel_pressure" then
    return ch(0xD0) .. string.char(check_range(ev, "pressure", 0, 127, where))
  elseif t == "pitch_bend" then
    local v = check_range(ev, "value", 0, 16383, where)
    return ch(0xE0) .. string.char(v & 0x7F, v >> 7)
  elseif t == "tempo" then
    return "\xFF\x51\x03" .. string.pack(">I3", check_range(ev, "tempo", 1, 0xFFFFFF, where))
  elseif t == "track_name" or t == "text" then
    local s = tostring(ev.text or "")
    return "\xFF" .. string.char(t == "text" and 0x01 or 0x03) .. M.vlq(#s) .. s
  elseif t == "time_signature" then
    local d = check_range(ev, "denominator", 1, 128, where)
    local p = 0
    while (1 << p) < d do p = p + 1 end
    if (1 << p) ~= d then
      error(("midi.encode: %s: denominator must be a power of 2, got %d"):format(where, d), 3)
    end
    return "\xFF\x58\x04" .. string.char(check_range(ev, "numerator", 1, 255, where), p,
      ev.clocks or 24, ev.thirty_seconds or 8)
  elseif t == "meta" then
    local s = tostring(ev.data or "")
    return "\xFF" .. string.char(check_range(ev, "meta", 0, 0x7E, where)) .. M.vlq(#s) .. s
  elseif t == "sysex" then
    local s = tostring(ev.data or "")
    return "\xF0" .. M.vlq(#s) .. s
  end
  error(("midi.encode: %s: unknown event type '%s'"):format(where, tostring(t)), 3)
end

-- At one tick, note_offs go first, so a note released and struck again at
-- the same tick sounds twice instead of being cut at once.
local ORDER = { tempo = 0, time_signature = 0, track_name = 0, text = 0, meta = 0, program = 1,
  control = 1, note_off = 2 }

--- A song as the bytes of a Standard MIDI File.
-- @param song {format = 0|1, division = ticks per quarter, tracks = {{events}, ...}}
-- @return a string
-- @usage local bytes = midi.encode(midi.from_roll({ { 60, 64, 67 } }))
-- print(bytes:sub(1, 4), #midi.decode(bytes).tracks)   --> MThd 2
function M.encode(song)
  if type(song) ~= "table" or type(song.tracks) ~= "table" then
    error("midi.encode: expected a song {format =, division =, tracks = {...}}", 2)
  end
  local format = song.format or 1
  if format ~= 0 and format ~= 1 then
    error(("midi.encode: format must be 0 or 1, got %s"):format(tostring(format)), 2)
  end
  if format == 0 and #song.tracks ~= 1 then
    error(("midi.encode: format 0 holds exactly one track, got %d"):format(#song.tracks), 2)
  end
  local division = song.division or 480
  if math.type(division) ~= "integer" or division < 1 or division > 0x7FFF then
    error(("midi.encode: division must be an integer in 1..32767, got %s"):format(tostring(division)), 2)
  end
  local chunks = { "MThd", u32(6), u16(format), u16(#song.tracks), u16(division) }
  for ti, track in ipairs(song.tracks) do
    local evs = {}
    for i, ev in ipairs(track) do
      local where = ("track %d, event %d"):format(ti, i)
      if math.type(ev.tick) ~= "integer" or ev.tick < 0 then
        error(("midi.encode: %s: tick must be a non-negative integer, got %s"):format(where,
          tostring(ev.tick)), 2)
      end
      evs[i] = { ev = ev, i = i, where = where }
    end
    table.sort(evs, function(a, b)
      if a.ev.tick ~= b.ev.tick then return a.ev.tick < b.ev.tick end
      local oa, ob = ORDER[a.ev.type] or 3, ORDER[b.ev.type] or 3
      if oa ~= ob then return oa < ob end
      return a.i < b.i
    end)
    local body, last = {}, 0
    for _, e in ipairs(evs) do
      body[#body + 1] = M.vlq(e.ev.tick - last) .. event_bytes(e.ev, e.where)
      last = e.ev.tick
    end
    body[#body + 1] = "\x00\xFF\x2F\x00"   -- end of track
    local data = table.concat(body)
    chunks[#chunks + 1] = "MTrk" .. u32(#data) .. data
  end
  return table.concat(chunks)
end

--- Write a song to a MIDI file, atomically (a temporary file renamed: the
-- file is whole or absent).
-- @param path the file to write
-- @param song as for encode
-- @usage local path = os.tmpname()
-- midi.write(path, midi.from_roll({ { 60 }, { 62 } }, { bpm = 120 }))
-- print(#midi.notes(midi.read(path)))   --> 2
-- os.remove(path)
function M.write(path, song)
  local bytes = M.encode(song)
  local core = require "lurn.core"
  local ok, err = pcall(core.write_file_atomic, path, bytes)
  if not ok then
    errors.raise("data", "%s: cannot write the MIDI file: %s", path, tostring(err))
  end
end

-- ---- reading ---------------------------------------------------------------

--- Read a variable-length quantity at 1-based byte position pos of s.
-- @param s the bytes
-- @param pos where the quantity starts
-- @param[opt] last the last byte it may use (a track's end; default the end of s)
-- @return the value and the position after it, or nil and a message
-- @usage print(midi.read_vlq("\x81\x00", 1))   --> 128 3
function M.read_vlq(s, pos, last)
  local n = 0
  for k = 0, 3 do
    local b = (not last or pos + k <= last) and s:byte(pos + k) or nil
    if not b then
      return nil, ("the %s ends inside a variable-length quantity"):format(last and "track" or "file")
    end
    n = (n << 7) | (b & 0x7F)
    if b < 0x80 then return n, pos + k + 1 end
  end
  return nil, "a variable-length quantity longer than 4 bytes"
end

local DATA_BYTES = { [0x8] = 2, [0x9] = 2, [0xA] = 2, [0xB] = 2, [0xC] = 1, [0xD] = 1, [0xE] = 2 }

-- The events of one MTrk chunk's data (bytes first..last of s).
local function read_track(s, first, last, fail)
  local events, pos, tick, status = {}, first, 0, nil
  local at   -- where the event being read starts (its delta time): what a cut-off names
  local function need(n, what)
    if pos + n - 1 > last then fail(at, "the track ends inside %s", what) end
  end
  while pos <= last do
    at = pos
    local delta, nxt = M.read_vlq(s, pos, last)
    if not delta then fail(pos, "%s", nxt) end
    pos = nxt
    tick = tick + delta
    need(1, "an event")
    local b = s:byte(pos)
    if b == 0xFF then
      need(2, "a meta event")
      local kind = s:byte(pos + 1)
      local len, after = M.read_vlq(s, pos + 2, last)
      if not len then fail(pos, "meta event 0x%02X: %s", kind, after) end
      if after + len - 1 > last then fail(pos, "meta event 0x%02X runs past the track's end", kind) end
      local data = s:sub(after, after + len - 1)
      local ev
      if kind == 0x2F then
        pos = after + len
        break   -- end of track
      elseif kind == 0x51 then
        if len ~= 3 then fail(pos, "tempo event of %d bytes (3 expected)", len) end
        ev = { type = "tempo", tempo = string.unpack(">I3", data) }
      elseif kind == 0x03 then
        ev = { type = "track_name", text = data }
      elseif kind == 0x01 then
        ev = { type = "text", text = data }
      elseif kind == 0x58 and len == 4 and data:byte(2) <= 7 then
        -- (a denominator above 2^7 is kept as a plain meta event: the writer
        -- takes 1..128, and 1 << 64 and beyond is 0 in Lua)
        ev = { type = "time_signature", numerator = data:byte(1), denominator = 1 << data:byte(2),
          clocks = data:byte(3), thirty_seconds = data:byte(4) }
      else
        ev = { type = "meta", meta = kind, data = data }
      end
      ev.tick = tick
      events[#events + 1] = ev
      pos = after + len
      status = nil   -- a meta event cancels running status
    elseif b == 0xF0 or b == 0xF7 then
      local len, after = M.read_vlq(s, pos + 1, last)
      if not len then fail(pos, "sysex event: %s", after) end
      if after + len - 1 > last then fail(pos, "sysex event runs past the track's end") end
      events[#events + 1] = { tick = tick, type = "sysex", data = s:sub(after, after + len - 1) }
      pos = after + len
      status = nil
    else
      if b >= 0x80 then
        if b >= 0xF0 then fail(pos, "system message 0x%02X is not allowed in a MIDI file", b) end
        status = b
        pos = pos + 1
      elseif not status then
        fail(pos, "data byte 0x%02X without a status byte (no running status to use)", b)
      end
      local n = DATA_BYTES[status >> 4]
      need(n, "a channel message")
      local d1, d2 = s:byte(pos, pos + n - 1)
      for k, d in ipairs { d1, d2 } do
        if d >= 0x80 then fail(pos + k - 1, "data byte 0x%02X has its high bit set", d) end
      end
      pos = pos + n
      local kind, ch = status >> 4, status & 0x0F
      local ev = { tick = tick, channel = ch }
      if kind == 0x9 and d2 > 0 then
        ev.type, ev.note, ev.velocity = "note_on", d1, d2
      elseif kind == 0x8 or kind == 0x9 then
        ev.type, ev.note, ev.velocity = "note_off", d1, kind == 0x8 and d2 or 0
      elseif kind == 0xA then
        ev.type, ev.note, ev.pressure = "key_pressure", d1, d2
      elseif kind == 0xB then
        ev.type, ev.controller, ev.value = "control", d1, d2
      elseif kind == 0xC then
        ev.type, ev.program = "program", d1
      elseif kind == 0xD then
        ev.type, ev.pressure = "channel_pressure", d1
      else
        ev.type, ev.value = "pitch_bend", d1 | (d2 << 7)
      end
      events[#events + 1] = ev
    end
  end
  return events
end

--- A song from the bytes of a Standard MIDI File (formats 0, 1 and 2).
-- @param bytes the file's contents
-- @param name the file's name, for error messages (default "MIDI data")
-- @return the song (ticks absolute; SMPTE timing gives division = nil and
--   smpte = {fps =, ticks_per_frame =})
-- @usage local song = midi.decode(midi.encode(midi.from_roll({ { 60 } })), "x.mid")
-- print(song.format, song.division, song.tracks[2][1].type)   --> 1 480 note_on
-- local ok, e = pcall(midi.decode, "RIFF....", "x.mid")   -- e.message: "x.mid: byte 1: not a Standard MIDI File ..."
function M.decode(bytes, name)
  name = name or "MIDI data"
  local function fail(pos, fmt, ...)
    errors.raise("data", "%s: byte %d: " .. fmt, name, pos, ...)
  end
  if type(bytes) ~= "string" then error("midi.decode: expected a string of bytes", 2) end
  if #bytes == 0 then errors.raise("data", "%s: empty file (not a Standard MIDI File)", name) end
  if bytes:sub(1, 4) ~= ("MThd"):sub(1, #bytes) then   -- a short file may be a cut-off header
    fail(1, "not a Standard MIDI File (no MThd header)")
  end
  if #bytes < 14 then fail(#bytes, "the file ends inside the MThd header (%d of 14 bytes)", #bytes) end
  local hlen = string.unpack(">I4", bytes, 5)
  if hlen < 6 or 8 + hlen > #bytes then fail(5, "header length %d is wrong", hlen) end
  local format, ntracks, division = string.unpack(">I2I2I2", bytes, 9)
  if format > 2 then fail(9, "format %d (0, 1 or 2 expected)", format) end
  local song = { format = format, tracks = {} }
  if division & 0x8000 ~= 0 then
    song.smpte = { fps = 256 - (division >> 8), ticks_per_frame = division & 0xFF }
  elseif division == 0 then
    fail(13, "division of 0 ticks per quarter note")
  else
    song.division = division
  end
  local pos = 9 + hlen
  while pos <= #bytes do
    if pos + 7 > #bytes then fail(pos, "a chunk header is cut short") end
    local id, len = bytes:sub(pos, pos + 3), string.unpack(">I4", bytes, pos + 4)
    local first, last = pos + 8, pos + 7 + len
    if last > #bytes then fail(pos, "chunk '%s' of %d bytes runs past the end of the file", id, len) end
    if id == "MTrk" then
      song.tracks[#song.tracks + 1] = read_track(bytes, first, last, fail)
    end   -- chunks of other types are skipped, as the standard asks
    pos = last + 1
  end
  if #song.tracks ~= ntracks then
    fail(11, "the header announces %d track(s), the file holds %d", ntracks, #song.tracks)
  end
  return song
end

--- Read a MIDI file.
-- @param path the file
-- @return the song (see decode)
-- @usage local path = os.tmpname()
-- midi.write(path, midi.from_roll({ { 60, 64 } }))
-- local song = midi.read(path)          -- a damaged file: a "data" error naming it and the byte
-- print(#song.tracks)   --> 2
-- os.remove(path)
function M.read(path)
  local f, err = io.open(path, "rb")
  if not f then errors.raise("data", "%s: cannot read: %s", path, (tostring(err):gsub("^.-: ", ""))) end
  local bytes = f:read("a")
  f:close()
  return M.decode(bytes, path)
end

-- ---- piano rolls -----------------------------------------------------------

--- Every note of a song: {note, channel, track, start, stop, velocity}
-- in ticks, ordered by start then pitch. A note_on without its note_off
-- ends at the track's last event.
-- @param song a song (decode's or from_roll's)
-- @usage for _, n in ipairs(midi.notes(midi.from_roll({ { 60 }, { 60, 64 } }))) do
--   print(n.note, n.start, n.stop)   --> 60 0 960, then 64 480 960
-- end
function M.notes(song)
  local out = {}
  for ti, track in ipairs(song.tracks) do
    local open, last = {}, 0
    local evs = {}
    for i, ev in ipairs(track) do evs[i] = ev; last = math.max(last, ev.tick) end
    -- the writer's order: at one tick, offs first
    table.sort(evs, function(a, b)
      if a.tick ~= b.tick then return a.tick < b.tick end
      return (a.type == "note_off" and 0 or 1) < (b.type == "note_off" and 0 or 1)
    end)
    for _, ev in ipairs(evs) do
      local key = (ev.channel or 0) * 128 + (ev.note or 0)
      if ev.type == "note_on" then
        if open[key] then   -- struck again while sounding: the old one ends here
          local n = open[key]; n.stop = ev.tick; out[#out + 1] = n
        end
        open[key] = { note = ev.note, channel = ev.channel, track = ti, start = ev.tick,
          velocity = ev.velocity }
      elseif ev.type == "note_off" and open[key] then
        local n = open[key]; n.stop = ev.tick; out[#out + 1] = n
        open[key] = nil
      end
    end
    for _, n in pairs(open) do n.stop = last; out[#out + 1] = n end
  end
  table.sort(out, function(a, b)
    if a.start ~= b.start then return a.start < b.start end
    if a.note ~= b.note then return a.note < b.note end
    return a.track < b.track
  end)
  return out
end

--- A song from a piano roll.
-- @param roll a list of steps, each a list of MIDI pitches (0..127) sounding then
-- @param opts ticks_per_step (default 480, with division 480: one quarter
--   note), division (480), bpm (quarter notes per minute, 100), velocity
--   (80), channel (0), program (nil: none), format (1: a tempo track and a
--   note track; 0: one track), hold (true: a pitch on in consecutive steps
--   is one held note; false: struck again at every step), name (track name)
-- @usage local song = midi.from_roll({ { 60, 64, 67 }, {}, { 62 } }, { bpm = 90, program = 0 })
-- print(song.format, #song.tracks, #midi.notes(song))   --> 1 2 4
function M.from_roll(roll, opts)
  opts = opts or {}
  local division = opts.division or 480
  local tps = opts.ticks_per_step or division
  local bpm = opts.bpm or 100
  local vel, chan = opts.velocity or 80, opts.channel or 0
  local hold = opts.hold ~= false
  if math.type(tps) ~= "integer" or tps < 1 then
    error(("midi.from_roll: ticks_per_step must be a positive integer, got %s"):format(tostring(tps)), 2)
  end
  if type(bpm) ~= "number" or bpm <= 0 then
    error(("midi.from_roll: bpm must be positive, got %s"):format(tostring(bpm)), 2)
  end
  local tempo = math.max(1, math.min(0xFFFFFF, math.floor(60e6 / bpm + 0.5)))
  local head = { { tick = 0, type = "tempo", tempo = tempo } }
  local notes = {}
  if opts.name then notes[1] = { tick = 0, type = "track_name", text = opts.name } end
  if opts.program then notes[#notes + 1] = { tick = 0, type = "program", channel = chan,
    program = opts.program } end
  local sounding = {}
  local function off(p, tick)
    notes[#notes + 1] = { tick = tick, type = "note_off", channel = chan, note = p, velocity = 0 }
    sounding[p] = nil
  end
  for t, step in ipairs(roll) do
    local tick = (t - 1) * tps
    local now = {}
    for _, p in ipairs(step) do
      if math.type(p) ~= "integer" or p < 0 or p > 127 then
        error(("midi.from_roll: step %d: pitch %s is not a MIDI pitch (0..127)"):format(t,
          tostring(p)), 2)
      end
      now[p] = true
    end
    local ending = {}
    for p in pairs(sounding) do
      if not now[p] or not hold then ending[#ending + 1] = p end
    end
    table.sort(ending)
    for _, p in ipairs(ending) do off(p, tick) end
    local starting = {}
    for p in pairs(now) do if not sounding[p] then starting[#starting + 1] = p end end
    table.sort(starting)
    for _, p in ipairs(starting) do
      notes[#notes + 1] = { tick = tick, type = "note_on", channel = chan, note = p, velocity = vel }
      sounding[p] = true
    end
  end
  local rest = {}
  for p in pairs(sounding) do rest[#rest + 1] = p end
  table.sort(rest)
  for _, p in ipairs(rest) do off(p, #roll * tps) end
  if opts.format == 0 then
    for _, ev in ipairs(notes) do head[#head + 1] = ev end
    return { format = 0, division = division, tracks = { head } }
  end
  return { format = 1, division = division, tracks = { head, notes } }
end

--- A piano roll from a song: step s (1-based) holds the pitches whose
-- notes sound at the step's first tick, (s - 1) * ticks_per_step.
-- @param song a song
-- @param opts ticks_per_step (default: the song's division, one quarter
--   note), max_steps (default 1000000: a longer roll is a "data" error, so
--   a file whose huge delta times would make one costs no memory or time)
-- @return a list of steps, each a sorted list of pitches
-- @usage local roll = midi.to_roll(midi.from_roll({ { 60, 64 }, { 62 } }))   -- {{60, 64}, {62}}
function M.to_roll(song, opts)
  opts = opts or {}
  local tps = opts.ticks_per_step or song.division or 480
  local max_steps = opts.max_steps or 1000000
  local notes = M.notes(song)
  local steps = 0
  for _, n in ipairs(notes) do steps = math.max(steps, (n.stop + tps - 1) // tps) end
  if steps > max_steps then
    errors.raise("data", "midi.to_roll: the roll would have %d steps of %d ticks, more than "
      .. "max_steps = %d", steps, tps, max_steps)
  end
  -- A note sounds at the 0-based steps first..last: from the first step
  -- boundary at or after its start to the last one before its stop. One
  -- sweep over the steps with a count per sounding pitch (not a pass over
  -- every step of every note, which long notes would make slow).
  local starts, ends = {}, {}
  for _, n in ipairs(notes) do
    local first, last = (n.start + tps - 1) // tps, (n.stop - 1) // tps
    if first <= last then
      local a, b = starts[first] or {}, ends[last] or {}
      a[#a + 1], b[#b + 1] = n.note, n.note
      starts[first], ends[last] = a, b
    end
  end
  local count, roll = {}, {}
  for s = 0, steps - 1 do
    for _, p in ipairs(starts[s] or {}) do count[p] = (count[p] or 0) + 1 end
    local step = {}
    for p in pairs(count) do step[#step + 1] = p end
    table.sort(step)
    roll[s + 1] = step
    for _, p in ipairs(ends[s] or {}) do
      count[p] = count[p] - 1
      if count[p] == 0 then count[p] = nil end
    end
  end
  return roll
end

return M
