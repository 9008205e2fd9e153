--- lurn.help — the reference text of a public name, from its doc comment.
--
--   lurn.help(nn.LSTM)        lurn.help "nn.LSTM"        lurn doc nn.LSTM
--
-- all print the same text: the LDoc comment (`--- ...` lines) right above
-- the name's definition in lua/lurn/, with `@tparam`/`@treturn`/`@usage`
-- turned into plain "Arguments", "Returns" and "Example" sections. The HTML
-- reference (`cmake --build build --target docs`, ldoc) reads the same
-- comments, so the prompt, the command line and the web page cannot drift.
-- @module lurn.help
local M = {}

-- Modules whose public names help knows, and the files that define them
-- (nn's classes live one per file, its loader re-exports them).
local modules = { "nn", "optim", "data", "train", "checkpoint", "gradcheck", "text" }

local function files_of(mod)
  local lurn = require "lurn"
  local dir = lurn.module_file("lurn.nn"):match("^(.*)/nn/init%.lua$")
  local files = {}
  local single = lurn.module_file("lurn." .. mod)
  if single then files[#files + 1] = single end
  if mod == "nn" then
    local p = io.popen("ls " .. dir .. "/nn/*.lua 2>/dev/null")
    for f in p:lines() do files[#files + 1] = f end
    p:close()
  end
  return files
end

--- The dotted name ("nn.LSTM") of a value of lurn's public modules, or nil.
local function name_of(value)
  local lurn = require "lurn"
  for _, mod in ipairs(modules) do
    local ok, t = pcall(function() return lurn[mod] end)
    if ok and type(t) == "table" then
      for k, v in pairs(t) do
        if rawequal(v, value) and type(k) == "string" then return mod .. "." .. k end
      end
    end
  end
  return nil
end

-- The `---` block right above line i of lines (nil when there is none).
local function comment_above(lines, i)
  local j = i - 1
  while j >= 1 and lines[j]:match("^%s*%-%-") and not lines[j]:match("^%s*%-%-%-") do j = j - 1 end
  if j < 1 or not lines[j]:match("^%s*%-%-%-") then return nil end
  local out = {}
  for k = j, i - 1 do out[#out + 1] = (lines[k]:gsub("^%s*%-%-%-?%s?", "")) end
  return out
end

-- Plain text from LDoc tags.
local function render(name, block)
  local body, args, rets, usage = {}, {}, {}, {}
  local in_usage = false
  for _, l in ipairs(block) do
    local tag, mod, rest = l:match("^@([%w_]+)(%[?[%w_]*%]?)%s*(.*)$")
    if tag == "tparam" or tag == "param" then
      in_usage = false
      local t, n, d
      if tag == "tparam" then
        t, n, d = rest:match("^(%S+)%s+(%S+)%s*(.*)$")
        if t and mod == "[opt]" then t = "optional " .. t end
      else
        n, d = rest:match("^(%S+)%s*(.*)$")
      end
      args[#args + 1] = ("  %-12s %s%s"):format(n or rest, t and ("(" .. t .. ") ") or "", d or "")
    elseif tag == "treturn" or tag == "return" then
      in_usage = false
      rets[#rets + 1] = "  " .. rest
    elseif tag == "usage" then
      in_usage = true
      usage[#usage + 1] = "  " .. rest
    elseif tag then
      in_usage = false      -- @module, @see, ...: not shown
    elseif in_usage then
      usage[#usage + 1] = "  " .. l
    else
      body[#body + 1] = l
    end
  end
  while body[#body] == "" do body[#body] = nil end
  local out = { table.concat(body, "\n") }
  if #args > 0 then out[#out + 1] = "\nArguments:\n" .. table.concat(args, "\n") end
  if #rets > 0 then out[#out + 1] = "\nReturns:\n" .. table.concat(rets, "\n") end
  if #usage > 0 then out[#out + 1] = "\nExample:\n" .. table.concat(usage, "\n") end
  return table.concat(out, "\n") .. "\n"
end

--- The reference text of a public name or value.
-- @tparam string|any what a dotted name ("nn.LSTM", "lurn.data.tokenize") or the value itself
-- @treturn string the text (raises an error naming `what` when it has no doc comment)
-- @usage print(lurn.help.text "nn.GRU")
function M.text(what)
  local name = type(what) == "string" and what:gsub("^lurn%.", "") or name_of(what)
  if not name then
    error("lurn.help: " .. tostring(what) .. " is not a public name of lurn's modules ("
      .. table.concat(modules, ", ") .. ")", 2)
  end
  local mod, key = name:match("^([%w_]+)%.([%w_]+)$")
  if not mod then error(("lurn.help: '%s' is not a name like 'nn.LSTM'"):format(name), 2) end
  local pats = { "^%s*M%." .. key .. "%s*=", "^function M%." .. key .. "%s*%(",
                 "^function M%." .. key .. ":__init%s*%(", "^local " .. key .. "%s*=",
                 "^function " .. key .. "%s*%(" }
  for _, file in ipairs(files_of(mod)) do
    local lines = {}
    for l in io.lines(file) do lines[#lines + 1] = l end
    for i, l in ipairs(lines) do
      for _, p in ipairs(pats) do
        if l:match(p) then
          local block = comment_above(lines, i)
          if block then return render(name, block) end
        end
      end
    end
  end
  error(("lurn.help: no doc comment for '%s'"):format(name), 2)
end

setmetatable(M, {
  --- lurn.help(what): print the reference text of `what`.
  __call = function(_, what) io.write(M.text(what)) end,
})

return M
