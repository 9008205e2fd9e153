-- bench/cv_summary.lua — the accuracy of a k-fold run (lurn train with data.folds = k).
--
--   lurn bench/cv_summary.lua RUN_DIR [RUN_DIR ...]
--
-- For each run: the mean and sample sd over its folds of the validation accuracy after
-- the last epoch (the honest figure: no epoch is picked on the fold it is scored on),
-- the mean of each fold's best epoch (what lurn train's summary shows: optimistic), and
-- the training seconds summed over the folds. With several runs (e.g. seeds), the mean and
-- sd of their final-epoch means follow.
local json = { decode = require("lurn.core").json_decode }

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a"); f:close()
  return json.decode(s)
end

local function mean_sd(xs)
  local s = 0
  for _, x in ipairs(xs) do s = s + x end
  local m, v = s / #xs, 0
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  return m, #xs > 1 and math.sqrt(v / (#xs - 1)) or 0
end

if #arg == 0 then io.stderr:write("usage: lurn bench/cv_summary.lua RUN_DIR [RUN_DIR ...]\n"); os.exit(2) end
local means = {}
for _, dir in ipairs(arg) do
  local finals, bests, secs = {}, {}, 0
  for i = 1, 1000 do
    local s = read(("%s/fold-%d/summary.json"):format(dir, i))
    if not s then break end
    finals[#finals + 1] = s.final.accuracy
    bests[#bests + 1] = s.best.value
    secs = secs + s.seconds
  end
  if #finals == 0 then io.stderr:write(dir, ": no finished fold\n"); os.exit(3) end
  local m, sd = mean_sd(finals)
  local mb = mean_sd(bests)
  print(("%s: %d folds, final-epoch accuracy %.4f (sd over folds %.4f); best-epoch mean %.4f "
    .. "(optimistic); %.0f s of training"):format(dir, #finals, m, sd, mb, secs))
  means[#means + 1] = m
end
if #means > 1 then
  local m, sd = mean_sd(means)
  print(("mean over %d runs: %.4f, sd %.4f"):format(#means, m, sd))
end
