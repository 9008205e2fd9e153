-- A long training loop keeps a flat RSS: dead tensors are collected even
-- though Lua's collector sees only their small userdata headers.
local lu = require "luaunit"
local lurn = require "lurn"
local nn = lurn.nn

local function rss_mb()
  local f = assert(io.open("/proc/self/statm"))
  local _, resident = f:read("n", "n")
  f:close()
  return resident * 4096 / 2 ^ 20
end

TestMemory = {}
function TestMemory:test_training_loop_rss_is_flat()
  if lurn.info().build_type:find("sanitize") then
    -- ASan keeps freed blocks in quarantine, so RSS says nothing there
    lu.skip("RSS is not meaningful under AddressSanitizer")
  end
  lurn.seed(1)
  local model = nn.Sequential {
    nn.Embedding(1000, 64), nn.LSTM(64, 128, { bidirectional = true }),
    nn.Pool("max"), nn.Linear(256, 2),
  }
  local opt = lurn.optim.Adam(model:parameters(), { lr = 1e-3 })
  local ce = nn.CrossEntropy()
  local labels = lurn.zeros(32, "int32")
  local at = {}
  for step = 1, 300 do
    local ids = lurn.randperm(1000):narrow(1, 1, 960):contiguous():view(30, 32)
    ce:forward(model:forward(ids), labels)
    model:zero_grad()
    model:backward(ce:backward())
    opt:step()
    if step == 100 or step == 300 then at[step] = rss_mb() end
  end
  -- each step allocates several MB of tensors; 200 more steps may not add 8 MB
  lu.assertTrue(at[300] - at[100] < 8, ("RSS grew from %.1f to %.1f MB"):format(at[100], at[300]))
end

-- The lurn binary runs Lua's generational collector (LURN_GC=inc: the
-- incremental one), and tensor pressure then frees dead tensors with young
-- collections even among many old Lua objects (a text task's data): 2 GB of
-- 1 MB temporaries in a heap of 300,000 tables must not pile up.
function TestMemory:test_generational_collector()
  local want = os.getenv("LURN_GC") == "inc" and "incremental" or "generational"
  lu.assertEquals(collectgarbage(want), want)   -- returns the mode it was in
  -- another value is an error, before anything runs
  local lurn_bin = (os.getenv("LURN_TEST_BUILD_DIR") or "../../build") .. "/lurn"
  local p = io.popen("LURN_GC=generational " .. lurn_bin .. " -e 'print(1)' 2>&1; echo \"rc=$?\"")
  local out = p:read("a")
  p:close()
  lu.assertStrContains(out, "lurn: LURN_GC='generational': expected 'gen' (generational, the "
    .. "default) or 'inc' (incremental)")
  lu.assertStrContains(out, "rc=2")
  local old = {}
  for i = 1, 300000 do old[i] = { i } end
  collectgarbage("collect")
  local before, peak = rss_mb(), 0
  local sum = 0
  for i = 1, 2048 do
    local t = lurn.ones(262144)   -- 1 MB, dead at the next iteration
    sum = sum + t:get(i)
    if i % 64 == 0 then peak = math.max(peak, rss_mb()) end
  end
  lu.assertEquals(sum, 2048)
  lu.assertEquals(#old, 300000)
  if not lurn.info().build_type:find("sanitize") then
    lu.assertTrue(peak - before < 128, ("RSS grew from %.1f to %.1f MB"):format(before, peak))
  end
end

-- Big tensors go back to the system when they die (src/core/tensor.c, glibc's
-- mmap threshold held fixed): in a loop where each step's big tensors partly
-- outlive it, glibc's own rule moved them onto the heap and kept 24 MB of
-- dead holes mapped after all of them were gone (the peak RSS of a GRU step
-- at H=512 fell from 213-250 to 188 MB with the fix).
function TestMemory:test_big_tensors_return_to_the_system()
  if lurn.info().build_type:find("sanitize") then
    lu.skip("RSS is not meaningful under AddressSanitizer")
  end
  collectgarbage("collect")
  local before = rss_mb()
  local keep = {}
  for step = 1, 40 do
    local a = lurn.zeros(2 * 1024 * 1024)          -- 8 MiB, dead within the step
    keep[step % 2] = lurn.zeros(2 * 1024 * 1024 + step)   -- 8 MiB, lives one step more
    a:free()
  end
  keep = nil
  collectgarbage("collect")
  collectgarbage("collect")
  local after = rss_mb()
  lu.assertTrue(after - before < 4, ("RSS %.1f MB before, %.1f MB once every tensor was dead")
    :format(before, after))
end

os.exit(lu.LuaUnit.run(), true)
