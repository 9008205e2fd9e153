/*
 * fuzz_pianoroll.c — libFuzzer harness for the piano-roll reader of the
 * pianoroll task (lurn.tasks.pianoroll.read: the JSB chorales' JSON, a
 * user's data.train / `lurn eval --data`), then the rolls and batches the
 * task trains on. Run by tests/fuzz/run.sh.
 *
 * The input is the JSON file after a first byte that picks the keyboard
 * (low = 21, keys = 88; or low = 43, keys = 54 as configs/jsb.lua has it).
 * The property: a read returns {pieces = list} or a table of the splits
 * train, valid and test; every list of pieces is a JSON list (nothing but
 * keys 1..n), every piece a non-empty list of steps, every step a list of
 * integer pitches on the keyboard; a batch of the first pieces holds a 1
 * exactly where a piece's step has a pitch (inputs: the same, one step
 * later) — or the read fails with a user error naming the file
 * (FUZZ_OUTCOME), never a crash or a raw Lua error.
 */
#include "fuzz_lua.h"

static char dir[] = "/dev/shm/lurn_fuzz_pianoroll_XXXXXX";

static const char *DRIVER =
    "local dir = ...\n" FUZZ_OUTCOME
    "local pianoroll = require 'lurn.tasks.pianoroll'\n"
    "local SPLITS = { train = true, valid = true, test = true }\n"
    "-- a JSON list as Lua reads it: keys 1..#t and nothing else\n"
    "local function list(t, what)\n"
    "  assert(type(t) == 'table', what .. ': not a table')\n"
    "  local n = 0\n"
    "  for k in pairs(t) do\n"
    "    assert(math.type(k) == 'integer' and k >= 1, what .. ': key ' .. tostring(k))\n"
    "    n = n + 1\n"
    "  end\n"
    "  assert(n == #t, what .. ': holes')\n"
    "end\n"
    "return function(input)\n"
    "  if #input < 1 then return end\n"
    "  local b = input:byte(1)\n"
    "  local text = input:sub(2)\n"
    "  local low, keys = 21, 88\n"
    "  if (b & 1) ~= 0 then low, keys = 43, 54 end\n"
    "  local path = dir .. '/rolls.json'\n"
    "  local f = assert(io.open(path, 'wb')); f:write(text); f:close()\n"
    "  local ok, r = pcall(pianoroll.read, path, { low = low, keys = keys })\n"
    "  if not ok then fuzz.refused(r, 'pianoroll.read', { { path = path, text = text } }); return end\n"
    "  assert(type(r) == 'table', 'read: not a table')\n"
    "  local lists = {}\n"
    "  for k, v in pairs(r) do\n"
    "    assert(k == 'pieces' or SPLITS[k], 'read: key ' .. tostring(k))\n"
    "    lists[#lists + 1] = v\n"
    "  end\n"
    "  assert(r.pieces == nil or #lists == 1, 'read: pieces beside splits')\n"
    "  for _, pieces in ipairs(lists) do\n"
    "    list(pieces, 'pieces')\n"
    "    for i, piece in ipairs(pieces) do\n"
    "      list(piece, 'piece ' .. i)\n"
    "      assert(#piece >= 1, 'piece ' .. i .. ': empty')\n"
    "      for t, step in ipairs(piece) do\n"
    "        list(step, 'piece ' .. i .. ' step ' .. t)\n"
    "        for _, p in ipairs(step) do\n"
    "          assert(math.type(p) == 'integer' and p >= low and p < low + keys, 'pitch ' .. tostring(p))\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    if #pieces > 0 then\n"
    "      local rolls = pianoroll.Rolls(pieces, { low = low, keys = keys })\n"
    "      local index = {}\n"
    "      for i = 1, math.min(#pieces, 3) do index[i] = i end\n"
    "      local batch = rolls:make_batch(index)\n"
    "      for bi, i in ipairs(index) do\n"
    "        local piece = pieces[i]\n"
    "        assert(batch.lengths:get(bi) == #piece, 'batch: length')\n"
    "        for t = 1, math.min(#piece, 64) do\n"
    "          local on = {}\n"
    "          for _, p in ipairs(piece[t]) do on[p - low + 1] = true end\n"
    "          for k = 1, keys do\n"
    "            local want = on[k] and 1 or 0\n"
    "            assert(batch.targets:get(t, bi, k) == want, 'batch: target')\n"
    "            if t < #piece then assert(batch.data:get(t + 1, bi, k) == want, 'batch: input') end\n"
    "          end\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  fuzz_lua_run("fuzz_pianoroll", dir, DRIVER, in, n);
  return 0;
}
