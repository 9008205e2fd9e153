/*
 * fuzz_stream.c — libFuzzer harness for the language-model text path
 * (lurn.tasks.lm.prepare: data.train read whole, cut into character or word
 * tokens by lurn.text.stream, a vocabulary, ids, the parallel streams; the
 * vocabulary's checkpoint form through the JSON the checkpoint stores it
 * in) and for the ABC tune splitter (lurn.abc.tunes, first_whole_tune) that
 * the Nottingham folk tunes and `lurn sample`'s ABC output go through.
 * Run by tests/fuzz/run.sh.
 *
 * The input is the text file after a first byte that picks the tokenizer
 * (char or word), lowercasing, lm.valid_fraction (0 or 0.25) and the word
 * vocabulary's min_count and max_vocab. The property: character tokens are
 * single code points or single bytes that join back into the text; word
 * tokens are non-empty, space-free, with one <eos> per line; ids are
 * inside the vocabulary; the vocabulary's saved form reads back the same;
 * streams hold the ids in order — or prepare fails with a user error naming
 * the file (FUZZ_OUTCOME). Every ABC tune starts with "X:", ends with a
 * newline and holds no empty line. Never a crash or a raw Lua error.
 */
#include "fuzz_lua.h"

static char dir[] = "/dev/shm/lurn_fuzz_stream_XXXXXX";

static const char *DRIVER =
    "local dir = ...\n" FUZZ_OUTCOME
    "local core = require 'lurn.core'\n"
    "local lm = require 'lurn.tasks.lm'\n"
    "local stream = require 'lurn.text.stream'\n"
    "local abc = require 'lurn.abc'\n"
    "return function(input)\n"
    "  if #input < 1 then return end\n"
    "  local b = input:byte(1)\n"
    "  local text = input:sub(2)\n"
    "  local path = dir .. '/text.txt'\n"
    "  local f = assert(io.open(path, 'wb')); f:write(text); f:close()\n"
    "  local kind = (b & 1) ~= 0 and 'word' or 'char'\n"
    "  local cfg = { data = { train = path, valid = '', min_count = (b & 4) ~= 0 and 2 or 1,\n"
    "      max_vocab = (b & 8) ~= 0 and 5 or 0 },\n"
    "    lm = { tokenizer = kind, lower = (b & 2) ~= 0, valid_fraction = (b & 16) ~= 0 and 0.25 or 0 } }\n"
    "  local ok, d = pcall(lm.prepare, cfg)\n"
    "  if not ok then fuzz.refused(d, 'lm.prepare', { { path = path, text = text } })\n"
    "  else\n"
    "    local toks = stream.tokens(text, kind, cfg.lm.lower)\n"
    "    if kind == 'char' then\n"
    "      assert(table.concat(toks) == text, 'char tokens do not join back into the text')\n"
    "      for _, t in ipairs(toks) do\n"
    "        assert(#t == 1 or (utf8.len(t) == 1), 'char token ' .. ('%q'):format(t))\n"
    "      end\n"
    "    else\n"
    "      local eos = 0\n"
    "      for _, t in ipairs(toks) do\n"
    "        assert(#t > 0 and not t:find('%s'), 'word token ' .. ('%q'):format(t))\n"
    "        if t == stream.EOS then eos = eos + 1 end\n"
    "      end\n"
    "      assert(eos >= (text == '' and 0 or fuzz.lines(text)), 'fewer <eos> than lines')\n"
    "    end\n"
    "    local V = d.vocab:size()\n"
    "    local n = d.train:numel() + (d.valid and d.valid:numel() or 0)\n"
    "    assert(n == #toks, ('%d ids for %d tokens'):format(n, #toks))\n"
    "    for _, ids in ipairs { d.train, d.valid } do\n"
    "      for i = 1, ids:numel() do\n"
    "        local id = ids:get(i)\n"
    "        assert(id >= 0 and id < V, 'id ' .. id .. ' outside the vocabulary of ' .. V)\n"
    "        if kind == 'char' then assert(d.vocab:token(id) == toks[i + (ids == d.valid and d.train:numel() or 0)], 'char id') end\n"
    "      end\n"
    "    end\n"
    "    -- the vocabulary as the checkpoint keeps it: JSON, then back (an empty\n"
    "    -- text has none to keep: the streams refuse it before any checkpoint)\n"
    "    if V > 0 then\n"
    "      local st = core.json_decode(core.json_encode(d.vocab:state()))\n"
    "      local v2 = stream.Vocab.from_state(st)\n"
    "      assert(v2:size() == V, 'vocabulary state: size')\n"
    "      for i = 0, V - 1 do assert(v2:token(i) == d.vocab:token(i), 'vocabulary state: token ' .. i) end\n"
    "    end\n"
    "    if d.train:numel() >= 5 then\n"
    "      local s = stream.Streams(d.train, { batch = 2, bptt = 3, what = path })\n"
    "      local seen = 0\n"
    "      for chunk in s:batches() do\n"
    "        assert(chunk.ids:size(2) == 2 and chunk.targets:size(2) == 2, 'streams: width')\n"
    "        assert(chunk.ids:get(1, 1) == d.train:get(seen + 1), 'streams: order')\n"
    "        seen = seen + chunk.ids:size(1)\n"
    "      end\n"
    "      assert(seen == s.L, 'streams: length')\n"
    "    end\n"
    "  end\n"
    "  -- ABC tunes out of the same text\n"
    "  for _, tune in ipairs(abc.tunes(text)) do\n"
    "    assert(tune:sub(1, 2) == 'X:' and tune:sub(-1) == '\\n', 'abc.tunes: ' .. ('%q'):format(tune))\n"
    "    assert(not tune:find('\\n[ \\t\\r]*\\n'), 'abc.tunes: an empty line inside a tune')\n"
    "  end\n"
    "  local t = abc.first_whole_tune(text)\n"
    "  if t then\n"
    "    assert(t:sub(1, 2) == 'X:' and t:sub(-1) == '\\n', 'first_whole_tune: ' .. ('%q'):format(t))\n"
    "    assert(text:gsub('\\r\\n', '\\n'):find(t, 1, true), 'first_whole_tune: not in the text')\n"
    "  end\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  fuzz_lua_run("fuzz_stream", dir, DRIVER, in, n);
  return 0;
}
