--- bench/threads_pair.lua — lurn at 1 thread against lurn at its default thread count,
-- interleaved in one process (issue 13: "under load, lurn at its default threads never
-- slower than lurn at 1 thread").
--
--   lurn bench/threads_pair.lua --cell lstm --B 32 --T 50 --I 128 --H 128 [--pairs 21]
--        [--threads 2] [--mode train|infer]
--
-- Each pair times one step at 1 thread and one at --threads (default: every core), in
-- alternating order, so a machine whose speed drifts (a VM, another process) moves both
-- sides of a pair alike. A separate process per side, as bench/run.sh --compete measures,
-- sees minutes of drift between the two. Prints one JSON line: both sides' medians, the
-- median of the per-pair ratios (1 thread / default: above 1, the default is faster) and
-- how many pairs the default lost. bench/under_load.sh runs it beside a busy process.
local lurn = require "lurn"
local common = dofile((arg[0]:match("^(.*)/") or ".") .. "/common.lua")

-- A bad argument: the message and exit 2, not a traceback.
local function usage_error(msg)
  io.stderr:write("threads_pair: ", msg, "\n")
  os.exit(2)
end

local function parse_args(argv)
  local a = { cell = "lstm", B = 32, T = 50, I = 128, H = 128, pairs = 21, threads = 0,
              mode = "train", warmup = 2 }
  local i = 1
  while i <= #argv do
    local k = argv[i]:match("^%-%-(.+)$")
    local v = argv[i + 1]
    if not k or a[k] == nil then usage_error("unknown argument " .. tostring(argv[i])) end
    if v == nil then usage_error("--" .. k .. " needs a value") end
    a[k] = math.tointeger(tonumber(v)) or v
    i = i + 2
  end
  if a.mode ~= "train" and a.mode ~= "infer" then usage_error("--mode must be train or infer") end
  return a
end

local function main(argv)
  local a = parse_args(argv)
  local many = a.threads > 0 and a.threads or lurn.threads(0)
  lurn.seed(0)
  local ctor = ({ rnn = lurn.nn.RNN, lstm = lurn.nn.LSTM, gru = lurn.nn.GRU })[a.cell]
  if not ctor then usage_error("unknown cell " .. a.cell .. " (rnn, lstm or gru)") end
  local m = ctor(a.I, a.H)
  local opt = lurn.optim.SGD(m:parameters(), { lr = 1e-3 })
  local x = lurn.randn(a.T, a.B, a.I)
  local dy = lurn.randn(a.T, a.B, a.H):mul(0.01)
  local step
  if a.mode == "train" then
    m:train()
    step = function() m:zero_grad(); m:forward(x); m:backward(dy); opt:step() end
  else
    m:eval()
    step = function() m:forward(x) end
  end
  local function timed(n)
    lurn.threads(n)
    local t0 = common.now_ms()
    step()
    return common.now_ms() - t0
  end
  for _ = 1, a.warmup do timed(1); timed(many) end
  local one, def, ratio, lost = {}, {}, {}, 0
  for p = 1, a.pairs do
    local t1, tn
    if p % 2 == 1 then t1 = timed(1); tn = timed(many) else tn = timed(many); t1 = timed(1) end
    one[p], def[p], ratio[p] = t1, tn, t1 / tn
    if tn > t1 then lost = lost + 1 end
  end
  print(("{\"cell\": \"%s\", \"size\": \"%d,%d,%d,%d\", \"mode\": \"%s\", \"threads\": %d, " ..
         "\"pairs\": %d, \"one_ms\": %.3f, \"default_ms\": %.3f, \"ratio\": %.3f, \"lost\": %d}")
        :format(a.cell, a.B, a.T, a.I, a.H, a.mode, many, a.pairs, common.median(one),
                common.median(def), common.median(ratio), lost))
end

main(arg or { ... })
