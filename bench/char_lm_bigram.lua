-- bench/char_lm_bigram.lua — the bigram count baseline of a character language model, on
-- task "lm"'s split (the last 10 % of the characters held out, as configs/shakespeare-char.lua).
--
--   lurn bench/char_lm_bigram.lua data/tinyshakespeare/input.txt [VALID_FRACTION]
--
-- P(b | a) = (count(a b) + alpha) / (count(a) + alpha * V) from the training part's
-- character pairs (V: the characters of the whole file, as lm's vocabulary), scored on the
-- validation part's pairs in nats per character, for alpha 0.01, 0.1 and 1. Issue 11
-- quotes 2.48 for tiny Shakespeare: the figure checks that the split is the usual one.
local stream = require "lurn.text.stream"
local path, frac = arg[1], tonumber(arg[2] or "0.1")
if not path or not frac then
  io.stderr:write("usage: lurn bench/char_lm_bigram.lua FILE [VALID_FRACTION]\n")
  os.exit(2)
end
local f = assert(io.open(path, "rb"))
local toks = stream.tokens(f:read("a"), "char")
f:close()
local n = #toks
local nv = math.floor(n * frac)
local ntr = n - nv
local seen, V = {}, 0
for _, t in ipairs(toks) do if not seen[t] then seen[t] = true; V = V + 1 end end
local pairs2, ones = {}, {}
for i = 1, ntr - 1 do
  local a, b = toks[i], toks[i + 1]
  ones[a] = (ones[a] or 0) + 1
  pairs2[a .. "\0" .. b] = (pairs2[a .. "\0" .. b] or 0) + 1
end
for _, alpha in ipairs { 0.01, 0.1, 1 } do
  local sum, m = 0, 0
  for i = ntr + 1, n - 1 do
    local a, b = toks[i], toks[i + 1]
    sum = sum - math.log(((pairs2[a .. "\0" .. b] or 0) + alpha) / ((ones[a] or 0) + alpha * V))
    m = m + 1
  end
  print(("bigram (alpha %g): %.4f nats/char, %.4f bits/char on %d validation pairs "
    .. "(%d characters, %d distinct; %d train, %d valid)"):format(alpha, sum / m,
    sum / m / math.log(2), m, n, V, ntr, nv))
end
