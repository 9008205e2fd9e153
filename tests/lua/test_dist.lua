-- LuaUnit suite for lurn.dist's pieces that need no second process: how a
-- global batch is sharded, the weight of a local loss in the global mean
-- (the gradient average is exact only with it), the parameter hash, and the
-- facts lurn.core.dist reports outside mpirun. (Runs across ranks are
-- tests/sh/test_mpi_*.sh.)
local lu = require "luaunit"
local lurn = require "lurn"
local dist = require "lurn.dist"
local nn = lurn.nn

TestDist = {}

function TestDist.test_shards_cover_the_batch_once()
  for _, n in ipairs { 1, 2, 7, 15, 16, 33 } do
    for _, size in ipairs { 1, 2, 3, 8 } do
      local index = {}
      for i = 1, n do index[i] = 100 + i end
      local seen, sizes = {}, {}
      for r = 0, size - 1 do
        local s = dist.shard(index, r, size)
        sizes[#sizes + 1] = #s
        for k, v in ipairs(s) do
          lu.assertNil(seen[v], "sample in two shards")
          seen[v] = true
          if k > 1 then lu.assertEquals(v, s[k - 1] + 1) end   -- contiguous, in order
        end
      end
      local total = 0
      for _, c in ipairs(sizes) do total = total + c end
      lu.assertEquals(total, n)
      table.sort(sizes)
      lu.assertTrue(sizes[#sizes] - sizes[1] <= 1, "shards differ by at most one sample")
    end
  end
end

-- The weighted sum of per-shard mean losses, divided by the summed weights,
-- is the whole batch's mean loss: what the allreduce relies on.
local function check_split(loss_fn, logits, target, cut)
  local whole = loss_fn:forward(logits, target)
  local n = target:size(1)
  local a_l, a_t = logits:narrow(1, 1, cut), target:narrow(1, 1, cut)
  local b_l, b_t = logits:narrow(1, cut + 1, n - cut), target:narrow(1, cut + 1, n - cut)
  local la, wa = loss_fn:forward(a_l, a_t), dist.loss_weight(loss_fn, a_t)
  local lb, wb = loss_fn:forward(b_l, b_t), dist.loss_weight(loss_fn, b_t)
  local combined = (la * wa + lb * wb) / (wa + wb)
  lu.assertAlmostEquals(combined, whole, 1e-5 * math.max(1, math.abs(whole)))
end

function TestDist.test_loss_weight_makes_the_global_mean()
  lurn.seed(4)
  local logits = lurn.randn(7, 3)
  local target = lurn.tensor({ 0, 2, 1, 1, 2, 0, 2 }):int()
  check_split(nn.CrossEntropy(), logits, target, 3)
  -- ignored targets count for nothing
  local t2 = lurn.tensor({ 0, -100, 1, -100, 2, 0, 2 }):int()
  check_split(nn.CrossEntropy(), logits, t2, 2)
  lu.assertEquals(dist.loss_weight(nn.CrossEntropy(), t2), 5)
  -- class weights: the mean divides by the targets' weights
  local w = nn.CrossEntropy { weight = { 1, 3, 0.5 } }
  check_split(w, logits, target, 4)
  lu.assertAlmostEquals(dist.loss_weight(w, target), 1 + 0.5 + 3 + 3 + 0.5 + 1 + 0.5, 1e-6)
  -- a sum adds up as it is
  lu.assertEquals(dist.loss_weight(nn.CrossEntropy { reduction = "sum" }, target), 1)
  -- MSE: a mean over elements
  lu.assertEquals(dist.loss_weight(nn.MSE(), lurn.zeros(4, 3)), 12)
end

function TestDist.test_hash_sees_every_bit()
  local a, b = lurn.tensor { 1, 2, 3 }, lurn.tensor { 1, 2, 3 }
  local core = lurn.core.dist
  lu.assertEquals(core.hash { a }, core.hash { b })
  lu.assertEquals(#core.hash { a }, 16)
  b:view(3):narrow(1, 3, 1):fill(3.0000002)   -- one ulp away
  lu.assertNotEquals(core.hash { a }, core.hash { b })
  lu.assertNotEquals(core.hash { a, b }, core.hash { b, a })
end

function TestDist.test_outside_mpirun()
  lu.assertEquals(dist.size(), 1)
  lu.assertEquals(dist.rank(), 0)
  lu.assertFalse(dist.active())
  lu.assertTrue(dist.is_root())
  lu.assertEquals(type(dist.built()), "boolean")
end

os.exit(lu.LuaUnit.run(), true)
