--- lurn doc NAME — the reference text of a public name (nn.LSTM, data.tokenize, ...),
-- the same text `lurn.help(NAME)` prints at the prompt.
--   lurn doc --list [PREFIX]   the documented public names (those starting with PREFIX)
local M = {}

local USAGE = "usage: lurn doc NAME         e.g. lurn doc nn.LSTM, lurn doc optim.Adam, lurn doc Tensor:narrow\n"
  .. "       lurn doc --list [PREFIX] the public names, e.g. lurn doc --list nn.\n"

function M.main(args)
  local name = args[1]
  local help = require "lurn.help"
  if name == "--list" and #args <= 2 then
    local prefix = (args[2] or ""):gsub("^lurn%.", "")
    local n = 0
    for _, k in ipairs(help.names()) do
      if k:sub(1, #prefix) == prefix then io.write(k, "\n"); n = n + 1 end
    end
    if n == 0 then
      io.stderr:write(("lurn doc: no public name starts with '%s'\n"):format(prefix))
      return 2
    end
    return 0
  end
  if not name or name == "--help" or name == "-h" or args[2] then
    io.stderr:write(USAGE)
    return (name == "--help" or name == "-h") and 0 or 2
  end
  local ok, text = pcall(help.text, name)
  if not ok then
    local msg = tostring(text):gsub("^lurn%.help: ", "")
    -- a near miss ("nn.LTSM") gets the name it probably meant
    local util = require "lurn.util"
    local set = {}
    for _, k in ipairs(help.names()) do set[k] = true end
    local guess = util.closest((name:gsub("^lurn%.", "")), set)
    if guess and util.levenshtein(guess, (name:gsub("^lurn%.", ""))) <= 2 then
      msg = msg .. (" (did you mean '%s'?)"):format(guess)
    end
    io.stderr:write("lurn doc: ", msg, "\n")
    return 2
  end
  io.write(text)
  return 0
end

return M
