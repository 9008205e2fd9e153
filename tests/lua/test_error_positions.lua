-- Errors point at the user's code: a wrong call to lurn's public Lua API
-- raises a message that starts with the caller's file and line (this
-- file's, at the line of the call), never one of lurn's own files, and
-- names the function and the problem — for argument errors found deep
-- inside lurn (constructors through the class system, containers, losses
-- calling C kernels, tail calls) as well as at the surface.
local lu = require "luaunit"
local lurn = require "lurn"
local nn, optim, data, train, checkpoint = lurn.nn, lurn.optim, lurn.data, lurn.train, lurn.checkpoint

local here_file = debug.getinfo(1, "S").short_src
local function line() return debug.getinfo(2, "l").currentline end
local function esc(s) return (s:gsub("%p", "%%%0")) end

-- f raises; its message must start with "<this file>:<at>: " followed by
-- `want` (plain text) — `at` is the line the wrong call is on.
local function expect(at, want, f)
  local ok, err = pcall(f)
  lu.assertFalse(ok, "no error for: " .. want)
  err = tostring(err)
  local prefix = ("%s:%d: "):format(here_file, at)
  if err:sub(1, #prefix) ~= prefix or not err:find(want, #prefix + 1, true) then
    lu.fail(("expected '%s%s...', got '%s'"):format(prefix, want, err))
  end
  lu.assertNil(err:find("lua/lurn/", 1, true), "a lurn-internal position in: " .. err)
end

local function small_model()
  return nn.Sequential { nn.Embedding(6, 4), nn.GRU(4, 5), nn.Pool("last"), nn.Linear(5, 2) }
end

TestPositions = {}

function TestPositions.test_constructors()
  expect(line(), "nn.Linear: sizes must be positive integers, got a, 2", function() local m = nn.Linear("a", 2); return m end)
  expect(line(), "nn.Linear: unknown option 'bais' (did you mean 'bias'?)", function() local m = nn.Linear(2, 2, { bais = false }); return m end)
  expect(line(), "nn.LSTM: input size and hidden size must be positive integers", function() local m = nn.LSTM(nil, 4); return m end)
  expect(line(), "nn.LSTM: unknown option 'layer' (did you mean 'layers'?)", function() local m = nn.LSTM(3, 4, { layer = 2 }); return m end)
  expect(line(), "nn.GRU: dropout must be in [0, 1), got 2", function() local m = nn.GRU(3, 4, { dropout = 2 }); return m end)
  expect(line(), "nn.Embedding: vocab and dim must be positive integers", function() local m = nn.Embedding(0, 4); return m end)
  expect(line(), "nn.Dropout: p must be in [0, 1), got 1.5", function() local m = nn.Dropout(1.5); return m end)
  expect(line(), "nn.Pool: kind must be mean, max or last, got 'avg'", function() local m = nn.Pool("avg"); return m end)
  expect(line(), "nn.Sequential: expected a list of modules {m1, m2, ...}, got number", function() local m = nn.Sequential(3); return m end)
  expect(line(), "nn.Sequential: element 2 is not a module", function() local m = nn.Sequential { nn.ReLU(), 7 }; return m end)
  expect(line(), "nn.Concat: expected a list of branches", function() local m = nn.Concat(2); return m end)
  expect(line(), "nn.CrossEntropy: unknown option 'weigth' (did you mean 'weight'?)", function() local m = nn.CrossEntropy { weigth = 1 }; return m end)
  expect(line(), "nn.MSE: reduction must be 'mean' or 'sum', got 'avg'", function() local m = nn.MSE { reduction = "avg" }; return m end)
  expect(line(), "nn.AttentionPool: dim and hidden must be positive integers", function() local m = nn.AttentionPool("x"); return m end)
  -- options that are not a table: named, not "bad argument #1 to 'for iterator'"
  expect(line(), "nn.GRU: options must be a table, got number", function() local m = nn.GRU(3, 4, 2); return m end)
  expect(line(), "nn.RNN: options must be a table, got boolean", function() local m = nn.RNN(3, 4, true); return m end)
  expect(line(), "optim.Adam: options must be a table, got string", function() local o = optim.Adam(nn.Linear(2, 2):parameters(), "fast"); return o end)
end

function TestPositions.test_forward_backward()
  expect(line(), "nn.Linear(3 -> 2): input [4,5] does not end in 3", function() local y = nn.Linear(3, 2):forward(lurn.zeros(4, 5)); return y end)
  expect(line(), "nn.Linear: expected a tensor or Seq, got nil", function() local y = nn.Linear(3, 2):forward(nil); return y end)
  expect(line(), "nn.LSTM: input [4,2,5] does not match input size 3", function() local y = nn.LSTM(3, 2):forward(lurn.zeros(4, 2, 5)); return y end)
  expect(line(), "nn.Embedding: ids must be int32, got [3,2] float32", function() local y = nn.Embedding(5, 2):forward(lurn.zeros(3, 2)); return y end)
  expect(line(), "nn.ReLU: expected a float32 tensor or Seq, got string", function() local y = nn.ReLU():forward("x"); return y end)
  expect(line(), "nn.Pool: expected a [T, B, D] Seq, got [3] float32", function() local y = nn.Pool("max"):forward(lurn.zeros(3)); return y end)
  -- a child's error through a container: the user's line, the child named
  local m = small_model()
  expect(line(), "nn.Sequential: module 1 (nn.Embedding): nn.Embedding: ids must be int32", function() local y = m:forward(lurn.zeros(3, 2)); return y end)
  expect(line(), "nn.Linear: backward before forward", function() local d = nn.Linear(3, 2):backward(lurn.zeros(4, 2)); return d end)
  expect(line(), "nn.LSTM: backward before forward", function() local d = nn.LSTM(3, 2):backward(lurn.zeros(4, 2, 2)); return d end)
  expect(line(), "nn.Pool: backward before forward", function() local d = nn.Pool("max"):backward(lurn.zeros(2, 3)); return d end)
  local e = nn.Embedding(5, 3)
  e:forward(lurn.zeros({ 2, 2 }, "int32"))
  expect(line(), "nn.Embedding: backward expects the gradient of the output (a tensor), got nil", function() local d = e:backward(nil); return d end)
  expect(line(), "nn.Linear:load_state: expected a table name -> tensor, got nil", function() local r = nn.Linear(2, 2):load_state(nil); return r end)
  expect(line(), "load_state: parameter 'weight' has shape [3,3], the model expects [2,2]", function() local r = nn.Linear(2, 2):load_state({ weight = lurn.zeros(3, 3) }); return r end)
end

function TestPositions.test_losses()
  -- the C kernel's message, at the user's line (the call happens in losses.lua)
  expect(line(), "cross_entropy: targets [5] do not match logits [4,3] (expected [4])", function() local l = nn.CrossEntropy():forward(lurn.zeros(4, 3), lurn.zeros(5, "int32")); return l end)
  -- 1-based positions in values' messages
  expect(line(), "cross_entropy: target 7 at position [2] is out of range [0, 3)", function() local l = nn.CrossEntropy():forward(lurn.zeros(2, 3), lurn.tensor({ 0, 7 }, "int32")); return l end)
  expect(line(), "mse: target [4] does not match input [3]", function() local l = nn.MSE():forward(lurn.zeros(3), lurn.zeros(4)); return l end)
  expect(line(), "nn.MSE: expected a target tensor, got nil", function() local l = nn.MSE():forward(lurn.zeros(2)); return l end)
  expect(line(), "nn.CrossEntropy: expected logits, got nil", function() local l = nn.CrossEntropy():forward(nil); return l end)
  expect(line(), "nn.CrossEntropy: expected a target tensor, got nil", function() local l = nn.CrossEntropy():forward(lurn.zeros(2, 3)); return l end)
  expect(line(), "nn.MSE: expected the input (a tensor or Seq), got number", function() local l = nn.MSE():forward(3, lurn.zeros(2)); return l end)
end

function TestPositions.test_optim()
  local params = nn.Linear(2, 2):parameters()
  -- optim.Adam tail-calls its builder: a fixed error level would miss the user
  expect(line(), "optim.Adam: expected a non-empty list of parameters or parameter groups", function() local o = optim.Adam(); return o end)
  expect(line(), "optim.Adam group 1: adam: invalid lr -1", function() local o = optim.Adam(params, { lr = -1 }); return o end)
  expect(line(), "optim.SGD: unknown option 'momentun' (did you mean 'momentum'?)", function() local o = optim.SGD(params, { momentun = 0.9 }); return o end)
  expect(line(), "optim.StepLR: option 'step_size' is required", function() local s = optim.StepLR(optim.SGD(params), {}); return s end)
  expect(line(), "optim.CosineLR: expected an optimizer", function() local s = optim.CosineLR(nil, { total = 10 }); return s end)
  expect(line(), "optim.clip_grad_norm: expected a list of parameter records or tensors, got nil", function() local n = optim.clip_grad_norm(nil, 1); return n end)
  expect(line(), "optim.clip_grad_norm: max_norm must be a number, got nil", function() local n = optim.clip_grad_norm(params); return n end)
  local opt = optim.Adam(params)
  expect(line(), "optim.Adam:load_state: expected a state table, got string", function() local r = opt:load_state("x"); return r end)
end

function TestPositions.test_train()
  local m = small_model()
  local ds = data.Dataset { seqs = { { 1, 2 }, { 3 } }, labels = { 0, 1 } }
  local base = { model = m, loss = nn.CrossEntropy(), optimizer = optim.Adam(m:parameters()), train_data = ds }
  local function with(k, v) local o = {} for a, b in pairs(base) do o[a] = b end o[k] = v return o end
  expect(line(), "train.fit: expected a table of options", function() local r = train.fit(); return r end)
  expect(line(), "train.fit: option 'model' is required", function() local r = train.fit {}; return r end)
  expect(line(), "train.fit: unknown option 'epochz' (did you mean 'epochs'?)", function() local r = train.fit(with("epochz", 2)); return r end)
  expect(line(), "train.fit: batch_size must be a non-negative integer, got 2.5", function() local r = train.fit(with("batch_size", 2.5)); return r end)
  expect(line(), "train.fit: loss must be an nn module (it has no forward method), got number", function() local r = train.fit(with("loss", 3)); return r end)
  expect(line(), "train.fit: optimizer must be an optim optimizer (it has no step method), got table", function() local r = train.fit(with("optimizer", {})); return r end)
  expect(line(), "train.fit: train_data must be a data.Dataset", function() local r = train.fit(with("train_data", { 1, 2 })); return r end)
  expect(line(), "train.fit: monitor must be a string, got number", function() local r = train.fit(with("monitor", 3)); return r end)
  expect(line(), "train.fit: on_step must be a function, got boolean", function() local r = train.fit(with("on_step", true)); return r end)
  expect(line(), "train.fit: checkpoint_dir must be a string, got table", function() local r = train.fit(with("checkpoint_dir", {})); return r end)
  expect(line(), "train.fit: schedule must be an optim schedule (with a step method), got number", function() local r = train.fit(with("schedule", 3)); return r end)
  expect(line(), "train.evaluate: expected a model (an nn module), got nil", function() local r = train.evaluate(nil, ds); return r end)
  expect(line(), "train.evaluate: options must be a table, got number", function() local r = train.evaluate(m, ds, 3); return r end)
  expect(line(), "train.evaluate: data must be a data.Dataset, got nil", function() local r = train.evaluate(m, nil); return r end)
end

function TestPositions.test_checkpoint_and_data()
  expect(line(), "checkpoint.save: path must be a string", function() local r = checkpoint.save(); return r end)
  expect(line(), "checkpoint.save: parts must be a table", function() local r = checkpoint.save("x.ckpt"); return r end)
  expect(line(), "checkpoint.save: part 'model' is missing", function() local r = checkpoint.save("no-such-dir/never.ckpt", {}); return r end)
  expect(line(), "checkpoint.save: unknown part 'modle'", function() local r = checkpoint.save("no-such-dir/never.ckpt", { modle = 1 }); return r end)
  expect(line(), "checkpoint.save: part 'model' must be an nn module or a table name -> tensor, got string", function() local r = checkpoint.save("no-such-dir/never.ckpt", { model = "m" }); return r end)
  expect(line(), "checkpoint.save: part 'optimizer' must be an optim optimizer, got number", function() local r = checkpoint.save("no-such-dir/never.ckpt", { model = {}, optimizer = 1 }); return r end)
  expect(line(), "checkpoint.save_weights: model must be an nn module or a table name -> tensor, got nil", function() local r = checkpoint.save_weights("w.safetensors"); return r end)
  expect(line(), "checkpoint.load: path must be a string", function() local r = checkpoint.load(); return r end)
  expect(line(), "checkpoint.restore: expected what checkpoint.load returned, got nil", function() local r = checkpoint.restore(nil, {}); return r end)
  expect(line(), "checkpoint.load_into: expected an nn module, got nil", function() local r = checkpoint.load_into(nil, "m.ckpt"); return r end)
  expect(line(), "checkpoint.load_weights: path must be a string", function() local r = checkpoint.load_weights(); return r end)
  expect(line(), "data.tokenize: expected a string, got nil", function() local r = data.tokenize(); return r end)
  expect(line(), "data.Vocab.build: expected a list of texts or token lists, got nil", function() local r = data.Vocab.build(); return r end)
  expect(line(), "data.Dataset: expected a table", function() local r = data.Dataset(); return r end)
  expect(line(), "Dataset: texts need a vocab", function() local r = data.Dataset { texts = { "a" } }; return r end)
  expect(line(), "data.Dataset: texts must be a list, got string", function() local r = data.Dataset { texts = "a b" }; return r end)
  expect(line(), "data.tokenize: options must be a table, got boolean", function() local r = data.tokenize("a", true); return r end)
  expect(line(), "data.Vocab.build: entry 2 is a number, not a text or a token list", function() local r = data.Vocab.build { "a", 3 }; return r end)
  expect(line(), "data.order_task: n must be a non-negative integer, got x", function() local r = data.order_task("x"); return r end)
  local vocab = data.Vocab.build { "a b" }
  local ds = data.Dataset { texts = { "a b", "b" }, vocab = vocab }
  expect(line(), "data.Dataset:batches: size must be a positive integer, got 0", function() local it = ds:batches { size = 0 }; return it end)
  expect(line(), "data.Dataset:make_batch: expected a list of sample indices, got number", function() local b = ds:make_batch(1); return b end)
  expect(line(), "gradcheck.check: expected a module (with forward and backward), got nil", function() local r = lurn.gradcheck.check(nil, lurn.zeros(2)); return r end)
end

function TestPositions.test_tensor_functions()
  -- C functions called directly: Lua's own rule (level 1) names the caller
  expect(line(), "mm: cannot multiply [2,3] by [4,5]", function() local r = lurn.mm(lurn.zeros(2, 3), lurn.zeros(4, 5)); return r end)
  expect(line(), "narrow: dim 3 out of range for a 2-d tensor", function() local r = lurn.zeros(2, 3):narrow(3, 1, 1); return r end)
end

os.exit(lu.LuaUnit.run())
