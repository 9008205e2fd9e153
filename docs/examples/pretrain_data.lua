-- docs/examples/pretrain_data.lua — small SST-2-like TSV files for docs/pretraining.md.
--
--   lurn docs/examples/pretrain_data.lua DIR [N]
--
-- Writes DIR/train.tsv (N sentences, default 400) and DIR/dev.tsv (N / 4), each with
-- GLUE's header `sentence<TAB>label`: a few filler words around one sentiment word, label 1
-- for a positive one, 0 for a negative one, lower-case as SST-2 is. Seeded: the same N
-- gives the same files. DIR is created.
local lurn = require "lurn"

local dir, n = arg[1], math.tointeger(tonumber(arg[2] or "400"))
if not dir or not n or n < 4 then
  io.stderr:write("usage: lurn docs/examples/pretrain_data.lua DIR [N >= 4]\n")
  os.exit(2)
end
os.execute("mkdir -p '" .. dir:gsub("'", "'\\''") .. "'")
lurn.seed(5)
local pos = { "good", "great", "fine", "nice", "moving" }
local neg = { "bad", "awful", "poor", "dull", "tedious" }
local filler = { "the", "film", "was", "a", "plot", "and", "very", "movie", "story", "is",
  "acting", "quite" }
local u = lurn.rand(n * 40)
local k = 0
local function pick(list) k = k + 1; return list[1 + math.floor(u:get(k) * #list)] end
local function write(path, count)
  local f = assert(io.open(path, "w"))
  f:write("sentence\tlabel\n")
  for _ = 1, count do
    local label = pick { 0, 1 }
    local w = {}
    for j = 1, 3 + pick { 0, 1, 2, 3 } do w[j] = pick(filler) end
    table.insert(w, 1 + math.floor(#w / 2), pick(label == 1 and pos or neg))
    f:write(table.concat(w, " "), "\t", label, "\n")
  end
  f:close()
end
write(dir .. "/train.tsv", n)
write(dir .. "/dev.tsv", n // 4)
print(("wrote %s/train.tsv (%d sentences) and %s/dev.tsv (%d)"):format(dir, n, dir, n // 4))
