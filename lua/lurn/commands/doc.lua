--- lurn doc NAME — the reference text of a public name (nn.LSTM, data.tokenize, ...),
-- the same text `lurn.help(NAME)` prints at the prompt.
local M = {}

function M.main(args)
  local name = args[1]
  if not name or name == "--help" or name == "-h" or args[2] then
    io.stderr:write("usage: lurn doc NAME     e.g. lurn doc nn.LSTM, lurn doc data.tokenize\n")
    return (name == "--help" or name == "-h") and 0 or 2
  end
  local ok, text = pcall(require("lurn.help").text, name)
  if not ok then
    io.stderr:write("lurn doc: ", (tostring(text):gsub("^lurn%.help: ", "")), "\n")
    return 2
  end
  io.write(text)
  return 0
end

return M
