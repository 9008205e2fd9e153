-- LuaUnit suite for task "lm" (lurn.text.stream, lurn.tasks.lm): the stream
-- layout, code-point tokens, the vocabulary's checkpoint state, and the
-- behaviour and gradients of the carried state: chunk after chunk with the
-- state carried gives the outputs of one long unrolled forward, and each
-- chunk's gradient is the truncated one (the carried state a constant),
-- checked against finite differences.
local lu = require "luaunit"
local lurn = require "lurn"
local nn = lurn.nn
local class = require "lurn.class"
local Module = require "lurn.nn.Module"
local stream = require "lurn.text.stream"
local lm = require "lurn.tasks.lm"
local errors = require "lurn.errors"

TestStream = {}

function TestStream:test_layout()
  -- ids 0..22: 22 (input, next) pairs, 3 streams of 7, chunks of 3, 3, 1 steps
  local ids = lurn.arange(0, 23, 1, "int32")
  local s = stream.Streams(ids, { batch = 3, bptt = 3 })
  lu.assertEquals(s.L, 7)
  lu.assertEquals(s:size(), 3)
  local seen = {}
  for b = 1, 3 do seen[b] = {} end
  local k = 0
  for batch in s:batches() do
    k = k + 1
    local t = batch.ids:size(1)
    lu.assertEquals(t, k < 3 and 3 or 1)
    lu.assertEquals(batch.ids:size(2), 3)
    for i = 1, t do
      for b = 1, 3 do
        local x, y = batch.ids:get(i, b), batch.targets:get(i, b)
        lu.assertEquals(y, x + 1)                    -- the target is the next token
        seen[b][#seen[b] + 1] = x
      end
    end
    lu.assertEquals(batch.tokens, t * 3)
  end
  -- each stream is consecutive across chunks: stream b holds (b-1)*7 .. (b-1)*7 + 6
  for b = 1, 3 do
    for i = 1, 7 do lu.assertEquals(seen[b][i], (b - 1) * 7 + i - 1) end
  end
end

function TestStream:test_on_start_and_resume()
  local n = 0
  local s = stream.Streams(lurn.arange(0, 40, 1, "int32"), { batch = 2, bptt = 4,
    on_start = function() n = n + 1 end })
  for _ in s:batches() do end
  lu.assertEquals(n, 1)
  -- resuming after chunk 2 of the plan: no reset, chunk 3 next
  local iter, it = s:batches { resume = { batches = { { 1 }, { 2 }, { 3 }, { 4 }, { 5 } }, pos = 2 } }
  local b = iter()
  lu.assertEquals(b.ids:get(1, 1), 8)
  lu.assertEquals(n, 1)
  lu.assertEquals(it.pos, 3)
end

function TestStream:test_too_short()
  local ok, e = pcall(stream.Streams, lurn.arange(0, 5, 1, "int32"), { batch = 8, bptt = 4,
    what = "t.txt" })
  lu.assertFalse(ok)
  lu.assertTrue(errors.is(e, "data"))
  lu.assertStrContains(e.message, "t.txt: 5 tokens are too few for 8 parallel streams")
end

function TestStream:test_char_tokens()
  -- code points, whitespace and newlines kept, a bad byte on its own
  lu.assertEquals(stream.tokens("a é\n\t—\xffb", "char"), { "a", " ", "é", "\n", "\t", "—", "\xff", "b" })
  lu.assertEquals(stream.tokens("", "char"), {})
  lu.assertEquals(stream.tokens("The cat.\n\nA dog", "word", true),
    { "the", "cat", ".", "<eos>", "<eos>", "a", "dog", "<eos>" })
end

function TestStream:test_vocab_state()
  local toks = stream.tokens("héllo\xff\n", "char")
  local v = stream.Vocab.build({ toks }, { kind = "char" })
  lu.assertEquals(v:size(), 6)   -- h é l o \xff \n
  local st = require("lurn.core").json_decode(require("lurn.core").json_encode(v:state()))
  local w = stream.Vocab.from_state(st)
  lu.assertEquals(w.itos, v.itos)
  local ids = w:encode(toks)
  lu.assertEquals(ids:numel(), #toks)
  for i, t in ipairs(toks) do lu.assertEquals(w:token(ids:get(i)), t) end
  local ok, e = pcall(v.encode, v, { "h", "z" }, "x.txt")
  lu.assertFalse(ok)
  lu.assertStrContains(e.message, 'x.txt: character 2 ("z") is not in the model\'s vocabulary')
  -- words: <unk> first, the rest by count; max_size counts <unk>
  local wv = stream.Vocab.build({ { "a", "b", "a", "c", "a", "b" } }, { kind = "word", max_size = 3 })
  lu.assertEquals(wv.itos, { "<unk>", "a", "b" })
  local wid, unk = wv:encode({ "a", "c" })
  lu.assertEquals(wid:totable(), { 1, 0 })
  lu.assertEquals(unk, 1)
  -- found by tests/fuzz/fuzz_stream.c: a NUL byte in the text (valid
  -- UTF-8) made the vocabulary's state one JSON cannot hold, so the first
  -- checkpoint of the run failed; it is kept as hex like invalid bytes
  local nul = stream.Vocab.build({ stream.tokens("a\0b", "char") }, { kind = "char" })
  local nst = require("lurn.core").json_decode(require("lurn.core").json_encode(nul:state()))
  lu.assertEquals(stream.Vocab.from_state(nst).itos, { "\0", "a", "b" })
  local okb, eb = pcall(stream.Vocab.from_state, { kind = "char", itos = { "a", "a" } })
  lu.assertFalse(okb)
  lu.assertTrue(errors.is(eb, "checkpoint"))
end

TestCarry = {}

-- The carried state gives the outputs of one long unrolled forward, for
-- each cell and two stacked layers.
function TestCarry:test_chunks_equal_unrolled()
  for _, ctor in ipairs { "LSTM", "GRU", "RNN" } do
    lurn.seed(3)
    local m = nn[ctor](3, 5, { layers = 2, stateful = true })
    local full = nn[ctor](3, 5, { layers = 2 })
    full:load_state(m:state())
    local x = lurn.randn(11, 2, 3)
    local yf = full:forward(x).data
    local parts, t0 = {}, 1
    for _, t in ipairs { 4, 4, 3 } do
      parts[#parts + 1] = m:forward(x:narrow(1, t0, t)).data
      t0 = t0 + t
    end
    local yc = lurn.cat(parts, 1)
    lu.assertTrue(lurn.allclose(yc, yf, 1e-5, 1e-6), ctor .. ": chunks differ from one forward")
  end
end

-- A chunk that runs the recurrent layer from a fixed initial state: the
-- truncated-BPTT objective of that chunk (the state a constant).
local Chunk = class("test.Chunk", Module)
function Chunk:__init(rnn, h0, c0)
  Module.__init(self)
  self.rnn = self:add_module("rnn", rnn)
  self.h0, self.c0 = h0, c0
end
function Chunk:forward(x) return self.rnn:forward(x, { h0 = self.h0, c0 = self.c0 }) end
function Chunk:backward(g) return self.rnn:backward(g) end

function TestCarry:test_truncated_gradient()
  lurn.seed(5)
  local m = nn.LSTM(3, 4, { layers = 2, stateful = true })
  local x = lurn.randn(10, 2, 3)
  local x1, x2 = x:narrow(1, 1, 5):contiguous(), x:narrow(1, 6, 5):contiguous()
  local r = lurn.randn(5, 2, 4)
  m:forward(x1)
  local h, c = m._carry.h:clone(), m._carry.c:clone()
  m:zero_grad()
  m:forward(x2)
  m:backward(r)
  lu.assertIsNil(m.grad_h0)                      -- nothing flows into the previous chunk

  -- the same chunk from the same state given explicitly: the same gradients
  local ref = nn.LSTM(3, 4, { layers = 2 })
  ref:load_state(m:state())
  ref:forward(x2, { h0 = h, c0 = c })
  ref:backward(r)
  local gm, gr = m:parameters(), ref:parameters()
  for i = 1, #gm do
    lu.assertTrue(lurn.allclose(gm[i].grad, gr[i].grad, 1e-5, 1e-6), gm[i].name)
  end

  -- and they are not the full-BPTT gradients of the same loss over both chunks
  local full = nn.LSTM(3, 4, { layers = 2 })
  full:load_state(m:state())
  full:forward(x)
  full:backward(lurn.cat({ lurn.zeros(5, 2, 4), r }, 1))
  local differ = false
  for i, p in ipairs(full:parameters()) do
    if not lurn.allclose(p.grad, gm[i].grad, 1e-4, 1e-5) then differ = true end
  end
  lu.assertTrue(differ, "truncated and full gradients should differ")

  -- finite differences of the chunk with the carried state held fixed
  local chunk_rnn = nn.LSTM(3, 4, { layers = 2 })
  chunk_rnn:load_state(m:state())
  local report = lurn.gradcheck.check(Chunk(chunk_rnn, h, c), x2)
  lu.assertTrue(report.ok, report.summary)
end

-- The whole language model: stateful chunks through Embedding -> LSTM ->
-- Linear equal one unrolled forward; evaluation leaves the training state
-- and mode as they were.
function TestCarry:test_model_and_evaluate()
  lurn.seed(9)
  local cfg = { model = { type = "lstm", embed = 6, hidden = 8, layers = 2, dropout = 0,
    embed_dropout = 0, input_dropout = 0, output_dropout = 0, bidirectional = false } }
  local spec = lm.spec(cfg, 7)
  local model = nn.build(spec)
  local layers = lm.stateful_layers(model)
  lu.assertEquals(#layers, 1)
  local ids = (lurn.rand(41) * 7):floor():int()
  local s = stream.Streams(ids, { batch = 2, bptt = 6 })
  local outs = {}
  for b in s:batches() do outs[#outs + 1] = model:forward(b).data:clone() end
  -- one forward over each whole stream, from zero states
  layers[1]:reset_state()
  local whole = model:forward({ ids = s.x:t():contiguous() }).data
  lu.assertTrue(lurn.allclose(lurn.cat(outs, 1), whole, 1e-5, 1e-6))

  layers[1]:reset_state()
  model:forward(s:chunk(1))
  local h = layers[1]._carry.h:clone()
  local r1 = lm.evaluate(model, s)
  lu.assertTrue(model.training)
  lu.assertTrue(lurn.allclose(layers[1]._carry.h, h, 0, 0))
  local r2 = lm.evaluate(model, s)
  lu.assertEquals(r1.loss, r2.loss)              -- from reset states every time
  lu.assertEquals(r1.n, 40)
  lu.assertAlmostEquals(r1.bits, r1.loss / math.log(2), 1e-12)
  lu.assertAlmostEquals(r1.perplexity, math.exp(r1.loss), 1e-9)
  -- a uniform guess scores log(7): an untrained model is near it
  lu.assertTrue(math.abs(r1.loss - math.log(7)) < 0.5)
end

TestSample = {}

-- lurn sample hands a run of another task to lurn.tasks.<task>.sample_main,
-- with the command's arguments untouched (options lurn sample does not know
-- included); a run of an unknown task is a checkpoint error.
function TestSample:test_dispatch()
  local tasks = require "lurn.tasks"
  local got
  package.preload["test_lm_fake_task"] = function()
    return {
      load_saved = function(file, state) return { path = file, state = state, config = {} } end,
      sample_main = function(args, s) got = { args = args, s = s }; return 0 end,
    }
  end
  tasks.registry[#tasks.registry + 1] = { "fake", "test_lm_fake_task" }
  local path = os.tmpname()
  require("lurn.checkpoint").save(path, { model = nn.Linear(2, 2),
    extra = { kind = "lurn-run", version = 1, task = "fake" } })
  local args = { "--length", "3", path, "--midi", "out.mid" }
  local rc = require("lurn.commands.sample").main(args)
  table.remove(tasks.registry)
  lu.assertEquals(rc, 0)
  lu.assertEquals(got.args, args)
  lu.assertEquals(got.s.task, "fake")
  lu.assertEquals(got.s.path, path)
  local ok, e = pcall(require("lurn.commands.sample").main, { path })
  os.remove(path)
  lu.assertFalse(ok)
  lu.assertTrue(errors.is(e, "checkpoint"))
  lu.assertStrContains(e.message, "written for task 'fake', which this lurn does not know")
end

os.exit(lu.LuaUnit.run(), true)
