-- docs/examples/negation_data.lua — sentiment that depends on word order and negation.
--
--   lurn docs/examples/negation_data.lua DIR [N] [SEED]
--
-- Writes DIR/train.txt (N sentences, default 1000) and DIR/test.txt (N/4),
-- one "label<TAB>text" a line (labels neg, pos). Every sentence holds filler
-- words, one polar word (good, great, nice, fine / bad, awful, poor, dull) and
-- exactly one "not". Half the time "not" stands right before the polar word and
-- flips it ("the plot was not good" is neg); otherwise it stands somewhere after
-- it and flips nothing ("good , and not long" is pos). Both kinds use the same
-- words with the same frequencies, so a bag of words cannot do better than
-- chance; a model that reads the order can reach 100 %.
local dir = arg[1]
local n = math.tointeger(tonumber(arg[2] or "1000"))
local seed = math.tointeger(tonumber(arg[3] or "7"))
if not dir or not n or n < 4 or not seed then
  io.stderr:write("usage: lurn docs/examples/negation_data.lua DIR [N] [SEED]\n")
  os.exit(2)
end
require("lurn").mkdir(dir)
math.randomseed(seed)   -- Lua 5.4's xoshiro256**: the same files on every machine

local POS = { "good", "great", "nice", "fine" }
local NEG = { "bad", "awful", "poor", "dull" }
local FILL = { "the", "film", "plot", "was", "it", "is", "and", "a", "story", "acting",
               "really", "quite", "long", "this", "so", "," }

local function fillers(k, out)
  for _ = 1, k do out[#out + 1] = FILL[math.random(#FILL)] end
end

-- The same number of fillers (1..6, drawn alike) in both kinds, so not even
-- the length tells them apart.
local function sentence()
  local positive = math.random(2) == 1
  local word = (positive and POS or NEG)[math.random(4)]
  local negated = math.random(2) == 1
  local total = math.random(6)
  local w = {}
  if negated then               -- fillers, "not", the word, fillers
    local before = math.random(0, total)
    fillers(before, w)
    w[#w + 1] = "not"
    w[#w + 1] = word
    fillers(total - before, w)
  else                          -- fillers, the word, >= 1 filler, "not", fillers
    local before = math.random(0, total - 1)
    local between = math.random(1, total - before)
    fillers(before, w)
    w[#w + 1] = word
    fillers(between, w)
    w[#w + 1] = "not"
    fillers(total - before - between, w)
  end
  return (positive ~= negated) and "pos" or "neg", table.concat(w, " ")
end

local function write(name, count)
  local f = assert(io.open(dir .. "/" .. name, "w"))
  for _ = 1, count do
    local label, s = sentence()
    f:write(label, "\t", s, "\n")
  end
  f:close()
  print(("wrote %s/%s (%d sentences)"):format(dir, name, count))
end
write("train.txt", n)
write("test.txt", n // 4)
