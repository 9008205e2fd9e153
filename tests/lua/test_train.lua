-- LuaUnit suite for lurn.checkpoint (whole training states: round trip,
-- every damaged-file and mismatch message through the Lua API, nothing
-- executed) and lurn.train (the fit loop: learning, non-finite stops,
-- early stopping, best weights, in-process exact resume, options).
local lu = require "luaunit"
local lurn = require "lurn"
local nn, optim, data = lurn.nn, lurn.optim, lurn.data
local checkpoint, train = lurn.checkpoint, lurn.train
local core = lurn.core

local tmpdir = os.tmpname()
os.remove(tmpdir)
os.execute("mkdir -p " .. tmpdir)
local function tmp(name) return tmpdir .. "/" .. name end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Synthetic sentiment: label 1 when most tokens are in the upper half of
-- the vocabulary. A fixed LCG, so the data never touch lurn's generator.
local V = 20
local function dataset(n, seed)
  local state = seed
  local function rnd(k)
    state = (state * 1103515245 + 12345) % 2147483648
    return state % k
  end
  local seqs, labels = {}, {}
  for i = 1, n do
    local len, s, hi = 2 + rnd(8), {}, 0
    for t = 1, len do
      s[t] = 2 + rnd(V - 2)
      if s[t] >= V // 2 then hi = hi + 1 end
    end
    seqs[i], labels[i] = s, (2 * hi > len) and 1 or 0
  end
  return data.Dataset { seqs = seqs, labels = labels }
end

local function make_model(hidden)
  return nn.Sequential {
    nn.Embedding(V, 8, { padding = 0 }),
    nn.LSTM(8, hidden or 12, { layers = 2, dropout = 0.2 }),
    nn.Pool("mean"),
    nn.Linear(hidden or 12, 2),
  }
end

local function weights_equal(a, b)
  for name, t in pairs(a) do
    local u = b[name]
    if not u or u:shape() ~= t:shape() or t:eq(u):sum() ~= t:numel() then return false, name end
  end
  for name in pairs(b) do if not a[name] then return false, name end end
  return true
end

local quiet = function() end

-- ---------------------------------------------------------------------------

TestCheckpoint = {}

function TestCheckpoint:setUp() lurn.seed(11) end

-- A full state written, read back and restored into fresh objects.
function TestCheckpoint:test_round_trip()
  local model = make_model()
  local opt = optim.Adam(model:parameters(), { lr = 0.01 })
  local sched = optim.StepLR(opt, { step_size = 2, gamma = 0.5 })
  local ds = dataset(16, 1)
  for batch in ds:batches { size = 8 } do
    local loss = nn.CrossEntropy()
    loss:forward(model:forward(batch), batch.labels)
    model:zero_grad()
    model:backward(loss:backward())
    opt:step()
    sched:step()
  end
  local vocab = data.Vocab.new { "<pad>", "<unk>", "good", "bad" }
  local rng = lurn.rng_state()
  local path = tmp("full.ckpt")
  checkpoint.save(path, {
    model = model, optimizer = opt, schedule = sched, rng = true, vocab = vocab,
    config = { model = { hidden = 12 }, optim = { lr = 0.01 } },
    history = { { epoch = 1, valid_loss = 0.5 } }, step = 2,
    data = { epoch = 1, pos = 1, batches = { { 3, 1 }, { 2, 4 } } },
    extra = { note = "hi" }, tensors = { mask = lurn.ones(3) },
  })
  local after = lurn.rand(4)   -- the stream after the save

  local s = checkpoint.load(path)
  lu.assertEquals(s.step, 2)
  lu.assertEquals(s.config.model.hidden, 12)
  lu.assertEquals(s.history[1].valid_loss, 0.5)
  lu.assertEquals(s.data.batches, { { 3, 1 }, { 2, 4 } })
  lu.assertEquals(s.vocab.tokens, { "<pad>", "<unk>", "good", "bad" })
  lu.assertEquals(data.Vocab.from_state(s.vocab):id("bad"), 3)
  lu.assertEquals(s.extra.note, "hi")
  lu.assertEquals(s.tensors.mask:sum(), 3)
  lu.assertEquals(s.rng, rng)
  lu.assertEquals(s.schedule.t, 2)

  lurn.seed(99)
  local m2 = make_model()
  local o2 = optim.Adam(m2:parameters(), { lr = 0.5 })
  local s2 = optim.StepLR(o2, { step_size = 2, gamma = 0.5 })
  lu.assertFalse(weights_equal(model:state(), m2:state()))
  checkpoint.restore(s, { model = m2, optimizer = o2, schedule = s2, rng = true })
  lu.assertTrue(weights_equal(model:state(), m2:state()))
  lu.assertEquals(o2:get_lr(), opt:get_lr())
  lu.assertEquals(o2.per_param["1.weight_hh_l0"].step, 2)
  lu.assertTrue(lurn.rand(4):eq(after):sum() == 4, "the generator continues exactly")
end

-- Saving the same state twice gives the same bytes.
function TestCheckpoint:test_deterministic_bytes()
  local model = make_model()
  local parts = { model = model, config = { b = 1, a = { 1, 2 } }, step = 3, rng = "0123456789abcdef0123456789abcdef0123456789abcdef01234567" }
  checkpoint.save(tmp("d1.ckpt"), parts)
  checkpoint.save(tmp("d2.ckpt"), parts)
  lu.assertEquals(read(tmp("d1.ckpt")), read(tmp("d2.ckpt")))
end

function TestCheckpoint:test_truncated()
  local path = tmp("trunc.ckpt")
  checkpoint.save(path, { model = make_model(), step = 1 })
  local s = read(path)
  write(path, s:sub(1, #s - 10))
  lu.assertErrorMsgContains(path .. ": truncated (header says data section is", checkpoint.load, path)
  write(path, s:sub(1, 100))
  lu.assertErrorMsgContains(path .. ": truncated (header says", checkpoint.load, path)
  write(path, s:sub(1, 5))
  lu.assertErrorMsgContains(path .. ": ", checkpoint.load, path)
end

function TestCheckpoint:test_corrupted_byte()
  local path = tmp("corrupt.ckpt")
  checkpoint.save(path, { model = make_model(), step = 1, config = { lr = 0.1 } })
  local s = read(path)
  -- a flipped bit in the last weight
  local i = #s - 2
  write(path, s:sub(1, i - 1) .. string.char(s:byte(i) ~ 0x10) .. s:sub(i + 1))
  lu.assertErrorMsgContains(path .. ": checksum mismatch in data section", checkpoint.load, path)
  -- a changed value in the header's metadata (still valid JSON)
  local j = s:find('\\"lr\\":0.1', 1, true)
  lu.assertNotNil(j)
  write(path, s:sub(1, j + 7) .. "5" .. s:sub(j + 9))
  lu.assertErrorMsgContains(path .. ": checksum mismatch in header", checkpoint.load, path)
end

function TestCheckpoint:test_not_a_training_state()
  local path = tmp("weights.safetensors")
  checkpoint.save_weights(path, make_model())
  lu.assertErrorMsgContains(path .. ": not a training state (no 'kind' entry",
    checkpoint.load, path)
  lu.assertErrorMsgContains("cannot open", checkpoint.load, tmp("nope.ckpt"))
  -- a later state version is named
  core.save_checkpoint(path, {}, { kind = core.json_encode { kind = checkpoint.KIND, version = 9 } })
  lu.assertErrorMsgContains(path .. ": training state version 9, this lurn reads version 1",
    checkpoint.load, path)
end

-- Metadata is data: Lua code in it is a JSON error, never run.
function TestCheckpoint:test_nothing_executed()
  local path = tmp("evil.ckpt")
  local marker = tmp("pwned")
  core.save_checkpoint(path, {}, {
    kind = core.json_encode { kind = checkpoint.KIND, version = 1, parts = { "config" } },
    config = ("os.execute('touch %s') return {}"):format(marker),
  })
  lu.assertErrorMsgContains(path .. ": part 'config' is not valid JSON", checkpoint.load, path)
  lu.assertNil(io.open(marker, "r"))
  core.save_checkpoint(path, {}, {
    kind = core.json_encode { kind = checkpoint.KIND, version = 1, parts = { "rng" } },
    rng = core.json_encode("zz"),
  })
  lu.assertErrorMsgContains(path .. ": part 'rng' is not a 56-byte generator state",
    checkpoint.load, path)
end

function TestCheckpoint:test_mismatched_model()
  local path = tmp("m.ckpt")
  checkpoint.save(path, { model = make_model(12) })
  local s = checkpoint.load(path)
  local other = make_model(16)
  local before = other:state()["1.weight_ih_l0"]:clone()
  lu.assertErrorMsgContains(path .. ": parameter '1.weight_ih_l0' has shape [48,8] in the "
    .. "checkpoint, the model expects [64,8]", checkpoint.restore, s, { model = other })
  lu.assertEquals(other:state()["1.weight_ih_l0"]:eq(before):sum(), before:numel(),
    "a failed restore changes nothing")

  local small = nn.Sequential { nn.Embedding(V, 8), nn.LSTM(8, 12), nn.Pool("mean"),
    nn.Linear(12, 2) }
  lu.assertErrorMsgContains(path .. ": the checkpoint has parameter(s) the model lacks: "
    .. "1.bias_hh_l1, 1.bias_ih_l1, 1.weight_hh_l1, 1.weight_ih_l1",
    checkpoint.restore, s, { model = small })
  checkpoint.save(path, { model = small })
  lu.assertErrorMsgContains(path .. ": the checkpoint has no weights for 4 model parameter(s): "
    .. "1.weight_ih_l1, 1.weight_hh_l1, 1.bias_ih_l1, 1.bias_hh_l1",
    checkpoint.restore, checkpoint.load(path), { model = make_model(12) })
end

function TestCheckpoint:test_mismatched_optimizer_and_parts()
  local model = make_model()
  local path = tmp("o.ckpt")
  checkpoint.save(path, { model = model, optimizer = optim.Adam(model:parameters()) })
  local s = checkpoint.load(path)
  lu.assertErrorMsgContains(path .. ": optim.SGD:load_state: state is for 'adam', this "
    .. "optimizer is 'sgd'", checkpoint.restore, s,
    { optimizer = optim.SGD(model:parameters(), { lr = 0.1 }) })
  lu.assertErrorMsgContains(path .. ": the checkpoint has no schedule part", checkpoint.restore,
    s, { schedule = optim.ConstantLR(optim.Adam(model:parameters())) })
  lu.assertErrorMsgContains("checkpoint.save: unknown part 'modle'", checkpoint.save, path,
    { modle = model })
  lu.assertErrorMsgContains("checkpoint.save: part 'config': json_encode: cannot encode a "
    .. "function at value.f", checkpoint.save, path, { model = model, config = { f = print } })
end

-- Weights only, with a prefix stripped / prepended (the PyTorch route).
function TestCheckpoint:test_weights_prefix()
  local model = make_model()
  local path = tmp("lstm.safetensors")
  lu.assertEquals(checkpoint.save_weights(path, model, { prefix = "1." }), 8)
  local t = core.load_checkpoint(path)
  lu.assertNotNil(t.weight_ih_l0)
  lu.assertNil(t["1.weight_ih_l0"])
  local w = checkpoint.load_weights(path, { prefix = "1." })
  lu.assertTrue(w["1.weight_hh_l1"]:eq(model:state()["1.weight_hh_l1"]):sum() == 12 * 48)
  -- a training state's model weights load the same way
  local full = tmp("full2.ckpt")
  checkpoint.save(full, { model = model, step = 1 })
  local other = make_model()
  checkpoint.load_into(other, full)
  lu.assertTrue(weights_equal(other:state(), model:state()))
  lu.assertErrorMsgContains("no parameter name starts with '9.'", checkpoint.save_weights, path,
    model, { prefix = "9." })
end

-- ---------------------------------------------------------------------------

TestTrain = {}

function TestTrain:setUp() lurn.seed(5) end

function TestTrain:test_learns_and_logs()
  local model = make_model()
  local lines = {}
  local r = train.fit {
    model = model, loss = nn.CrossEntropy(),
    optimizer = optim.Adam(model:parameters(), { lr = 0.02 }),
    train_data = dataset(160, 3), valid_data = dataset(64, 4),
    epochs = 8, batch_size = 16, bucket = true, clip = 1,
    log = function(l) lines[#lines + 1] = l end, log_every = 5,
  }
  lu.assertEquals(r.step, 80)
  lu.assertEquals(r.epoch, 8)
  lu.assertEquals(#r.history, 8)
  local first, last = r.history[1], r.history[#r.history]
  lu.assertTrue(last.valid_loss < first.valid_loss, ("%g -> %g"):format(first.valid_loss,
    last.valid_loss))
  lu.assertTrue(last.valid_accuracy >= 0.8, "valid accuracy " .. last.valid_accuracy)
  lu.assertTrue(last.train_loss < first.train_loss)
  lu.assertEquals(r.best.metric, "valid_loss")
  local text = table.concat(lines, "\n")
  lu.assertStrContains(text, "epoch 1/8  batch 5/10  step 5  loss ")
  lu.assertStrContains(text, "epoch 8  step 80  train_loss ")
  lu.assertStrContains(text, "valid_accuracy ")
  lu.assertStrContains(text, "done: 80 steps, 8 epochs")
  -- evaluate agrees with the last record, and leaves the mode alone
  model:train()
  local e = train.evaluate(model, dataset(64, 4), { loss = nn.CrossEntropy(), batch_size = 16 })
  lu.assertTrue(model.training)
  lu.assertAlmostEquals(e.valid_loss or e.loss, last.valid_loss, 1e-6)
  lu.assertEquals(e.n, 64)
end

function TestTrain:test_accuracy()
  local c, n = train.accuracy(lurn.tensor { { 1, 2 }, { 3, 0 }, { 0, 1 } },
    lurn.tensor({ 1, 1, -100 }, "int32"))
  lu.assertEquals({ c, n }, { 1, 2 })
  c, n = train.accuracy(lurn.tensor { 2, -1, 0.5 }, lurn.tensor { 1, 1, 1 })
  lu.assertEquals({ c, n }, { 2, 3 })
  lu.assertErrorMsgContains("train.accuracy: [3,2] logits do not match [2] targets",
    train.accuracy, lurn.zeros(3, 2), lurn.tensor({ 1, 0 }, "int32"))
end

-- A loss whose gradient turns non-finite at the third step.
function TestTrain:test_nonfinite_gradient_names_step_and_parameter()
  local model = nn.Sequential { nn.Embedding(V, 4), nn.Pool("mean"), nn.Linear(4, 2) }
  local calls = 0
  local ce = nn.CrossEntropy()
  local bad_loss = {
    __name = "test.BadLoss",
    forward = function(_, out, t) calls = calls + 1; return ce:forward(out, t) end,
    backward = function()
      local g = ce:backward():clone()
      if calls == 3 then g:set(1, 1, 0 / 0) end
      return g
    end,
  }
  -- the NaN enters at the loss: the Linear's gradient went non-finite first
  lu.assertErrorMsgContains("train.fit: non-finite gradient in '2.bias' at element",
    train.fit, { model = model, loss = bad_loss, optimizer = optim.SGD(model:parameters(),
      { lr = 0.1 }), train_data = dataset(40, 1), batch_size = 8, log = quiet })
  calls = 0
  local ok, err = pcall(train.fit, { model = model, loss = bad_loss,
    optimizer = optim.SGD(model:parameters(), { lr = 0.1 }), train_data = dataset(40, 1),
    batch_size = 8, log = quiet })
  lu.assertFalse(ok)
  lu.assertStrContains(err, "at step 3 (epoch 1, batch 3 of 5)")
end

function TestTrain:test_nonfinite_loss()
  local model = nn.Sequential { nn.Embedding(V, 4), nn.Pool("mean"), nn.Linear(4, 2) }
  model:parameters()[3].value:fill(0 / 0)   -- the Linear bias
  lu.assertErrorMsgContains("train.fit: loss is nan at step 1 (epoch 1, batch 1 of 5)",
    train.fit, { model = model, loss = nn.CrossEntropy(),
      optimizer = optim.SGD(model:parameters(), { lr = 0.1 }), train_data = dataset(40, 1),
      batch_size = 8, log = quiet })
end

function TestTrain:test_early_stopping_and_best()
  local model = make_model()
  -- lr 0: nothing improves after the first evaluation
  local r = train.fit { model = model, loss = nn.CrossEntropy(),
    optimizer = optim.SGD(model:parameters(), { lr = 0 }),
    train_data = dataset(32, 1), valid_data = dataset(16, 2), epochs = 10, batch_size = 8,
    patience = 1, log = quiet }
  lu.assertEquals(r.epoch, 3)
  lu.assertEquals(#r.history, 3)
  lu.assertStrContains(r.stopped, "early stopping: valid_loss did not improve for 2 "
    .. "evaluations (best ")
  lu.assertStrContains(r.stopped, "at epoch 1, step 4)")

  -- restore_best puts the best weights back; best.ckpt holds them too
  lurn.seed(6)
  model = make_model()
  local dir = tmp("best")
  local best_state
  r = train.fit { model = model, loss = nn.CrossEntropy(),
    optimizer = optim.Adam(model:parameters(), { lr = 0.05 }),
    train_data = dataset(64, 1), valid_data = dataset(32, 2), epochs = 6, batch_size = 8,
    monitor = "valid_accuracy", restore_best = true, checkpoint_dir = dir, log = quiet,
    on_eval = function(rec) if rec.valid_accuracy == nil then error("no accuracy") end end,
    on_checkpoint = function(path)
      if path:find("best.ckpt", 1, true) then
        best_state = {}
        for k, v in pairs(model:state()) do best_state[k] = v:clone() end
      end
    end }
  lu.assertEquals(r.best.metric, "valid_accuracy")
  local best_acc = -1
  for _, h in ipairs(r.history) do best_acc = math.max(best_acc, h.valid_accuracy) end
  lu.assertEquals(r.best.value, best_acc)
  lu.assertTrue(weights_equal(model:state(), best_state))
  lu.assertTrue(weights_equal(model:state(), checkpoint.load(dir .. "/best.ckpt").model))
  lu.assertEquals(train.latest_checkpoint(dir), dir .. "/step-00000048.ckpt")
end

-- Exact resume in one process, with the other schedule paths: SGD with
-- momentum, ReduceLROnPlateau on mid-epoch evaluations, no bucketing.
function TestTrain:test_resume_in_process()
  local function run(max_steps, dir, resume)
    lurn.seed(21)
    local model = make_model()
    local opt = optim.SGD(model:parameters(), { lr = 0.1, momentum = 0.9 })
    local sched = optim.ReduceLROnPlateau(opt, { patience = 0, factor = 0.5 })
    local r = train.fit { model = model, loss = nn.CrossEntropy(), optimizer = opt,
      schedule = sched, train_data = dataset(56, 1), valid_data = dataset(16, 2),
      epochs = 5, max_steps = max_steps, batch_size = 8, eval_every = 3, clip_value = 0.5,
      checkpoint_dir = dir, checkpoint_every = dir and 4 or nil, keep_checkpoints = 3,
      resume = resume, log = quiet }
    return model, opt, r
  end
  local m1, o1, r1 = run(26)
  local dir = tmp("resume")
  run(13, dir)
  -- keep_checkpoints = 3: the oldest periodic files are gone
  lu.assertNil(io.open(dir .. "/step-00000004.ckpt", "r"))
  lu.assertEquals(train.latest_checkpoint(dir), dir .. "/step-00000013.ckpt")
  local m2, o2, r2 = run(26, nil, dir .. "/step-00000012.ckpt")
  lu.assertTrue(weights_equal(m1:state(), m2:state()))
  lu.assertEquals(o2:get_lr(), o1:get_lr())
  lu.assertTrue(o1:get_lr()[1] < 0.1, "the plateau schedule acted")
  lu.assertEquals(o2.per_param["3.weight"].step, 26)
  for i, h in ipairs(r1.history) do
    h.seconds, r2.history[i].seconds = nil, nil   -- wall time, the one thing that may differ
    lu.assertEquals(r2.history[i], h, "record " .. i)
  end
  lu.assertEquals(#r2.history, #r1.history)
  lu.assertEquals(r2.step, 26)
end

-- train.fit's `average`: the evaluations, the best checkpoint and the returned
-- model are the moving average of the weights each step left, with the decay
-- min(d, (1 + step) / (10 + step)); the raw weights go on in a checkpoint.
function TestTrain:test_average()
  local function run(average, dir, on_step)
    lurn.seed(31)
    local model = make_model()
    local r = train.fit { model = model, loss = nn.CrossEntropy(),
      optimizer = optim.Adam(model:parameters(), { lr = 0.05 }), average = average,
      train_data = dataset(48, 1), valid_data = dataset(16, 2), epochs = 3, batch_size = 8,
      eval_every = 4, monitor = "valid_accuracy", checkpoint_dir = dir, log = quiet,
      on_step = on_step and function(info) on_step(model, info) end }
    return model, r
  end
  -- the reference: the same run without averaging, its weights after every step
  -- averaged here in double
  local d, ref = 0.8, nil
  local plain = run(nil, nil, function(model, info)
    local decay = math.min(d, (1 + info.step) / (10 + info.step))
    if not ref then ref = {} end
    for name, t in pairs(model:state()) do
      local x = t:totable()
      local function mix(a, b)
        if type(b) ~= "table" then return decay * a + (1 - decay) * b end
        local out = {}
        for i = 1, #b do out[i] = mix(a[i], b[i]) end
        return out
      end
      ref[name] = mix(ref[name] or x, x)
    end
  end)
  local dir = tmp("average")
  local model, r = run(d, dir)
  lu.assertEquals(r.step, 18)
  -- the raw trajectory is the same as without averaging (checked through the last checkpoint)
  local last = checkpoint.load(train.latest_checkpoint(dir))
  for name, t in pairs(plain:state()) do
    local raw = last.tensors["average.raw/" .. name]
    lu.assertNotNil(raw, name)
    lu.assertEquals(raw:reshape(t:shape()):eq(t):sum(), t:numel(), name)
  end
  -- the model returned and the last checkpoint's model part: the average
  for name, t in pairs(model:state()) do
    lu.assertTrue(t:allclose(lurn.tensor(ref[name]), 1e-5, 1e-6), name)
    lu.assertEquals(last.model[name]:eq(t):sum(), t:numel(), name)
  end
  -- evaluations scored the average: the last record is the returned model's
  local v = train.evaluate(model, dataset(16, 2), { loss = nn.CrossEntropy() })
  lu.assertAlmostEquals(r.history[#r.history].valid_loss, v.loss, 1e-6)
  lu.assertNotEquals(r.history[#r.history].valid_loss,
    train.evaluate(plain, dataset(16, 2), { loss = nn.CrossEntropy() }).loss)
  -- average = 0 is off; outside [0, 1) an error
  local m0, r0 = run(0)
  lu.assertTrue(weights_equal(m0:state(), plain:state()))
  lu.assertNil(r0.stopped)
  lu.assertErrorMsgContains("train.fit: average must be a decay in [0, 1), got 1", run, 1)
  lu.assertErrorMsgContains("train.fit: average must be a number, got string", run, "0.9")
end

-- An averaged run resumes bit for bit; a run without averaging resumes from
-- the raw weights (and says it drops the average).
function TestTrain:test_average_resume()
  local function run(max_steps, dir, resume, average, log)
    lurn.seed(41)
    local model = make_model()
    local r = train.fit { model = model, loss = nn.CrossEntropy(),
      optimizer = optim.Adam(model:parameters(), { lr = 0.05 }), average = average,
      train_data = dataset(40, 1), valid_data = dataset(16, 2), epochs = 4,
      max_steps = max_steps, batch_size = 8, eval_every = 3, checkpoint_dir = dir,
      checkpoint_every = dir and 4 or nil, resume = resume, log = log or quiet }
    return model, r
  end
  local m1, r1 = run(18, nil, nil, 0.7)
  local dir = tmp("average-resume")
  run(9, dir, nil, 0.7)
  local m2, r2 = run(18, nil, dir .. "/step-00000008.ckpt", 0.7)
  lu.assertTrue(weights_equal(m1:state(), m2:state()))
  for i, h in ipairs(r1.history) do
    h.seconds, r2.history[i].seconds = nil, nil
    lu.assertEquals(r2.history[i], h, "record " .. i)
  end
  -- without averaging: the raw weights of step 8 go on, as a plain run's would
  local lines = {}
  local m3 = run(18, nil, dir .. "/step-00000008.ckpt", nil,
    function(line) lines[#lines + 1] = line end)
  lu.assertStrContains(table.concat(lines, "\n"), "note: the checkpoint's moving average of the "
    .. "weights is dropped")
  -- averaging leaves the raw trajectory alone, so a plain run from the start
  -- ends where the resumed one does only if step 8's raw weights were restored
  local m4 = run(18, nil, nil, nil)
  lu.assertTrue(weights_equal(m3:state(), m4:state()))
  lu.assertFalse(weights_equal(m3:state(), m1:state()))
end

function TestTrain:test_resume_mismatch()
  local dir = tmp("mm")
  local model = make_model(12)
  train.fit { model = model, loss = nn.CrossEntropy(),
    optimizer = optim.Adam(model:parameters()), train_data = dataset(16, 1), batch_size = 8,
    checkpoint_dir = dir, log = quiet }
  local path = dir .. "/step-00000002.ckpt"
  local other = make_model(16)
  lu.assertErrorMsgContains(path .. ": parameter '1.weight_ih_l0' has shape [48,8] in the "
    .. "checkpoint, the model expects [64,8]", train.fit, { model = other,
      loss = nn.CrossEntropy(), optimizer = optim.Adam(other:parameters()),
      train_data = dataset(16, 1), resume = dir, log = quiet })
  lu.assertErrorMsgContains(path .. ": written for a training set of 16 samples, this one has 20",
    train.fit, { model = model, loss = nn.CrossEntropy(),
      optimizer = optim.Adam(model:parameters()), train_data = dataset(20, 1), resume = path,
      log = quiet })
  lu.assertErrorMsgContains("train.fit: no checkpoint to resume from in '" .. tmp("none") .. "'",
    train.fit, { model = model, loss = nn.CrossEntropy(),
      optimizer = optim.Adam(model:parameters()), train_data = dataset(16, 1),
      resume = tmp("none"), log = quiet })
end

function TestTrain:test_option_errors()
  local model = make_model()
  local base = { model = model, loss = nn.CrossEntropy(),
    optimizer = optim.Adam(model:parameters()), train_data = dataset(8, 1), log = quiet }
  local function with(k, v)
    local o = {}
    for a, b in pairs(base) do o[a] = b end
    o[k] = v
    return o
  end
  lu.assertErrorMsgContains("train.fit: unknown option 'epoch' (did you mean 'epochs'?)",
    train.fit, with("epoch", 3))
  lu.assertErrorMsgContains("train.fit: option 'loss' is required", train.fit, with("loss", nil))
  lu.assertErrorMsgContains("train.fit: checkpoint_every needs checkpoint_dir", train.fit,
    with("checkpoint_every", 5))
  lu.assertErrorMsgContains("train.fit: batch_size must be a non-negative integer, got 2.5",
    train.fit, with("batch_size", 2.5))
  lu.assertErrorMsgContains("train.fit: schedule_every must be 'epoch' or 'step'", train.fit,
    with("schedule_every", "batch"))
  lu.assertErrorMsgContains("train.fit: monitor 'valid_f1' is not in the evaluation record",
    train.fit, with("monitor", "valid_f1"))
end

local rc = lu.LuaUnit.run()
os.execute("rm -rf " .. tmpdir)
os.exit(rc, true)
