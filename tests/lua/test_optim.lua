-- LuaUnit suite for lurn.optim: optimizer objects over parameter groups,
-- state save/restore (exact resume through a checkpoint file), clipping
-- helpers and learning-rate schedules.
local lu = require "luaunit"
local lurn = require "lurn"
local optim = require "lurn.optim"
local core = lurn.core

local function close(a, b, tol)
  lu.assertTrue(math.abs(a - b) <= (tol or 1e-9), ("%.12g vs %.12g"):format(a, b))
end

-- Three named parameters with gradients; grads change per step.
local function make_params()
  return {
    { name = "0.weight", value = lurn.tensor { { 1, -2 }, { 0.5, 3 } }, grad = lurn.zeros(2, 2) },
    { name = "0.bias", value = lurn.tensor { 0.1, -0.1 }, grad = lurn.zeros(2) },
    { name = "1.weight", value = lurn.tensor { 2, 4, -6 }, grad = lurn.zeros(3) },
  }
end

local function fill_grads(params, t)
  for i, p in ipairs(params) do
    local n = p.value:numel()
    local flat = p.grad:view(n)
    for k = 1, n do flat:set(k, math.sin(t * 1.7 + i * 0.3 + k)) end
  end
end

local function values(params)
  local out = {}
  for i, p in ipairs(params) do out[i] = p.value:clone():view(p.value:numel()):totable() end
  return out
end

TestOptimizer = {}

function TestOptimizer:test_matches_core_per_group()
  -- Groups with their own options give the same result as calling the core
  -- step functions directly with those options.
  local a, b = make_params(), make_params()
  local opt = optim.AdamW({
    { params = optim.select(a, "bias$"), weight_decay = 0 },
    { params = optim.select(a, "bias$", true), lr = 0.05 },
  }, { lr = 0.01, betas = { 0.8, 0.9 } })
  lu.assertEquals(#opt.groups, 2)
  lu.assertEquals(opt.groups[1].params[1].name, "0.bias")
  lu.assertEquals(opt:get_lr(), { 0.01, 0.05 })
  local states = { {}, {}, {} }
  for t = 1, 3 do
    fill_grads(a, t)
    fill_grads(b, t)
    opt:step()
    core.adamw_step(b[1].value, b[1].grad, states[1], { lr = 0.05, betas = { 0.8, 0.9 } })
    core.adamw_step(b[2].value, b[2].grad, states[2],
      { lr = 0.01, betas = { 0.8, 0.9 }, weight_decay = 0 })
    core.adamw_step(b[3].value, b[3].grad, states[3], { lr = 0.05, betas = { 0.8, 0.9 } })
  end
  lu.assertEquals(values(a), values(b))
  lu.assertEquals(opt.per_param["0.weight"].step, 3)
end

function TestOptimizer:test_set_lr_keeps_state()
  local p = make_params()
  local opt = optim.SGD(p, { lr = 0.1, momentum = 0.9 })
  fill_grads(p, 1)
  opt:step()
  local buf = opt.per_param["0.bias"].momentum_buffer
  opt:set_lr(0.01)
  lu.assertEquals(opt:get_lr(), { 0.01 })
  lu.assertIs(opt.per_param["0.bias"].momentum_buffer, buf)
  opt:step()
  lu.assertEquals(opt.per_param["0.bias"].step, 2)
end

function TestOptimizer:test_errors()
  local p = make_params()
  lu.assertErrorMsgContains("optim.Adam: unknown option 'weight_decy' (did you mean 'weight_decay'?)",
    optim.Adam, p, { weight_decy = 0.1 })
  lu.assertErrorMsgContains("optim.SGD group 1: sgd: nesterov needs momentum > 0",
    optim.SGD, p, { nesterov = true })
  lu.assertErrorMsgContains("parameter '0.bias' is in two groups",
    optim.SGD, { { params = p }, { params = { p[2] } } })
  lu.assertErrorMsgContains("expected a non-empty list", optim.SGD, {})
  p[2].grad = lurn.zeros(5)
  local opt = optim.SGD(p, { lr = 0.1 })
  lu.assertErrorMsgContains("sgd_step: grad has shape [5] but param has [2] (parameter '0.bias')",
    opt.step, opt)
end

function TestOptimizer:test_exact_resume_through_checkpoint()
  -- 6 steps in one go == 3 steps, save weights + optimizer state to a file,
  -- restore into fresh objects, 3 more steps. Bit for bit.
  for _, make in ipairs { optim.Adam, optim.SGD, optim.RMSprop, optim.Adagrad, optim.AdamW } do
    local cfg = make == optim.SGD and { lr = 0.1, momentum = 0.9, nesterov = true }
        or make == optim.RMSprop and { centered = true, momentum = 0.5 } or { lr = 0.01 }
    local a = make_params()
    local oa = make(a, cfg)
    for t = 1, 6 do fill_grads(a, t); oa:step() end

    local b = make_params()
    local ob = make(b, cfg)
    for t = 1, 3 do fill_grads(b, t); ob:step() end
    local path = os.tmpname()
    local s = ob:state()
    local tensors = {}
    for _, p in ipairs(b) do tensors["model/" .. p.name] = p.value end
    for k, v in pairs(s.tensors) do tensors["optim/" .. k] = v end
    core.save_checkpoint(path, tensors, { optim = core.json_encode(s.config) })

    local c = make_params()
    local oc = make(c, cfg)
    local t2, meta = core.load_checkpoint(path)
    os.remove(path)
    for _, p in ipairs(c) do p.value:copy(t2["model/" .. p.name]) end
    local st = { config = core.json_decode(meta.optim), tensors = {} }
    for k, v in pairs(t2) do
      local rest = k:match("^optim/(.*)$")
      if rest then st.tensors[rest] = v end
    end
    oc:load_state(st)
    for t = 4, 6 do fill_grads(c, t); oc:step() end
    lu.assertEquals(values(c), values(a))
    lu.assertEquals(oc.per_param["1.weight"].step, 6)
  end
end

function TestOptimizer:test_load_state_mismatch()
  local p = make_params()
  local s = optim.Adam(p):state()
  lu.assertErrorMsgContains("state is for 'adam', this optimizer is 'sgd'",
    optim.SGD(p).load_state, optim.SGD(p), s)
  local q = make_params()
  q[1].name = "other"
  local oq = optim.Adam(q)
  lu.assertErrorMsgContains("parameter 1 is '0.weight' in the state, 'other' here",
    oq.load_state, oq, s)
end

TestClipHelpers = {}

function TestClipHelpers:test_clip_and_check()
  local p = {
    { name = "a", value = lurn.zeros(2), grad = lurn.tensor { 3, -4 } },
    { name = "b", value = lurn.zeros(1), grad = lurn.tensor { 12 } },
  }
  lu.assertEquals(optim.clip_grad_norm(p, 1e9), 13)
  lu.assertEquals(optim.clip_grad_norm({ p[1].grad }, 1e9), 5)  -- plain tensors too
  optim.clip_grad_value(p, 3.5)
  lu.assertEquals(p[2].grad:totable(), { 3.5 })
  lu.assertNil(optim.check_finite(p))
  p[2].grad:set(1, math.huge)
  local msg, rec, e = optim.check_finite(p)
  lu.assertEquals(msg, "non-finite gradient in 'b' at element 1")
  lu.assertIs(rec, p[2])
  lu.assertEquals(e, 1)
end

TestSchedules = {}

local function lrs(sched, opt, n, metric_fn)
  local out = { opt:get_lr()[1] }
  for t = 1, n do
    sched:step(metric_fn and metric_fn(t))
    out[#out + 1] = opt:get_lr()[1]
  end
  return out
end

local function assert_list(got, want)
  lu.assertEquals(#got, #want)
  for i = 1, #want do close(got[i], want[i]) end
end

function TestSchedules:test_closed_forms()
  local p = make_params()
  -- StepLR(step_size 2, gamma 0.5): 1, 1, .5, .5, .25
  local o = optim.SGD(p, { lr = 1 })
  assert_list(lrs(optim.StepLR(o, { step_size = 2, gamma = 0.5 }), o, 4), { 1, 1, .5, .5, .25 })
  -- MultiStepLR(milestones 1, 3; gamma 0.1): 1, .1, .1, .01, .01
  o = optim.SGD(p, { lr = 1 })
  assert_list(lrs(optim.MultiStepLR(o, { milestones = { 1, 3 }, gamma = 0.1 }), o, 4),
    { 1, .1, .1, .01, .01 })
  -- ExponentialLR(0.5): 2, 1, .5, .25
  o = optim.SGD(p, { lr = 2 })
  assert_list(lrs(optim.ExponentialLR(o, { gamma = 0.5 }), o, 3), { 2, 1, .5, .25 })
  -- LinearWarmup(4): t/4 -> 0, .25, .5, .75, 1, 1
  o = optim.SGD(p, { lr = 1 })
  assert_list(lrs(optim.LinearWarmup(o, { warmup = 4 }), o, 5), { 0, .25, .5, .75, 1, 1 })
  -- CosineLR(total 6, warmup 2, min_lr .1): warmup 0, .5; then
  -- .1 + .9 * (1 + cos(pi * (t-2)/4)) / 2 for t = 2..6, then .1
  o = optim.SGD(p, { lr = 1 })
  local want = { 0, .5 }
  for t = 2, 6 do want[#want + 1] = .1 + .9 * (1 + math.cos(math.pi * (t - 2) / 4)) / 2 end
  want[#want + 1] = .1
  assert_list(lrs(optim.CosineLR(o, { total = 6, warmup = 2, min_lr = .1 }), o, 7), want)
  -- per-group base lrs
  o = optim.SGD({ { params = { p[1] }, lr = 1 }, { params = { p[2] }, lr = 10 } })
  local s = optim.ExponentialLR(o, { gamma = 0.5 })
  s:step()
  lu.assertEquals(o:get_lr(), { .5, 5 })
end

function TestSchedules:test_state_restore()
  local p = make_params()
  local o1 = optim.Adam(p, { lr = 1 })
  local s1 = optim.CosineLR(o1, { total = 10, warmup = 3 })
  for _ = 1, 4 do s1:step() end
  local saved = core.json_decode(core.json_encode(s1:state()))
  local o2 = optim.Adam(p, { lr = 1 })
  local s2 = optim.CosineLR(o2, { total = 10, warmup = 3 })
  s2:load_state(saved)
  lu.assertEquals(o2:get_lr(), o1:get_lr())
  s1:step(); s2:step()
  lu.assertEquals(o2:get_lr(), o1:get_lr())
  lu.assertErrorMsgContains("state is for CosineLR", optim.StepLR(o2, { step_size = 1 }).load_state,
    optim.StepLR(o2, { step_size = 1 }), saved)
end

function TestSchedules:test_plateau()
  -- PyTorch's rules, patience 1, factor .5, cooldown 1, threshold 0:
  -- metric  10   9    9    9    9    9    9    8
  -- bad      0   0    1    2->cut  0(cool) 1  2->cut  0
  -- lr       1   1    1    .5   .5   .5   .25  .25
  local p = make_params()
  local o = optim.SGD(p, { lr = 1 })
  local s = optim.ReduceLROnPlateau(o, { patience = 1, factor = 0.5, cooldown = 1, threshold = 0 })
  local metrics = { 10, 9, 9, 9, 9, 9, 9, 8 }
  local got = {}
  for i, m in ipairs(metrics) do
    s:step(m)
    got[i] = o:get_lr()[1]
  end
  assert_list(got, { 1, 1, 1, .5, .5, .5, .25, .25 })
  -- restore mid-way and continue identically
  local o2 = optim.SGD(p, { lr = 1 })
  local s2 = optim.ReduceLROnPlateau(o2, { patience = 1, factor = 0.5, cooldown = 1, threshold = 0 })
  local s3 = optim.ReduceLROnPlateau(optim.SGD(p, { lr = 1 }),
    { patience = 1, factor = 0.5, cooldown = 1, threshold = 0 })
  for i = 1, 4 do s3:step(metrics[i]) end
  s2:load_state(core.json_decode(core.json_encode(s3:state())))
  o2:set_lr(s3.opt:get_lr())
  for i = 5, 8 do s2:step(metrics[i]) end
  lu.assertEquals(o2:get_lr()[1], .25)
  lu.assertErrorMsgContains("needs the metric value", s.step, s)
  lu.assertErrorMsgContains("mode must be 'min' or 'max'", optim.ReduceLROnPlateau, o,
    { mode = "lowest" })
end

os.exit(lu.LuaUnit.run(), true)
