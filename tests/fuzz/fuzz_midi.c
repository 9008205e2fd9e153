/*
 * fuzz_midi.c — libFuzzer harness for the Standard MIDI File reader
 * (lurn.midi.read: files people hand lurn, and abc2midi's output that the
 * ABC checks read back), then its notes, its piano roll and a write-read
 * round trip. Run by tests/fuzz/run.sh.
 *
 * The input is the file, as is. The property: a read returns a song of
 * format 0..2, a division in 1..32767 or SMPTE timing, and tracks of
 * events of known types with ticks that never decrease and every field in
 * its MIDI range; its notes start before they stop; its roll (one step a
 * quarter note, at most 4096 steps asked for) has only the song's pitches
 * or is refused with a "data" error; a song the writer can represent reads
 * back with the same notes — or the read fails with a user error naming
 * the file and a byte inside it (FUZZ_OUTCOME), never a crash, a hang or a
 * raw Lua error.
 */
#include "fuzz_lua.h"

static char dir[] = "/dev/shm/lurn_fuzz_midi_XXXXXX";

static const char *DRIVER =
    "local dir = ...\n" FUZZ_OUTCOME
    "local midi = require 'lurn.midi'\n"
    "local errors = require 'lurn.errors'\n"
    "local RANGES = { channel = 15, note = 127, velocity = 127, pressure = 127, controller = 127,\n"
    "  value = 127, program = 127 }\n"
    "local TYPES = { note_on = 1, note_off = 1, key_pressure = 1, control = 1, program = 1,\n"
    "  channel_pressure = 1, pitch_bend = 1, tempo = 1, track_name = 1, text = 1,\n"
    "  time_signature = 1, meta = 1, sysex = 1 }\n"
    "local function note_keys(song)\n"
    "  local out = {}\n"
    "  for _, n in ipairs(midi.notes(song)) do\n"
    "    out[#out + 1] = table.concat({ n.start, n.stop, n.note, n.channel, n.track }, ' ')\n"
    "  end\n"
    "  table.sort(out)\n"
    "  return table.concat(out, ';')\n"
    "end\n"
    "return function(input)\n"
    "  local path = dir .. '/song.mid'\n"
    "  local f = assert(io.open(path, 'wb')); f:write(input); f:close()\n"
    "  local ok, song = pcall(midi.read, path)\n"
    "  if not ok then fuzz.refused(song, 'midi.read', { { path = path, text = input } }); return end\n"
    "  assert(song.format >= 0 and song.format <= 2, 'format')\n"
    "  if song.division then assert(song.division >= 1 and song.division <= 32767, 'division')\n"
    "  else assert(song.smpte and song.smpte.fps >= 1, 'timing') end\n"
    "  local pitches = {}\n"
    "  for ti, track in ipairs(song.tracks) do\n"
    "    local last = 0\n"
    "    for i, ev in ipairs(track) do\n"
    "      local where = 'track ' .. ti .. ' event ' .. i\n"
    "      assert(TYPES[ev.type], where .. ': type ' .. tostring(ev.type))\n"
    "      assert(math.type(ev.tick) == 'integer' and ev.tick >= last, where .. ': tick')\n"
    "      last = ev.tick\n"
    "      for k, hi in pairs(RANGES) do\n"
    "        local v = ev[k]\n"
    "        if v ~= nil and ev.type ~= 'pitch_bend' then assert(math.type(v) == 'integer' and v >= 0 and v <= hi, where .. ': ' .. k) end\n"
    "      end\n"
    "      if ev.type == 'pitch_bend' then assert(ev.value >= 0 and ev.value <= 16383, where .. ': bend') end\n"
    "      if ev.type == 'tempo' then assert(ev.tempo >= 0 and ev.tempo <= 0xFFFFFF, where .. ': tempo') end\n"
    "      if ev.type == 'time_signature' then\n"
    "        assert(math.type(ev.denominator) == 'integer' and ev.denominator >= 1, where .. ': denominator')\n"
    "      end\n"
    "      if ev.type == 'note_on' then pitches[ev.note] = true end\n"
    "    end\n"
    "  end\n"
    "  for _, n in ipairs(midi.notes(song)) do\n"
    "    assert(n.start <= n.stop and pitches[n.note], 'notes: note ' .. n.note .. ' ' .. n.start .. '..' .. n.stop)\n"
    "  end\n"
    "  local okr, roll = pcall(midi.to_roll, song, { max_steps = 4096 })\n"
    "  if okr then\n"
    "    assert(#roll <= 4096, 'to_roll: ' .. #roll .. ' steps')\n"
    "    for _, step in ipairs(roll) do\n"
    "      for k, p in ipairs(step) do assert(pitches[p] and (k == 1 or p > step[k - 1]), 'to_roll: pitch') end\n"
    "    end\n"
    "  else\n"
    "    assert(errors.is(roll, 'data') and roll.message:find('max_steps', 1, true), 'to_roll: ' .. tostring(roll))\n"
    "  end\n"
    "  -- a song the writer can represent reads back with the same notes\n"
    "  if song.division and song.format <= 1 then\n"
    "    local oke, bytes = pcall(midi.encode, song)\n"
    "    if oke then\n"
    "      local back = midi.decode(bytes, 'encoded')\n"
    "      assert(#back.tracks == #song.tracks, 'round trip: tracks')\n"
    "      assert(note_keys(back) == note_keys(song), 'round trip: notes differ')\n"
    "    end\n"
    "  end\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  fuzz_lua_run("fuzz_midi", dir, DRIVER, in, n);
  return 0;
}
