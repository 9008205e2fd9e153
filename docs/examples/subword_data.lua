-- docs/examples/subword_data.lua — sentiment that only the parts of words reveal, for docs/data.md.
--
--   lurn docs/examples/subword_data.lua DIR [N]
--
-- Writes DIR/train.txt (N sentences, default 800) and DIR/test.txt (N/4) in
-- the label_text format. Each sentence holds filler words and one word made
-- of a stem and a suffix: the stem says the label (brill-, splend-, marvel-
-- are pos; dread-, horri-, wretch- are neg). Training sentences use the
-- suffixes -ant -ous -ful -ish -ly, test sentences -ness -est -ive, so every
-- test word that carries the label is unseen in training: a model of whole
-- words reads <unk> there, a model with subwords (data.subwords) reads the stem.
local lurn = require "lurn"

local dir, n = arg[1], math.tointeger(tonumber(arg[2] or "800"))
if not dir or not n or n < 4 then
  io.stderr:write("usage: lurn docs/examples/subword_data.lua DIR [N]\n")
  os.exit(2)
end
lurn.mkdir(dir)
lurn.seed(5)
local STEMS = { pos = { "brill", "splend", "marvel" }, neg = { "dread", "horri", "wretch" } }
local FILL = { "the", "a", "film", "was", "it", "plot", "and", "so", "this", "show" }
local function pick(list) return list[math.floor(lurn.rand(1):item() * #list) + 1] end
local function write(name, count, suffixes)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  for i = 1, count do
    local label = i % 2 == 0 and "pos" or "neg"
    local words = {}
    for k = 1, 3 + math.floor(lurn.rand(1):item() * 4) do words[k] = pick(FILL) end
    table.insert(words, math.floor(lurn.rand(1):item() * #words) + 1,
      pick(STEMS[label]) .. pick(suffixes))
    f:write(label, "\t", table.concat(words, " "), "\n")
  end
  f:close()
  print(("wrote %s/%s (%d sentences)"):format(dir, name, count))
end
write("train.txt", n, { "ant", "ous", "ful", "ish", "ly" })
write("test.txt", n // 4, { "ness", "est", "ive" })
