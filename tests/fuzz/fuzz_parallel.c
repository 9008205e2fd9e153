/*
 * fuzz_parallel.c — libFuzzer harness for the parallel-corpus reader of the
 * translate task (lurn.seq2seq.data: read_pair, the 13a tokeniser, the
 * vocabularies, id lists and batches; what `lurn train` with task
 * "translate" and `lurn translate --bleu` do with PREFIX.SRC and
 * PREFIX.TGT), then corpus BLEU of one side against the other (what eval
 * computes on a user's references). Run by tests/fuzz/run.sh.
 *
 * The input is the two files: the source up to the first 0xFF byte (never
 * in UTF-8 text), the target after it (all of the input when there is
 * none; the target file is then empty). The first byte's bits pick the
 * options (lowercase, translate.max_len, min_count, max_vocab).
 * The property: read_pair returns as many source as target lines, all
 * strings without a newline, as many as the file has lines; tokens are
 * non-empty and space-free; ids are in the vocabulary; the vocabularies
 * read back from the JSON a checkpoint keeps them in; a batch has the
 * shapes and padding data.lua documents; BLEU is in [0, 100] — or the read
 * fails with a user error naming one of the files (FUZZ_OUTCOME), never a
 * crash or a raw Lua error.
 */
#include "fuzz_lua.h"

static char dir[] = "/dev/shm/lurn_fuzz_parallel_XXXXXX";

static const char *DRIVER =
    "local dir = ...\n" FUZZ_OUTCOME
    "local sd = require 'lurn.seq2seq.data'\n"
    "local bleu = require 'lurn.seq2seq.bleu'\n"
    "local data = require 'lurn.data'\n"
    "local core = require 'lurn.core'\n"
    "local function write(path, s) local f = assert(io.open(path, 'wb')); f:write(s); f:close() end\n"
    "return function(input)\n"
    "  if #input < 1 then return end\n"
    "  local b = input:byte(1)\n"
    "  local body = input:sub(2)\n"
    "  local cut = body:find('\\255', 1, true)\n"
    "  local a_text, b_text = cut and body:sub(1, cut - 1) or body, cut and body:sub(cut + 1) or ''\n"
    "  local prefix = dir .. '/corpus'\n"
    "  local files = { { path = prefix .. '.de', text = a_text }, { path = prefix .. '.en', text = b_text } }\n"
    "  write(files[1].path, a_text); write(files[2].path, b_text)\n"
    "  local ok, src, tgt = pcall(sd.read_pair, prefix, 'de', 'en')\n"
    "  if not ok then fuzz.refused(src, 'read_pair', files); return end\n"
    "  assert(#src == #tgt, 'read_pair: sides differ in length')\n"
    "  local want = a_text == '' and 0 or fuzz.lines(a_text)\n"
    "  assert(#src == want, ('read_pair: %d lines read, the file has %d'):format(#src, want))\n"
    "  for i = 1, #src do\n"
    "    assert(type(src[i]) == 'string' and not src[i]:find('[\\n\\0]'), 'source line ' .. i)\n"
    "    assert(type(tgt[i]) == 'string' and not tgt[i]:find('[\\n\\0]'), 'target line ' .. i)\n"
    "  end\n"
    "  local opts = { lower = (b & 1) ~= 0 }\n"
    "  local max_len = (b & 2) ~= 0 and 3 or 0\n"
    "  local st, tt = sd.tokenize_all(src, opts), sd.tokenize_all(tgt, opts)\n"
    "  for _, side in ipairs { st, tt } do\n"
    "    for _, toks in ipairs(side) do\n"
    "      for _, t in ipairs(toks) do assert(#t > 0 and not t:find('%s'), 'token ' .. ('%q'):format(t)) end\n"
    "    end\n"
    "  end\n"
    "  -- the task keeps pairs with both sides non-empty and within max_len\n"
    "  local ks, kt = {}, {}\n"
    "  for i = 1, #st do\n"
    "    local x, y = #st[i], #tt[i]\n"
    "    if x > 0 and y > 0 and (max_len == 0 or (x <= max_len and y <= max_len)) then\n"
    "      ks[#ks + 1], kt[#kt + 1] = st[i], tt[i]\n"
    "    end\n"
    "  end\n"
    "  local vopts = { min_count = (b & 4) ~= 0 and 2 or 1, max_size = (b & 8) ~= 0 and 6 or 0 }\n"
    "  local vs, vt = sd.build_vocab(ks, vopts), sd.build_vocab(kt, vopts)\n"
    "  assert(vs:size() >= 4 and vt:size() >= 4, 'vocabulary without the specials')\n"
    "  if vopts.max_size > 0 then assert(vs:size() <= 6 and vt:size() <= 6, 'max_vocab exceeded') end\n"
    "  -- the vocabularies as the checkpoint keeps them: JSON, then back\n"
    "  for _, v in ipairs { vs, vt } do\n"
    "    local v2 = data.Vocab.from_state(core.json_decode(core.json_encode(v:state())))\n"
    "    assert(v2:size() == v:size(), 'vocabulary state: size')\n"
    "    for i = 0, v:size() - 1 do assert(v2:token(i) == v:token(i), 'vocabulary state: token') end\n"
    "  end\n"
    "  local function ids(v, lists)\n"
    "    local out = {}\n"
    "    for i, t in ipairs(lists) do\n"
    "      out[i] = sd.encode(v, t, max_len)\n"
    "      for _, id in ipairs(out[i]) do assert(id >= 1 and id < v:size(), 'id ' .. id) end\n"
    "      local back = sd.decode(v, out[i])\n"
    "      assert(#back <= #t, 'decode: more tokens than encoded')\n"
    "    end\n"
    "    return out\n"
    "  end\n"
    "  if #ks > 0 then\n"
    "    local ds = sd.Dataset { src = ids(vs, ks), tgt = ids(vt, kt) }\n"
    "    local index = {}\n"
    "    for i = 1, math.min(ds:size(), 8) do index[i] = i end\n"
    "    local batch = ds:make_batch(index)\n"
    "    local S, B = batch.src:size(1), batch.src:size(2)\n"
    "    assert(B == #index, 'batch: width')\n"
    "    local T = batch.tgt_in:size(1)\n"
    "    assert(batch.targets:size(1) == T and batch.targets:size(2) == B, 'batch: targets shape')\n"
    "    for j, i in ipairs(index) do\n"
    "      local x, y = ds.seqs[i], ds.tgt[i]\n"
    "      assert(batch.src_lengths:get(j) == #x and batch.tgt_lengths:get(j) == #y + 1, 'batch: lengths')\n"
    "      assert(#x <= S and #y + 1 <= T, 'batch: a sequence longer than the batch')\n"
    "      assert(batch.tgt_in:get(1, j) == sd.BOS, 'batch: tgt_in does not start with <s>')\n"
    "      assert(batch.targets:get(#y + 1, j) == sd.EOS, 'batch: targets do not end with </s>')\n"
    "      for t = #y + 2, T do assert(batch.targets:get(t, j) == -100, 'batch: padding target') end\n"
    "    end\n"
    "  end\n"
    "  local r = bleu.corpus(src, tgt, { lowercase = opts.lower })\n"
    "  assert(r.score >= 0 and r.score <= 100 + 1e-9, 'bleu: score ' .. tostring(r.score))\n"
    "  assert(bleu.format(r):find('^BLEU = '), 'bleu: format')\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  fuzz_lua_run("fuzz_parallel", dir, DRIVER, in, n);
  return 0;
}
