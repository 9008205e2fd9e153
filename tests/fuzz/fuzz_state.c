/*
 * fuzz_state.c — libFuzzer harness for training-state validation
 * (lurn.checkpoint.load's schema, checkpoint.restore and a train.fit resume),
 * the Lua code between a downloaded checkpoint and the training loop. Run by
 * tests/fuzz/run.sh (from the repository root: lua/ is on package.path).
 *
 * The input is a JSON object {"<part>": <value>, ...} giving the metadata
 * parts of a training state ("kind", "data", "train", "optimizer", "step",
 * ...), plus optionally "drop": [tensor names] and "add": {name: [shape]}
 * (zero tensors, at most 4096 elements). The harness writes that state
 * with the tensors of a real 2-step run (checksums are right, as in a
 * crafted file), then loads, restores and resumes it for one step.
 * The property: every refusal is an error message that starts with the
 * file's path (or "train.fit: " for the loop's own checks) and carries no
 * Lua source position (a raw error from inside the library, even one
 * wrapped with the path) — and never a crash.
 */
#include "fuzz_lua.h"

static char dir[] = "/dev/shm/lurn_fuzz_state_XXXXXX";

static const char *DRIVER =
    "local dir = ...\n"
    "local lurn = require 'lurn'\n"
    "local core, nn, optim, data = lurn.core, lurn.nn, lurn.optim, lurn.data\n"
    "local checkpoint, train = lurn.checkpoint, lurn.train\n"
    "local function ds() local s, l = {}, {}\n"
    "  for i = 1, 6 do s[i] = { 2 + i % 4, 2 + (i * 3) % 5 }; l[i] = i % 2 end\n"
    "  return data.Dataset { seqs = s, labels = l } end\n"
    "local function setup() lurn.seed(1)\n"
    "  local m = nn.Sequential { nn.Embedding(8, 3, { padding = 0 }), nn.GRU(3, 4),\n"
    "    nn.Pool('last'), nn.Linear(4, 2) }\n"
    "  local o = optim.Adam(m:parameters(), { lr = 0.01 })\n"
    "  return m, o, optim.CosineLR(o, { total = 20, warmup = 2 }) end\n"
    "local m, o, sc = setup()\n"
    "train.fit { model = m, loss = nn.CrossEntropy(), optimizer = o, train_data = ds(),\n"
    "  schedule = sc, schedule_every = 'step',\n"
    "  batch_size = 2, max_steps = 2, checkpoint_dir = dir .. '/base', checkpoint_every = 1,\n"
    "  progress = 'none' }\n"
    "local base_t = core.load_checkpoint(dir .. '/base/step-00000002.ckpt')\n"
    "local path = dir .. '/x.ckpt'\n"
    "local function ours(err) err = tostring(err)\n"
    "  err = err:gsub('^%[string \"[^\"]*\"%]:%d+: ', '', 1)  -- user_error: at the driver's call\n"
    "  if err:find('%.lua:%d+: ') then return false end\n"
    "  return err:sub(1, #path + 2) == path .. ': ' or err:sub(1, 11) == 'train.fit: ' end\n"
    "return function(input)\n"
    "  local ok, spec = pcall(core.json_decode, input)\n"
    "  if not ok or type(spec) ~= 'table' then return end\n"
    "  local tensors = {}\n"
    "  for k, t in pairs(base_t) do tensors[k] = t end\n"
    "  if type(spec.drop) == 'table' then\n"
    "    for _, k in ipairs(spec.drop) do if type(k) == 'string' then tensors[k] = nil end end end\n"
    "  if type(spec.add) == 'table' then\n"
    "    for k, sh in pairs(spec.add) do\n"
    "      if type(k) == 'string' and type(sh) == 'table' and #sh <= 4 then\n"
    "        local n, good = 1, true\n"
    "        for _, d in ipairs(sh) do good = good and math.type(d) == 'integer' and d >= 0 and d <= 64\n"
    "          n = good and n * d or n end\n"
    "        if good and n <= 4096 then tensors[k] = lurn.zeros(table.unpack(sh)) end\n"
    "      end end end\n"
    "  spec.drop, spec.add = nil, nil\n"
    "  local meta = {}\n"
    "  for k, v in pairs(spec) do\n"
    "    local okk, s = pcall(core.json_encode, v)\n"
    "    if not okk then return end\n"
    "    meta[k] = s end\n"
    "  if not pcall(core.save_checkpoint, path, tensors, meta) then return end\n"
    "  local okl, s = pcall(checkpoint.load, path)\n"
    "  if not okl then if not ours(s) then error('load: ' .. tostring(s), 0) end return end\n"
    "  local m2, o2, sc2 = setup()\n"
    "  local okr, err = pcall(checkpoint.restore, s, { model = s.model and m2 or nil,\n"
    "    optimizer = s.optimizer and o2 or nil, schedule = s.schedule and sc2 or nil,\n"
    "    rng = s.rng ~= nil })\n"
    "  if not okr then if not ours(err) then error('restore: ' .. tostring(err), 0) end return end\n"
    "  if not (s.data and s.train and s.step and s.history) or s.step > 1e6 then return end\n"
    "  local m3, o3, sc3 = setup()\n"
    "  local okf, e3 = pcall(train.fit, { model = m3, loss = nn.CrossEntropy(), optimizer = o3,\n"
    "    schedule = sc3, schedule_every = 'step',\n"
    "    train_data = ds(), batch_size = 2, epochs = 3, max_steps = s.step + 1, resume = path,\n"
    "    progress = 'none' })\n"
    "  if not okf and not ours(e3) then error('fit: ' .. tostring(e3), 0) end\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  fuzz_lua_run("fuzz_state", dir, DRIVER, in, n);
  return 0;
}
