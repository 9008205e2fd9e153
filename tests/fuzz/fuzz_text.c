/*
 * fuzz_text.c — libFuzzer harness for the corpus readers and tokenizers
 * (lurn.text.read in every format, then the word and character tokenizers
 * and a vocabulary over what was read): the code between a data file
 * someone hands lurn and the training loop. Run by tests/fuzz/run.sh (from
 * the repository root: lua/ is on package.path).
 *
 * The first input byte picks the format (auto, tsv, csv, json, label_text,
 * fasttext) and the tokenizer options; the rest is the file's content.
 * The property: a read either returns texts and labels (strings, as many of
 * one as of the other, a count of dropped rows) that the tokenizers and the
 * vocabulary take without error, or fails with a "data" error object whose
 * message starts with the file's path and carries no Lua source position —
 * and never crashes.
 */
#include "fuzz_lua.h"

static char dir[] = "/dev/shm/lurn_fuzz_text_XXXXXX";

static const char *DRIVER =
    "local dir = ...\n"
    "local text = require 'lurn.text'\n"
    "local data = require 'lurn.data'\n"
    "local errors = require 'lurn.errors'\n"
    "local formats = { 'auto', 'tsv', 'csv', 'json', 'label_text', 'fasttext' }\n"
    "local exts = { '.txt', '.tsv', '.csv', '.json', '.txt', '.ft' }\n"
    "local function check_error(e, path, what)\n"
    "  if not errors.is(e, 'data') then error(what .. ': not a data error: ' .. tostring(e), 0) end\n"
    "  local m = tostring(e)\n"
    "  if m:sub(1, #path + 1) ~= path .. ':' then error(what .. ': message without the path: ' .. m, 0) end\n"
    "  if m:find('%.lua:%d+: ') then error(what .. ': Lua position in the message: ' .. m, 0) end\n"
    "end\n"
    "return function(input)\n"
    "  if #input < 1 then return end\n"
    "  local b = input:byte(1)\n"
    "  local k = b % #formats + 1\n"
    "  local path = dir .. '/corpus' .. exts[k]\n"
    "  local f = assert(io.open(path, 'wb'))\n"
    "  f:write(input:sub(2)); f:close()\n"
    "  local ok, r = pcall(text.read, path, { format = formats[k],\n"
    "    text_field = (b & 64) ~= 0 and 'text' or '', label_field = (b & 128) ~= 0 and 'label' or '' })\n"
    "  if not ok then check_error(r, path, formats[k]); return end\n"
    "  assert(type(r.texts) == 'table' and type(r.labels) == 'table', 'read: no texts or labels')\n"
    "  assert(#r.texts == #r.labels, 'read: texts and labels differ in number')\n"
    "  assert(math.type(r.dropped) == 'integer' and r.dropped >= 0, 'read: bad dropped count')\n"
    "  for i = 1, #r.texts do\n"
    "    assert(type(r.texts[i]) == 'string', 'read: text ' .. i .. ' is not a string')\n"
    "    assert(type(r.labels[i]) == 'string', 'read: label ' .. i .. ' is not a string')\n"
    "  end\n"
    "  local tok = text.Tokenizer.new { kind = (b & 8) ~= 0 and 'char' or 'word', lower = (b & 16) ~= 0,\n"
    "    ngrams = (b & 32) ~= 0 and 2 or 1 }\n"
    "  local seqs = {}\n"
    "  for i = 1, #r.texts do\n"
    "    local toks = tok:tokenize(r.texts[i])\n"
    "    for _, t in ipairs(toks) do assert(type(t) == 'string' and #t > 0, 'tokenize: empty token') end\n"
    "    seqs[i] = toks\n"
    "  end\n"
    "  local counts, total = text.counter(), 0\n"
    "  for i = 1, #r.texts do total = total + tok:count(r.texts[i], counts) end\n"
    "  local n = 0\n"
    "  for _, toks in ipairs(seqs) do n = n + #toks end\n"
    "  assert(total == n, 'count: ' .. total .. ' tokens counted, ' .. n .. ' tokenized')\n"
    "  local v = data.Vocab.build(seqs)\n"
    "  assert(v:size() >= 2, 'vocab: smaller than <pad>, <unk>')\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  fuzz_lua_run("fuzz_text", dir, DRIVER, in, n);
  return 0;
}
