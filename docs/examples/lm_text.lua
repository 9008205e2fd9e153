-- docs/examples/lm_text.lua — a small play-like text for docs/lm.md and tests.
--
--   lurn docs/examples/lm_text.lua FILE [N]
--
-- Writes N speeches (default 300): a speaker's name in capitals and a colon
-- on one line, one or two lines of words from a small grammar, a blank
-- line, as in tiny Shakespeare. Some words are not ASCII ("café", "naïve",
-- the dash "—"), so the characters are Unicode code points of 1 to 3 bytes.
-- Seeded: the same N gives the same file. FILE's directory is created.
local lurn = require "lurn"

local path, n = arg[1], math.tointeger(tonumber(arg[2] or "300"))
if not path or not n or n < 1 then
  io.stderr:write("usage: lurn docs/examples/lm_text.lua FILE [N]\n")
  os.exit(2)
end
lurn.seed(21)
local u = lurn.rand(n * 64)
local k = 0
local function pick(list) k = k + 1; return list[1 + math.floor(u:get(k) * #list)] end
local speakers = { "ROMEO", "JULIET", "NURSE", "FRIAR" }
local subjects = { "my lord", "the night", "thy heart", "the café", "a naïve friend", "this love" }
local verbs = { "is", "was", "shall be", "seems" }
local objects = { "sweet", "dark", "gone", "true", "fair — and kind", "no more" }
local out = {}
for i = 1, n do
  out[#out + 1] = pick(speakers) .. ":"
  for _ = 1, 1 + math.floor(u:get(i) * 2) do
    local s = pick(subjects)
    out[#out + 1] = s:sub(1, 1):upper() .. s:sub(2) .. " " .. pick(verbs) .. " " .. pick(objects)
      .. pick { ".", ",", "!", "?" }
  end
  out[#out + 1] = ""
end
local dir = path:match("^(.*)/[^/]*$")
if dir then lurn.mkdir(dir) end
local f = assert(io.open(path, "w"))
f:write(table.concat(out, "\n"), "\n")
f:close()
print(("wrote %s (%d speeches, %d bytes)"):format(path, n, #table.concat(out, "\n") + 1))
