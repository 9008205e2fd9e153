-- LuaUnit suite for lurn.midi: variable-length quantities against the
-- Standard MIDI File specification's table, files written and read back
-- (formats 0 and 1), a hand-written file with running status, piano rolls
-- through MIDI and back, and the reader's errors on damaged files.
local lu = require "luaunit"
local lurn = require "lurn"
local midi = require "lurn.midi"

local function hex(s) return (s:gsub(".", function(c) return ("%02X "):format(c:byte()) end)):gsub(" $", "") end
local function tmpname() return os.tmpname() end

TestVLQ = {}
function TestVLQ:test_spec_table()
  -- the examples of the SMF 1.0 specification
  local cases = { { 0, "00" }, { 0x40, "40" }, { 0x7F, "7F" }, { 0x80, "81 00" },
    { 0x2000, "C0 00" }, { 0x3FFF, "FF 7F" }, { 0x4000, "81 80 00" }, { 0x100000, "C0 80 00" },
    { 0x1FFFFF, "FF FF 7F" }, { 0x200000, "81 80 80 00" }, { 0x8000000, "C0 80 80 00" },
    { 0x0FFFFFFF, "FF FF FF 7F" } }
  for _, c in ipairs(cases) do
    local b = midi.vlq(c[1])
    lu.assertEquals(hex(b), c[2])
    local v, nxt = midi.read_vlq(b .. "\x55", 1)
    lu.assertEquals(v, c[1])
    lu.assertEquals(nxt, #b + 1)
  end
  lu.assertErrorMsgContains("0..268435455", midi.vlq, 0x10000000)
  lu.assertErrorMsgContains("0..268435455", midi.vlq, -1)
  lu.assertNil(midi.read_vlq("\x81\x80", 1))
  lu.assertNil(midi.read_vlq("\xFF\xFF\xFF\xFF\x01", 1))
end

TestFiles = {}
function TestFiles:test_round_trip_both_formats()
  for _, format in ipairs { 0, 1 } do
    local song = midi.from_roll({ { 60, 64, 67 }, { 60, 64, 67 }, { 62 }, {}, { 48, 72 } },
      { bpm = 90, format = format, program = 19, name = "test" })
    lu.assertEquals(song.format, format)
    local path = tmpname()
    midi.write(path, song)
    local back = midi.read(path)
    os.remove(path)
    lu.assertEquals(back.format, format)
    lu.assertEquals(back.division, 480)
    lu.assertEquals(#back.tracks, format == 0 and 1 or 2)
    lu.assertEquals(back.tracks[1][1].type, "tempo")
    lu.assertEquals(back.tracks[1][1].tempo, 666667)   -- 60e6 / 90 microseconds per quarter
    -- every event comes back, in the writer's order
    local want, got = {}, {}
    for _, tr in ipairs(song.tracks) do for _, e in ipairs(tr) do want[#want + 1] = e end end
    for _, tr in ipairs(back.tracks) do for _, e in ipairs(tr) do got[#got + 1] = e end end
    lu.assertEquals(#got, #want)
    local notes = midi.notes(back)
    lu.assertEquals(#notes, 6)   -- C E G held two steps, D, C3 and C5
    lu.assertEquals(notes[1].start, 0)
    lu.assertEquals(notes[1].stop, 960)
    lu.assertEquals(midi.to_roll(back), { { 60, 64, 67 }, { 60, 64, 67 }, { 62 }, {}, { 48, 72 } })
  end
end

function TestFiles:test_hand_written_file_with_running_status()
  -- format 0, 96 ticks per quarter; after the first note_on the status byte
  -- is left out (running status) and a note_on of velocity 0 ends each note
  local track = "\x00\xFF\x51\x03\x07\xA1\x20"            -- tempo 500000
      .. "\x00\x90\x3C\x40" .. "\x00\x40\x40"             -- C4 and E4 on (running status)
      .. "\x60\x3C\x00" .. "\x00\x40\x00"                 -- both off after 96 ticks
      .. "\x81\x40\x80\x43\x20"                           -- 192 ticks later: a note_off 0x80
      .. "\x00\xB0\x07\x64" .. "\x00\xC0\x05" .. "\x00\xE0\x00\x40"
      .. "\x00\xFF\x2F\x00"
  local bytes = "MThd\0\0\0\6\0\0\0\1\0\96" .. "MTrk" .. string.pack(">I4", #track) .. track
  local song = midi.decode(bytes, "hand.mid")
  lu.assertEquals(song.division, 96)
  local t = song.tracks[1]
  lu.assertEquals(#t, 9)
  lu.assertEquals({ t[1].type, t[1].tempo }, { "tempo", 500000 })
  lu.assertEquals({ t[3].type, t[3].note, t[3].velocity, t[3].tick }, { "note_on", 64, 64, 0 })
  lu.assertEquals({ t[4].type, t[4].note, t[4].tick }, { "note_off", 60, 96 })
  lu.assertEquals({ t[6].type, t[6].note, t[6].tick, t[6].velocity }, { "note_off", 67, 288, 32 })
  lu.assertEquals({ t[7].type, t[7].controller, t[7].value }, { "control", 7, 100 })
  lu.assertEquals({ t[8].type, t[8].program }, { "program", 5 })
  lu.assertEquals({ t[9].type, t[9].value }, { "pitch_bend", 8192 })
  -- and the writer's bytes for the same notes read back to the same notes
  local again = midi.decode(midi.encode(song))
  lu.assertEquals(midi.notes(again), midi.notes(song))
end

function TestFiles:test_damaged_files_are_data_errors()
  local good = midi.encode(midi.from_roll({ { 60 }, { 62 } }))
  local function msg(bytes)
    local ok, e = pcall(midi.decode, bytes, "x.mid")
    lu.assertFalse(ok)
    lu.assertEquals(e.code, "data")
    return e.message
  end
  lu.assertStrContains(msg("RIFF" .. good:sub(5)), "x.mid: byte 1: not a Standard MIDI File")
  lu.assertStrContains(msg(good:sub(1, #good - 3)), "runs past the end of the file")
  lu.assertStrContains(msg(good:sub(1, 10) .. "\0\3" .. good:sub(13)), "announces 3 track(s), the file holds 2")
  lu.assertStrContains(msg(good:sub(1, 8) .. "\0\3" .. good:sub(11)), "format 3")
  -- a data byte with no status before it
  local tr = "\x00\x3C\x40\x00\xFF\x2F\x00"
  lu.assertStrContains(msg("MThd\0\0\0\6\0\0\0\1\0\96MTrk" .. string.pack(">I4", #tr) .. tr),
    "byte 24: data byte 0x3C without a status byte")
  -- found by tests/fuzz/fuzz_midi.c: positions past the end of the file
  -- ("byte 1" of an empty file, "byte 98" of 97 for a cut-off channel
  -- message): an error names a byte inside the file
  lu.assertStrContains(msg(""), "x.mid: empty file (not a Standard MIDI File)")
  lu.assertStrContains(msg("MThd\0\0"), "x.mid: byte 6: the file ends inside the MThd header (6 of 14 bytes)")
  local cut = "\x00\xFF\x2F\x00"   -- the end-of-track, then a note_on cut after its status byte
  lu.assertStrContains(msg("MThd\0\0\0\6\0\0\0\1\0\96MTrk\0\0\0\3\x10\x90\x3C" .. cut),
    "x.mid: byte 23: the track ends inside a channel message")
  -- found by tests/fuzz/fuzz_midi.c (the long run): a variable-length
  -- quantity was read past its track's end (into the next chunk, or past
  -- the file: "byte 58" of 57); it now stops at the track's last byte
  local head = "MThd\0\0\0\6\0\0\0\1\0\96"
  lu.assertStrContains(msg(head .. "MTrk\0\0\0\4\x00\xFF\x01\x81"),
    "x.mid: byte 24: meta event 0x01: the track ends inside a variable-length quantity")
  lu.assertStrContains(msg("MThd\0\0\0\6\0\1\0\2\0\96MTrk\0\0\0\1\x81MTrk\0\0\0\4\x00\xFF\x2F\x00"),
    "x.mid: byte 23: the track ends inside a variable-length quantity")
  lu.assertStrContains(msg(head .. "MTrk\0\0\0\2\x00\xF0"),
    "x.mid: byte 24: sysex event: the track ends inside a variable-length quantity")
  -- found by tests/fuzz/fuzz_midi.c: a time signature's denominator is 2^byte;
  -- a byte of 64 or more made it 0 (Lua's shift), which the writer refuses:
  -- above 2^7 (the writer's limit) the event is kept as a plain meta event
  local ts = "\x00\xFF\x58\x04\x03\xFF\x18\x08\x00\xFF\x58\x04\x03\x02\x18\x08\x00\xFF\x2F\x00"
  local s2 = midi.decode("MThd\0\0\0\6\0\1\0\1\0\96MTrk" .. string.pack(">I4", #ts) .. ts)
  lu.assertEquals(s2.tracks[1][1], { tick = 0, type = "meta", meta = 0x58, data = "\x03\xFF\x18\x08" })
  lu.assertEquals(s2.tracks[1][2].denominator, 4)
  lu.assertEquals(midi.decode(midi.encode(s2)).tracks[1], s2.tracks[1])
  local ok, e = pcall(midi.read, "/nonexistent/x.mid")
  lu.assertFalse(ok)
  lu.assertStrContains(e.message, "/nonexistent/x.mid: cannot read")
end

function TestFiles:test_encode_refuses_bad_events()
  local song = { format = 1, division = 480, tracks = { { { tick = 0, type = "note_on", channel = 0,
    note = 128, velocity = 10 } } } }
  lu.assertErrorMsgContains("track 1, event 1: note must be an integer in 0..127", midi.encode, song)
  song.tracks[1][1] = { tick = -1, type = "note_on", channel = 0, note = 1, velocity = 1 }
  lu.assertErrorMsgContains("tick must be a non-negative integer", midi.encode, song)
  lu.assertErrorMsgContains("format 0 holds exactly one track", midi.encode,
    { format = 0, tracks = { {}, {} } })
  lu.assertErrorMsgContains("pitch 130 is not a MIDI pitch", midi.from_roll, { { 130 } })
end

TestRolls = {}
function TestRolls:test_random_rolls_round_trip()
  lurn.seed(4)
  for _, hold in ipairs { true, false } do
    local u = lurn.rand(40 * 12)
    local roll, k = {}, 0
    for t = 1, 40 do
      roll[t] = {}
      for p = 60, 71 do
        k = k + 1
        if u:get(k) < 0.3 then roll[t][#roll[t] + 1] = p end
      end
    end
    while #roll[#roll] == 0 do roll[#roll] = nil end   -- trailing silence has no events to keep it
    local song = midi.from_roll(roll, { hold = hold, ticks_per_step = 120, division = 480 })
    local back = midi.decode(midi.encode(song))
    lu.assertEquals(midi.to_roll(back, { ticks_per_step = 120 }), roll)
    -- held notes make fewer, longer notes than struck-again ones
    local n = #midi.notes(back)
    if hold then TestRolls.held = n else lu.assertTrue(n > TestRolls.held) end
  end
end

function TestRolls:test_long_rolls_are_refused_or_fast()
  -- found by tests/fuzz/fuzz_midi.c: a 40-byte file whose delta times add
  -- up to 2^28 ticks at 1 tick a step made to_roll build 268 million steps
  -- (minutes of CPU and gigabytes); now it is refused, and a long roll of
  -- long notes is one sweep over the steps
  local tr = "\x00\x90\x3C\x40\xFF\xFF\xFF\x7F\x80\x3C\x00\x00\xFF\x2F\x00"
  local song = midi.decode("MThd\0\0\0\6\0\0\0\1\0\1MTrk" .. string.pack(">I4", #tr) .. tr, "long.mid")
  local ok, e = pcall(midi.to_roll, song)
  lu.assertFalse(ok)
  lu.assertEquals(e.code, "data")
  lu.assertStrContains(e.message, "the roll would have 268435455 steps of 1 ticks, more than max_steps = 1000000")
  local notes = {}
  for p = 0, 127 do notes[#notes + 1] = { p } end
  local many = midi.from_roll(notes, { ticks_per_step = 200000 })   -- 128 notes, 200000 ticks each
  local t0 = os.clock()
  local roll = midi.to_roll(many, { ticks_per_step = 100, max_steps = 300000 })
  lu.assertEquals(#roll, 128 * 2000)
  lu.assertEquals(roll[1], { 0 })
  lu.assertEquals(roll[2000 * 5 + 1], { 5 })
  lu.assertTrue(os.clock() - t0 < 5)
end

os.exit(lu.LuaUnit.run())
