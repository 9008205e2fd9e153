--- lurn.help — the reference text of a public name, from its doc comment.
--
--   lurn.help(nn.LSTM)        lurn.help "nn.LSTM"        lurn doc nn.LSTM
--
-- all print the same text: the LDoc comment right above the name's
-- definition — a `--- ...` block in lua/lurn/, or for the functions and
-- tensor methods written in C a `/*** ... */` block where they are bound in
-- src/lua/*.c (`@function zeros`, `@function Tensor:add`; `@also ones`
-- names the other functions the same block documents) — with
-- `@tparam`/`@treturn`/`@usage` turned into plain "Arguments", "Returns" and
-- "Example" sections. The HTML reference (`cmake --build build --target
-- docs`, ldoc, config.ld) reads the same comments, so the prompt, the
-- command line and the web page cannot drift.
--
-- Names: "nn.LSTM", "optim.Adam", "data.Vocab.build", "nn.Module:forward",
-- "zeros" (or "lurn.zeros", "core.zeros"), "Tensor:narrow".
-- @module lurn.help
local M = {}

--- The modules whose public names help knows and the coverage test
-- (tests/sh/test_doc_coverage.sh) requires a doc comment for: every string
-- key of each module table (but `_private` ones), and every method of the
-- classes in `M.classes`. "core" is the C module (lurn.zeros, lurn.mm, ...;
-- functions only). A module added to lurn is documented by adding its name
-- here (and its classes below).
M.modules = {
  "nn", "nn.seq", "optim", "data", "train", "checkpoint", "gradcheck", "text", "util", "errors",
  "class", "core", "midi", "abc", "tasks", "audio", "dist",
}

--- Classes whose methods are public names too ("nn.Module:forward",
-- "Tensor:narrow"): the method table of each.
M.classes = {
  { "nn.Module", function() return require("lurn").nn.Module end },
  { "data.Vocab", function() return require("lurn").data.Vocab end },
  { "data.Dataset", function() return require("lurn").data.Dataset end },
  { "Tensor", function() return require("lurn.core").Tensor end },
}

-- The directory of lurn's Lua modules (<root>/lua/lurn); the C binding
-- files are at <root>/src/lua, in the source tree and, installed, under
-- share/lurn.
local function lurn_dir()
  local lurn = require "lurn"
  return lurn.module_file("lurn.nn"):match("^(.*)/nn/init%.lua$")
end

-- The files of directory dir whose names end in ext, sorted.
local function ls(dir, ext)
  local out = {}
  local p = io.popen("ls '" .. dir:gsub("'", "'\\''") .. "'/*" .. ext .. " 2>/dev/null")
  for f in p:lines() do out[#out + 1] = f end
  p:close()
  return out
end

-- The files that define module `mod`'s names: its file, and for a module
-- that is a directory (nn/, text/) every file in it; for "core" the C
-- binding files and lurn/init.lua (the Lua-side additions to lurn.core).
local files_cache = {}
local function files_of(mod)
  if files_cache[mod] then return files_cache[mod] end
  local files = {}
  files_cache[mod] = files
  local lurn = require "lurn"
  local dir = lurn_dir()
  if mod == "core" or mod == "Tensor" then
    for _, f in ipairs(ls(dir .. "/../../src/lua", ".c")) do files[#files + 1] = f end
    files[#files + 1] = dir .. "/init.lua"
    return files
  end
  local single = lurn.module_file("lurn." .. mod)
  if single then
    files[1] = single
    -- a module that re-exports a C table of lurn.core (lurn.dist is
    -- lurn.core.dist): the binding file of the same name documents its C
    -- functions, as `@function dist.init`
    local c = dir .. "/../../src/lua/" .. mod .. ".c"
    local h = io.open(c, "r")
    if h then h:close(); files[#files + 1] = c end
    local sub = single:match("^(.*)/init%.lua$")
    if sub then
      for _, f in ipairs(ls(sub, ".lua")) do
        if f ~= single then files[#files + 1] = f end
      end
    end
  end
  return files
end

local function module_table(mod)
  local lurn = require "lurn"
  if mod == "core" then return require "lurn.core" end
  local t = lurn
  for part in mod:gmatch("[^.]+") do
    local ok, v = pcall(function() return t[part] end)
    if not ok or type(v) ~= "table" then return nil end
    t = v
  end
  return t
end

--- The dotted name ("nn.LSTM") of a value of lurn's public modules, or nil.
local function name_of(value)
  for _, c in ipairs(M.classes) do
    local ok, cls = pcall(c[2])
    if ok and rawequal(cls, value) then return c[1] end
  end
  for _, mod in ipairs(M.modules) do
    local t = module_table(mod)
    if t then
      for k, v in pairs(t) do
        if rawequal(v, value) and type(k) == "string" then return mod .. "." .. k end
      end
    end
  end
  for _, c in ipairs(M.classes) do
    local ok, cls = pcall(c[2])
    if ok and type(cls) == "table" then
      for k, v in pairs(cls) do
        if rawequal(v, value) and type(k) == "string" then return c[1] .. ":" .. k end
      end
    end
  end
  return nil
end

-- Files read once per process (help.missing looks up hundreds of names).
local cache = { lines = {}, blocks = {} }

local function lines_of(file)
  if cache.lines[file] then return cache.lines[file] end
  local lines = {}
  cache.lines[file] = lines
  local h = io.open(file, "r")
  if not h then return lines end
  for l in h:lines() do lines[#lines + 1] = l end
  h:close()
  return lines
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

-- The `/*** ... */` blocks of a C file: {names = {name = true}, lines = {...}}.
-- A block's names are its `@function` and every name after `@also`.
local function c_blocks(file)
  if cache.blocks[file] then return cache.blocks[file] end
  local blocks, cur = {}, nil
  cache.blocks[file] = blocks
  for _, l in ipairs(lines_of(file)) do
    if not cur and l:match("^%s*/%*%*%*") then
      cur = { names = {}, lines = {} }
      l = l:gsub("^%s*/%*%*%*%s?", "")
    end
    if cur then
      local last = l:find("%*/")
      if last then l = l:sub(1, last - 1) end
      l = l:gsub("^%s*%*%s?", ""):gsub("^%s+$", "")
      local fn = l:match("^@function%s+(%S+)")
      if fn then cur.names[fn] = true end
      local also = l:match("^@also%s+(.*)$")
      if also then
        local prefix = fn or next(cur.names) or ""
        prefix = prefix:match("^(.*[.:])") or ""
        for a in also:gmatch("[^%s,]+") do
          cur.names[a:find("[.:]") and a or prefix .. a] = true
        end
      end
      if not (l == "" and #cur.lines == 0) then cur.lines[#cur.lines + 1] = l end
      if last then
        while cur.lines[#cur.lines] == "" do cur.lines[#cur.lines] = nil end
        blocks[#blocks + 1] = cur
        cur = nil
      end
    end
  end
  return blocks
end

-- Plain text from LDoc tags.
local function render(block)
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
      if rest ~= "" then usage[#usage + 1] = "  " .. rest end
    elseif tag then
      in_usage = false      -- @module, @function, @also, @see, ...: not shown
    elseif in_usage then
      usage[#usage + 1] = "  " .. l
    else
      body[#body + 1] = l
    end
  end
  while body[#body] == "" do body[#body] = nil end
  while usage[#usage] == "  " do usage[#usage] = nil end
  local out = { table.concat(body, "\n") }
  if #args > 0 then out[#out + 1] = "\nArguments:\n" .. table.concat(args, "\n") end
  if #rets > 0 then out[#out + 1] = "\nReturns:\n" .. table.concat(rets, "\n") end
  if #usage > 0 then out[#out + 1] = "\nExample:\n" .. table.concat(usage, "\n") end
  return table.concat(out, "\n") .. "\n"
end

-- The module and the key of a name: the longest known module that prefixes
-- it ("nn.seq.new" -> "nn.seq", "new"; "data.Vocab.build" -> "data",
-- "Vocab.build"); a bare name or a Tensor method is core's.
local function split_name(name)
  name = name:gsub("^lurn%.", ""):gsub("^core%.", "")
  if name:match("^Tensor[.:]") then return "core", name end
  local best
  for _, mod in ipairs(M.modules) do
    if name:sub(1, #mod + 1) == mod .. "." and (not best or #mod > #best) then best = mod end
  end
  if best then return best, name:sub(#best + 2) end
  if name:match("^[%w_]+$") then return "core", name end
  return nil
end

local function esc(s) return (s:gsub("%p", "%%%0")) end

-- Patterns of the line that defines `key` ("LSTM", "Vocab.build", "Module:forward").
local function lua_patterns(key)
  local owner, method = key:match("^([%w_]+)[.:]([%w_]+)$")
  if owner then
    local m = esc(method)
    return { "^%s*function " .. esc(owner) .. "[.:]" .. m .. "%s*%(",
             "^%s*function M%." .. esc(owner) .. "[.:]" .. m .. "%s*%(",
             "^%s*" .. esc(owner) .. "%." .. m .. "%s*=" }
  end
  local k = esc(key)
  return { "^%s*M%." .. k .. "%s*=", "^function M%." .. k .. "%s*%(",
           "^function M%." .. k .. ":__init%s*%(", "^local " .. k .. "%s*=",
           "^function " .. k .. "%s*%(", "^local function " .. k .. "%s*%(" }
end

-- The doc block of name (a list of lines), or nil.
local function find_block(name)
  local mod, key = split_name(name)
  if not mod then return nil end
  local cname = key:gsub("^Tensor%.", "Tensor:")
  for _, file in ipairs(files_of(mod)) do
    if file:match("%.c$") then
      for _, b in ipairs(c_blocks(file)) do
        if b.names[cname] or b.names[mod .. "." .. cname] then return b.lines end
      end
    else
      local lines = lines_of(file)
      local pats = lua_patterns(mod == "core" and key:gsub("^Tensor:", "Tensor.") or key)
      for i, l in ipairs(lines) do
        for _, p in ipairs(pats) do
          if l:match(p) then
            local block = comment_above(lines, i)
            if block then return block end
            -- a class in a file of its own (nn/Linear.lua): the file's
            -- header comment documents it
            if l:match("^local [%w_]+%s*=%s*class%(") then
              local n = 1
              while lines[n] and lines[n]:match("^%-%-") do n = n + 1 end
              if n > 1 then return comment_above(lines, n) end
            end
          end
        end
      end
    end
  end
  return nil
end

--- The reference text of a public name or value.
-- @tparam string|any what a dotted name ("nn.LSTM", "lurn.data.tokenize", "Tensor:narrow")
--   or the value itself
-- @treturn string the text (raises an error naming `what` when it has no doc comment)
-- @usage print(lurn.help.text "nn.GRU")
function M.text(what)
  local name = type(what) == "string" and what:gsub("^lurn%.", "") or name_of(what)
  if not name then
    error("lurn.help: " .. tostring(what) .. " is not a public name of lurn's modules ("
      .. table.concat(M.modules, ", ") .. ")", 2)
  end
  if not name:match("^[%w_]+[%w_.:]*$") then
    error(("lurn.help: '%s' is not a name like 'nn.LSTM'"):format(name), 2)
  end
  local block = find_block(name)
  if not block then error(("lurn.help: no doc comment for '%s'"):format(name), 2) end
  return render(block)
end

--- The example of a public name: the code of its doc comment's @usage (nil when it has none).
-- @tparam string name a dotted name as for M.text
-- @treturn string|nil the code
-- @usage print(lurn.help.example "nn.LSTM")
function M.example(name)
  local block = find_block((name:gsub("^lurn%.", "")))
  if not block then return nil end
  local code, on = {}, false
  for _, l in ipairs(block) do
    local tag, rest = l:match("^@([%w_]+)%S*%s*(.*)$")
    if tag == "usage" then on = true; code[#code + 1] = rest
    elseif tag then on = false
    elseif on then code[#code + 1] = l end
  end
  while code[#code] == "" do code[#code] = nil end
  return #code > 0 and table.concat(code, "\n") or nil
end

--- The public names of the covered modules (M.modules, M.classes), sorted.
-- @treturn {string,...} names as `lurn doc` takes them
-- @usage for _, n in ipairs(lurn.help.names()) do print(n) end
function M.names()
  local out = {}
  for _, mod in ipairs(M.modules) do
    -- core: the functions of the lurn table (lurn.core's and those
    -- lua/lurn/init.lua adds)
    local t = mod == "core" and require "lurn" or module_table(mod)
    if not t then error(("lurn.help: module '%s' of the covered list does not load"):format(mod), 2) end
    for k, v in pairs(t) do
      if type(k) == "string" and not k:match("^_")
          and (mod ~= "core" or type(v) == "function") then
        -- a submodule in the list is covered as a module of its own
        local listed = false
        for _, m2 in ipairs(M.modules) do if m2 == mod .. "." .. k then listed = true end end
        if not listed then out[#out + 1] = mod .. "." .. k end
      end
    end
  end
  for _, c in ipairs(M.classes) do
    local cls = c[2]()
    for k, v in pairs(cls) do
      if type(k) == "string" and not k:match("^_") and type(v) == "function" then
        out[#out + 1] = c[1] .. ":" .. k
      end
    end
  end
  table.sort(out)
  return out
end

--- The public names without a doc comment (what the coverage test lists).
-- @treturn {string,...} the names, sorted (empty when every name is documented)
-- @usage print(table.concat(lurn.help.missing(), "\n"))
function M.missing()
  local out = {}
  for _, n in ipairs(M.names()) do
    if not find_block(n) then out[#out + 1] = n end
  end
  return out
end

setmetatable(M, {
  --- lurn.help(what): print the reference text of `what`.
  __call = function(_, what) io.write(M.text(what)) end,
})

return M
