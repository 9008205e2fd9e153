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

os.exit(lu.LuaUnit.run(), true)
