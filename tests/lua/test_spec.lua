-- LuaUnit suite for model specs: m:spec() on every nn module and
-- nn.build(spec), through JSON as a checkpoint stores them, and the errors
-- of a spec that does not describe a model.
local lu = require "luaunit"
local lurn = require "lurn"
local core = require "lurn.core"
local nn = lurn.nn

local function ids(t) return lurn.tensor(t, "int32") end
local function batch() return { ids = ids { { 1, 2 }, { 3, 0 }, { 4, 0 } }, lengths = ids { 3, 1 } } end
local function seqx(d) return nn.seq.new(lurn.randn(3, 2, d), ids { 3, 2 }) end

-- Examples of every constructor (with its options), each with an input
-- for a forward pass (nil for losses). A layer added to nn without an
-- example here fails test_every_constructor_has_an_example.
local EXAMPLES = {
  Linear = { { function() return nn.Linear(4, 3) end, function() return lurn.randn(2, 4) end },
    { function() return nn.Linear(4, 3, { bias = false }) end, function() return lurn.randn(2, 4) end } },
  Embedding = { { function() return nn.Embedding(6, 4, { padding = 0 }) end, batch },
    { function() return nn.Embedding(6, 4) end, batch },
    { function() return nn.Embedding(6, 4, { padding = 0, dropout = 0.2 }) end, batch } },
  AttentionPool = { { function() return nn.AttentionPool(4) end, function() return seqx(4) end },
    { function() return nn.AttentionPool(4, { hidden = 3 }) end, function() return seqx(4) end } },
  Dropout = { { function() return nn.Dropout(0.3) end, function() return lurn.randn(2, 4) end },
    { function() return nn.Dropout(0.2, { variational = true }) end, function() return seqx(4) end } },
  Pool = { { function() return nn.Pool("mean") end, function() return seqx(4) end },
    { function() return nn.Pool("last") end, function() return seqx(4) end } },
  -- (its output is a batch of ids, not a tensor: test_sentiment_layers.lua checks it)
  Ngrams = { { function() return nn.Ngrams(6, 16) end }, { function() return nn.Ngrams(6, 16, 3) end } },
  SubwordEmbedding = { { function() return nn.SubwordEmbedding(6, 16, 4) end, function()
      return { word_ids = ids { { 2, 0 }, { 3, 0 } }, lengths = ids { 2, 1 },
        subwords = { pos = ids { 0, 0, 1, 2 }, ids = ids { 1, 5, 16, 3 },
          scale = lurn.tensor { { { 1 / 3 }, { 0 } }, { { 1 / 2 }, { 1 } } } } } end },
    { function() return nn.SubwordEmbedding(6, 16, 4, { dropout = 0.2 }) end } },
  ReLU = { { function() return nn.ReLU() end, function() return lurn.randn(2, 3) end } },
  Tanh = { { function() return nn.Tanh() end, function() return lurn.randn(2, 3) end } },
  Sigmoid = { { function() return nn.Sigmoid() end, function() return lurn.randn(2, 3) end } },
  Softmax = { { function() return nn.Softmax() end, function() return lurn.randn(2, 3) end } },
  LogSoftmax = { { function() return nn.LogSoftmax() end, function() return lurn.randn(2, 3) end } },
  LSTM = { { function() return nn.LSTM(4, 5, { layers = 2, bidirectional = true, dropout = 0.1,
    input_dropout = 0.1, output_dropout = 0.2, init = "orthogonal", forget_bias = 1 }) end,
    function() return seqx(4) end },
    { function() return nn.LSTM(4, 5, { output = "last", bias = false }) end, function() return seqx(4) end } },
  GRU = { { function() return nn.GRU(4, 3, { bidirectional = true }) end, function() return seqx(4) end },
    { function() return nn.GRU(4, 3, { stateful = true }) end, function() return seqx(4) end } },
  RNN = { { function() return nn.RNN(4, 3, { nonlinearity = "relu", layers = 3 }) end,
    function() return seqx(4) end } },
  Sequential = { { function()
    return nn.Sequential { nn.Embedding(6, 4, { padding = 0 }), nn.LSTM(4, 5, { bidirectional = true }),
      nn.Pool("max"), nn.Dropout(0.1), nn.Linear(10, 2) }
  end, batch },
    { function()   -- children added after construction are part of the spec
      local s = nn.Sequential {}
      s:add(nn.Linear(3, 3)):add(nn.Tanh())
      return s
    end, function() return lurn.randn(2, 3) end } },
  Concat = { { function()
    return nn.Concat(3, { nn.GRU(4, 2), nn.Sequential { nn.LSTM(4, 3), nn.ReLU() } })
  end, function() return seqx(4) end } },
  Attention = { { function() return nn.Attention(4, 6) end,
    function() return { query = lurn.randn(2, 2, 4), memory = seqx(6) } end },
    { function() return nn.Attention(4, 6, { type = "additive", hidden = 3 }) end,
      function() return { query = lurn.randn(2, 2, 4), memory = seqx(6) } end },
    { function() return nn.Attention(4, 6, { type = "general" }) end,
      function() return { query = lurn.randn(2, 2, 4), memory = seqx(6) } end },
    { function() return nn.Attention(6, 6, { type = "dot" }) end,
      function() return { query = lurn.randn(2, 2, 6), memory = seqx(6) } end } },
  Seq2Seq = { { function() return nn.Seq2Seq(6, 7, { embed = 4, hidden = 3 }) end, function()
      return { src = ids { { 4, 5 }, { 5, 0 } }, src_lengths = ids { 2, 1 },
        tgt_in = ids { { 2, 2 }, { 6, 4 } }, tgt_lengths = ids { 2, 2 } } end },
    { function() return nn.Seq2Seq(6, 7, { cell = "gru", embed = 4, hidden = 3, layers = 2,
      decoder_hidden = 6, attention = "dot", input_feeding = false, tie_embeddings = true,
      dropout = 0.1 }) end, function()
      return { src = ids { { 4, 5 }, { 5, 0 } }, src_lengths = ids { 2, 1 },
        tgt_in = ids { { 2, 2 }, { 6, 4 } }, tgt_lengths = ids { 2, 2 } } end } },
  CrossEntropy = { { function() return nn.CrossEntropy() end },
    { function() return nn.CrossEntropy { weight = lurn.tensor { 1, 2 }, ignore_index = 3,
      reduction = "sum" } end },
    { function() return nn.CrossEntropy { label_smoothing = 0.1 } end } },
  BCEWithLogits = { { function() return nn.BCEWithLogits { reduction = "sum" } end } },
  MSE = { { function() return nn.MSE() end } },
  CTC = { { function() return nn.CTC() end },
    { function() return nn.CTC { blank = 3, reduction = "sum", zero_infinity = true } end } },
}

-- A spec through JSON, as a checkpoint stores it.
local function through_json(spec) return core.json_decode(core.json_encode(spec)) end

local function out_data(y) return nn.seq.split(y) end

TestSpec = {}
function TestSpec:setUp() lurn.seed(7) end

function TestSpec:test_every_constructor_has_an_example()
  local ctors = nn.constructors()
  local names = {}
  for name in pairs(ctors) do names[#names + 1] = name end
  table.sort(names)
  lu.assertTrue(#names >= 17)
  for _, name in ipairs(names) do
    lu.assertNotNil(EXAMPLES[name], ("nn.%s has no spec example in test_spec.lua"):format(name))
  end
end

function TestSpec:test_round_trip_every_example()
  for name, list in pairs(EXAMPLES) do
    for k, ex in ipairs(list) do
      local what = ("%s example %d"):format(name, k)
      local m = ex[1]()
      local spec = m:spec()
      lu.assertEquals(spec.type, name, what)
      local spec2 = through_json(spec)
      lu.assertEquals(spec2, spec, what)
      local m2 = nn.build(spec2)
      lu.assertEquals(getmetatable(m2), getmetatable(m), what)
      lu.assertEquals(m2:spec(), spec, what)
      lu.assertEquals(tostring(m2), tostring(m), what)
      -- same parameter names and shapes; with the weights copied, same outputs
      local p1, p2 = m:parameters(), m2:parameters()
      lu.assertEquals(#p2, #p1, what)
      for i, p in ipairs(p1) do
        lu.assertEquals(p2[i].name, p.name, what)
        lu.assertEquals(p2[i].value:shape(), p.value:shape(), what)
      end
      if ex[2] then
        m2:load_state(m:state())
        m:eval(); m2:eval()
        local x = ex[2]()
        local y1, y2 = out_data(m:forward(x)), out_data(m2:forward(x))
        lu.assertEquals(y2:shape(), y1:shape(), what)
        lu.assertEquals(y2:sub(y1):abs():max(), 0, what)
      end
    end
  end
end

function TestSpec:test_recurrent_spec_keeps_only_non_defaults()
  lu.assertEquals(nn.LSTM(16, 32):spec(), { type = "LSTM", args = { 16, 32 } })
  lu.assertEquals(nn.LSTM(16, 32, { layers = 2, bidirectional = true }):spec(),
    { type = "LSTM", args = { 16, 32, { layers = 2, bidirectional = true } } })
  lu.assertEquals(nn.RNN(3, 4, { nonlinearity = "relu" }):spec().args[3], { nonlinearity = "relu" })
end

function TestSpec:test_contract_example()
  -- the shape the config sandbox emits: a Sequential of nested specs
  local m = nn.build { type = "Sequential", args = { {
    { type = "Embedding", args = { 10, 8, { padding = 0 } } },
    { type = "LSTM", args = { 8, 16, { layers = 2 } } },
    { type = "Pool", args = { "max" } },
    { type = "Linear", args = { 16, 2 } },
  } } }
  lu.assertEquals(m:num_parameters(), 10 * 8 + 4 * 16 * (8 + 16 + 2) + 4 * 16 * (16 + 16 + 2) + 16 * 2 + 2)
  lu.assertEquals(m:parameters()[2].name, "1.weight_ih_l0")
end

function TestSpec:test_errors_name_the_place()
  lu.assertErrorMsgEquals("nn.build: spec: unknown type 'LSTMM' (did you mean 'LSTM'?)",
    nn.build, { type = "LSTMM", args = { 1, 2 } })
  lu.assertErrorMsgEquals(
    "nn.build: spec.args[1][2] (LSTM): nn.LSTM: unknown option 'layer' (did you mean 'layers'?)",
    nn.build, { type = "Sequential", args = { { { type = "Linear", args = { 2, 2 } },
      { type = "LSTM", args = { 2, 2, { layer = 2 } } } } } })
  lu.assertErrorMsgEquals("nn.build: spec: the spec has no type (a string naming an nn constructor)",
    nn.build, { args = {} })
  lu.assertErrorMsgEquals("nn.build: spec: expected a spec table {type = ..., args = {...}}, got a string",
    nn.build, "LSTM")
  lu.assertErrorMsgEquals("nn.build: spec: unknown field 'weights' in a spec (it has type and args)",
    nn.build, { type = "Tanh", weights = {} })
  lu.assertErrorMsgContains("a spec holds plain data only, found a function",
    nn.build, { type = "Linear", args = { 2, function() end } })
  -- the abstract base and non-constructors cannot be named
  lu.assertErrorMsgContains("unknown type 'Module'", nn.build, { type = "Module" })
  lu.assertErrorMsgContains("unknown type 'seq'", nn.build, { type = "seq" })
  lu.assertErrorMsgContains("unknown type 'build'", nn.build, { type = "build" })
  -- a hostile nesting depth is an error, not a stack overflow
  local deep = { type = "Tanh", args = {} }
  for _ = 1, 200 do deep = { type = "Sequential", args = { { deep } } } end
  lu.assertErrorMsgContains("nested more than 64 deep", nn.build, deep)
  -- a module without spec() says so
  local Odd = lurn.class("nn.Odd", nn.Module)
  lu.assertErrorMsgContains("nn.Odd: spec() is not implemented", function() return Odd():spec() end)
end

os.exit(lu.LuaUnit.run())
