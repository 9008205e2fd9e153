-- docs/examples/order_data.lua — the order task as text files, for docs/cli.md.
--
--   lurn docs/examples/order_data.lua DIR [N]
--
-- Writes DIR/train.txt (N sentences, default 1000) and DIR/test.txt (N/4)
-- in the label_text format: "label<TAB>text" per line. Each sentence holds
-- one "a" and one "b" among filler words; the label says which comes first
-- (a_first or b_first), so only a model that reads word order can learn it.
local lurn = require "lurn"

local dir, n = arg[1], math.tointeger(tonumber(arg[2] or "1000"))
if not dir or not n or n < 4 then
  io.stderr:write("usage: lurn docs/examples/order_data.lua DIR [N]\n")
  os.exit(2)
end
lurn.mkdir(dir)
lurn.seed(11)
local texts, labels = lurn.data.order_task(n + n // 4)
local function write(name, from, to)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  for i = from, to do
    f:write(labels[i] == 1 and "a_first" or "b_first", "\t", texts[i], "\n")
  end
  f:close()
  print(("wrote %s/%s (%d sentences)"):format(dir, name, to - from + 1))
end
write("train.txt", 1, n)
write("test.txt", n + 1, n + n // 4)
