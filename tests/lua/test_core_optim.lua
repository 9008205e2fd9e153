-- LuaUnit suite for the optimizer, clipping, checkpoint and JSON bindings of
-- lurn.core (src/lua/optim.c, src/lua/checkpoint.c). The update rules
-- themselves are checked number by number in tests/c/test_optim.c; here we
-- check that the bindings drive them correctly: state tables, defaults,
-- errors, files.
local lu = require "luaunit"
local lurn = require "lurn"
local core = lurn.core

local function close(a, b, tol)
  lu.assertTrue(math.abs(a - b) <= (tol or 1e-6), ("%.9g vs %.9g"):format(a, b))
end

local G = { { 0.5, -1 }, { -0.3, 0.2 }, { 0.1, 0.4 } }

local function run(step, hyper, state)
  local p = lurn.tensor { 1, -2 }
  state = state or {}
  for t = 1, 3 do lu.assertEquals(step(p, lurn.tensor(G[t]), state, hyper), t) end
  return p, state
end

TestOptimBindings = {}

function TestOptimBindings:test_adam_matches_hand_computed()
  -- same numbers as test_optim.c's test_adam
  local p, s = run(core.adam_step, { lr = 0.1 })
  close(p:get(1), 0.855453681)
  close(p:get(2), -1.83547343)
  lu.assertEquals(s.step, 3)
  close(s.exp_avg:get(1), 0.0235)
  lu.assertEquals(s.exp_avg:shape(), { 2 })
  lu.assertNil(s.max_exp_avg_sq)
end

function TestOptimBindings:test_every_optimizer_runs()
  local cases = {
    { core.sgd_step, { lr = 0.1, momentum = 0.9, nesterov = true }, 0.89035, "momentum_buffer" },
    { core.adamw_step, { lr = 0.1, weight_decay = 0.1, betas = { 0.9, 0.5 }, amsgrad = true },
      0.830201445, "max_exp_avg_sq" },
    { core.rmsprop_step, { lr = 0.01, alpha = 0.9, eps = 1e-3, momentum = 0.5, centered = true,
      weight_decay = 0.1 }, 0.947570672, "grad_avg" },
    { core.adagrad_step, { lr = 0.1, lr_decay = 0.5, weight_decay = 0.1,
      initial_accumulator_value = 0.2, eps = 1e-3 }, 0.925671351, "sum" },
  }
  for _, c in ipairs(cases) do
    local p, s = run(c[1], c[2])
    close(p:get(1), c[3])
    lu.assertNotNil(s[c[4]])
  end
end

function TestOptimBindings:test_lr_change_keeps_state()
  local p, s = lurn.tensor { 1, -2 }, {}
  for t = 1, 3 do core.adam_step(p, lurn.tensor(G[t]), s, { lr = t < 3 and 0.1 or 0.01 }) end
  close(p:get(1), 0.878310547)
  lu.assertEquals(s.step, 3)
end

function TestOptimBindings:test_state_can_be_restored()
  -- two steps, copy the state, one more step == three steps in a row
  local p1, s1 = run(core.rmsprop_step, { momentum = 0.9 })
  local p2, s2 = lurn.tensor { 1, -2 }, {}
  for t = 1, 2 do core.rmsprop_step(p2, lurn.tensor(G[t]), s2, { momentum = 0.9 }) end
  local copy = { step = s2.step }
  for k, v in pairs(s2) do if k ~= "step" then copy[k] = v:clone() end end
  core.rmsprop_step(p2, lurn.tensor(G[3]), copy, { momentum = 0.9 })
  lu.assertEquals(p2:totable(), p1:totable())
  lu.assertEquals(copy.step, 3)
end

function TestOptimBindings:test_defaults()
  local d = core.optim_defaults("adamw")
  lu.assertEquals(d.weight_decay, 0.01)
  lu.assertEquals(d.betas, { 0.9, 0.999 })
  lu.assertEquals(core.optim_defaults("adagrad").eps, 1e-10)
  lu.assertErrorMsgContains("unknown optimizer 'adamx'", core.optim_defaults, "adamx")
end

function TestOptimBindings:test_errors()
  local p, s = lurn.tensor { 1, 2 }, {}
  lu.assertErrorMsgContains("adam_step: grad has shape [3] but param has [2]",
    core.adam_step, p, lurn.tensor { 1, 2, 3 }, s, {})
  lu.assertErrorMsgContains("adam_step: unknown option 'momentum' (known: lr, betas",
    core.adam_step, p, lurn.tensor { 1, 2 }, s, { momentum = 0.9 })
  lu.assertErrorMsgContains("sgd_step: option 'lr' must be a number, got string",
    core.sgd_step, p, lurn.tensor { 1, 2 }, s, { lr = "fast" })
  lu.assertErrorMsgContains("adamw: invalid beta2 1 (needs 0 <= beta2 < 1)",
    core.adamw_step, p, lurn.tensor { 1, 2 }, s, { betas = { 0.9, 1 } })
  lu.assertNil(next(s))  -- failed calls created no buffers
  lu.assertErrorMsgContains("rmsprop_step: state.square_avg has shape [3] but param has [2]",
    core.rmsprop_step, p, lurn.tensor { 1, 2 }, { square_avg = lurn.zeros(3) }, {})
  lu.assertErrorMsgContains("sgd_step: param [2,2] must be contiguous",
    core.sgd_step, lurn.zeros(2, 2):t(), lurn.zeros(2, 2), {}, {})
  lu.assertErrorMsgContains("sgd_step: grad must be float32, got int32",
    core.sgd_step, p, lurn.tensor({ 1, 2 }, "int32"), {}, {})
  lu.assertEquals(p:totable(), { 1, 2 })
end

TestClipBindings = {}

function TestClipBindings:test_clip_grad_norm()
  local a, b = lurn.tensor { 3, -4 }, lurn.tensor { 12 }
  lu.assertEquals(core.clip_grad_norm({ a, b }, 100), 13)
  lu.assertEquals(core.clip_grad_norm({ a, b }, 100, math.huge), 12)
  lu.assertEquals(core.clip_grad_norm({ a, b }, 5), 13)
  close(a:get(1), 3 * 5 / (13 + 1e-6))
  close(b:get(1), 12 * 5 / (13 + 1e-6))
  lu.assertErrorMsgContains("clip_grad_norm: tensor 2 of the list must be a tensor",
    core.clip_grad_norm, { a, 7 }, 1)
end

function TestClipBindings:test_clip_value_and_finite()
  local a, b = lurn.tensor { -3, 0.5 }, lurn.tensor { 1, 2, 3 }
  core.clip_grad_value({ a, b }, 1)
  lu.assertEquals(a:totable(), { -1, 0.5 })
  lu.assertEquals(b:totable(), { 1, 1, 1 })
  lu.assertNil(core.check_finite({ a, b }))
  b:set(3, 0 / 0)
  local i, e = core.check_finite({ a, b })
  lu.assertEquals({ i, e }, { 2, 3 })
end

function TestClipBindings:test_average_update()
  local a, b = lurn.tensor { 1, 2 }, lurn.tensor { 4 }
  core.average_update({ a, b }, { lurn.tensor { 3, 6 }, lurn.tensor { 0 } }, 0.75)
  close(a:get(1), 1.5); close(a:get(2), 3); close(b:get(1), 3)
  core.average_update({ a }, { lurn.tensor { 7, 7 } }, 0)   -- decay 0: the tensor itself
  lu.assertEquals(a:totable(), { 7, 7 })
  lu.assertErrorMsgContains("average_update: 2 averages for 1 tensors", core.average_update,
    { a, b }, { a }, 0.5)
  lu.assertErrorMsgContains("average_update: average 1 holds 2 elements, tensor 1 holds 1",
    core.average_update, { a }, { b }, 0.5)
  lu.assertErrorMsgContains("average_update: invalid decay 1.5", core.average_update,
    { a }, { a }, 1.5)
  lu.assertErrorMsgContains("nan (needs 0 <= decay <= 1)", core.average_update,
    { a }, { a }, 0 / 0)
end

TestCheckpointBindings = {}

local dir = os.getenv("TMPDIR") or "/tmp"
local function tmp(name) return ("%s/lurn_test_%d_%s"):format(dir, math.random(1 << 30), name) end

function TestCheckpointBindings:test_round_trip()
  local path = tmp("rt.safetensors")
  local w = lurn.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
  local ids = lurn.tensor({ 7, -8 }, "int32")
  core.save_checkpoint(path, { ["0.weight"] = w:t(), ids = ids, s = lurn.tensor(2.5) },
    { config = core.json_encode { lr = 0.1 } })
  local t, meta, info = core.load_checkpoint(path)
  lu.assertEquals(t["0.weight"]:totable(), { { 1, 4 }, { 2, 5 }, { 3, 6 } })
  lu.assertEquals(t.ids:dtype(), "int32")
  lu.assertEquals(t.ids:totable(), { 7, -8 })
  lu.assertEquals(t.s:dim(), 0)
  lu.assertEquals(t.s:item(), 2.5)
  lu.assertEquals(core.json_decode(meta.config), { lr = 0.1 })
  lu.assertEquals(info, { version = 1, names = { "0.weight", "ids", "s" } })
  os.remove(path)
end

function TestCheckpointBindings:test_corrupt_files()
  local path = tmp("bad.safetensors")
  core.save_checkpoint(path, { w = lurn.ones(4) })
  local f = assert(io.open(path, "rb"))
  local bytes = f:read("a")
  f:close()
  local function write(s)
    local g = assert(io.open(path, "wb"))
    g:write(s)
    g:close()
  end
  write(bytes:sub(1, -2) .. string.char((bytes:byte(-1) + 1) % 256))
  lu.assertErrorMsgContains(path .. ": checksum mismatch in data section", core.load_checkpoint, path)
  write(bytes:sub(1, -5))
  lu.assertErrorMsgContains(path .. ": truncated (header says data section is 16 bytes, file has 12)",
    core.load_checkpoint, path)
  write("return {}\n")
  lu.assertErrorMsgContains(path .. ": not a lurn checkpoint", core.load_checkpoint, path)
  lu.assertErrorMsgContains(path .. "x: cannot open", core.load_checkpoint, path .. "x")
  os.remove(path)
end

function TestCheckpointBindings:test_save_errors()
  lu.assertErrorMsgContains("save_checkpoint: 'a' is a number, not a tensor",
    core.save_checkpoint, tmp("x"), { a = 1 })
  lu.assertErrorMsgContains("save_checkpoint: metadata 'n' is a number, not a string",
    core.save_checkpoint, tmp("x"), {}, { n = 3 })
  lu.assertErrorMsgContains("metadata key 'lurn.format' is reserved",
    core.save_checkpoint, tmp("x"), {}, { ["lurn.format"] = "x" })
end

TestJson = {}

function TestJson:test_round_trip()
  local v = { name = "caf\xc3\xa9 \"q\"\n", lr = 0.001, steps = 10, flags = { true, false },
    nested = { { a = 1 }, { b = { 1.5, -2, 1e-300 } } }, empty = {} }
  local s = core.json_encode(v)
  lu.assertEquals(core.json_decode(s), v)
  lu.assertEquals(core.json_encode(v), s)  -- deterministic: keys are sorted
  for _, x in ipairs { 0.1, 1 / 3, math.pi, 1e-310, -2.5e-8, 2 ^ 52 + 0.5 } do
    lu.assertEquals(core.json_decode(core.json_encode { x })[1], x)
  end
  lu.assertEquals(core.json_encode { 3, 3.0 }, "[3,3.0]")
  lu.assertEquals(math.type(core.json_decode("[7]")[1]), "integer")
  lu.assertEquals(core.json_decode("null"), core.json_null)
  lu.assertEquals(core.json_encode { a = core.json_null }, '{"a":null}')
end

function TestJson:test_encode_errors()
  lu.assertErrorMsgContains("json_encode: cannot encode a function at value.optim.schedule",
    core.json_encode, { optim = { schedule = print } })
  lu.assertErrorMsgContains("cannot encode a userdata at value.layers[2]",
    core.json_encode, { layers = { 1, lurn.zeros(1) } })
  local t = {}
  t.child = { parent = t }
  lu.assertErrorMsgContains("cannot encode a cycle (table seen again) at value.child.parent",
    core.json_encode, t)
  lu.assertErrorMsgContains("cannot encode NaN at value.loss", core.json_encode, { loss = 0 / 0 })
  lu.assertErrorMsgContains("array with holes", core.json_encode, { 1, nil, 3 })
  lu.assertErrorMsgContains("integer beyond 2^53", core.json_encode, { math.maxinteger })
  -- the same table twice (not a cycle) is fine
  local shared = { 1 }
  lu.assertEquals(core.json_encode { shared, shared }, "[[1],[1]]")
end

function TestJson:test_decode_errors()
  lu.assertErrorMsgContains("json_decode: invalid JSON at byte 13 (line 1, column 13)",
    core.json_decode, '{"a": [1, 2,]}')
  lu.assertErrorMsgContains("(line 2, column 3)", core.json_decode, '{"a":\n  tru}')
  lu.assertErrorMsgContains("text after the value", core.json_decode, "[1] x")
end

os.exit(lu.LuaUnit.run(), true)
