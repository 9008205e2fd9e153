--- lurn.class — the small class system of the library.
--
--   local Linear = class("nn.Linear", Module)
--   function Linear:__init(i, o) Module.__init(self) ... end
--   local l = Linear(3, 4)          -- calls __init on a new instance
--
-- Methods are looked up through the parent chain.
--
-- An instance leads nowhere shared: its metatable is private to this file
-- and protected (getmetatable(m) gives a read-only { __name = "nn.Linear" },
-- setmetatable(m, ...) fails), and methods are found through a read-only
-- view of the class that hides __class and __parent, so m.__index,
-- m.__class and m.__parent are nil. Code that holds a module can change that
-- module (m.forward = f), never the class of every module in the process,
-- and cannot plant a __gc in a shared metatable. The library reaches an
-- object's class with class.of(m).
local util = require "lurn.util"
local classes = setmetatable({}, { __mode = "k" })  -- instance metatable -> class

local function frozen(t, what)
  return setmetatable({}, {
    __index = t,
    __newindex = function() error(what .. " is read-only", 2) end,
    __metatable = false,
  })
end

-- the class's fields an instance does not see: the way back to the classes
local hidden = { __class = true, __parent = true }

--- class(name [, parent]) — a new class; calling it makes an instance and runs its __init.
-- Methods are looked up through the parent chain; instances cannot reach or
-- change the class (see the header). nn layers written in Lua use it.
-- @tparam string name the class name ("nn.MyLayer"), what tostring and errors show
-- @tparam[opt] table parent the parent class (nn.Module for a layer)
-- @treturn table the class
-- @usage local class = require "lurn.class"
-- local Point = class("Point")
-- function Point:__init(x) self.x = x end
-- print(Point(3).x)   --> 3
local function class(name, parent)
  -- c.__class and c.__parent stay on the class table (the library walks
  -- them: nn.constructors, tests); instances look methods up through a
  -- view that hides them
  local c = { __name = name, __parent = parent }
  c.__class = c
  local view = setmetatable({}, {
    __index = function(_, k)
      if hidden[k] then return nil end
      return c[k]
    end,
    __newindex = function() error("the methods of a " .. name .. " are read-only", 2) end,
    __metatable = false,
  })
  -- Lua reads metamethods raw from an object's metatable: __tostring
  -- dispatches to the instance's `__tostring__`
  local mt = {
    __index = view,
    __name = name,
    __tostring = function(self)
      if self.__tostring__ then return self:__tostring__() end
      return name
    end,
    __metatable = frozen({ __name = name }, "the metatable of a " .. name),
  }
  classes[mt] = c
  setmetatable(c, {
    __index = parent,
    __call = function(_, ...)
      local obj = setmetatable({}, mt)
      if obj.__init then
        -- a constructor's argument error names the user's line, not this
        -- one (util.user_error); an error from deeper in lurn keeps where
        -- it happened, after the user's position and the class name
        local ok, err = pcall(obj.__init, obj, ...)
        if not ok then
          if type(err) ~= "string" then error(err, 0) end
          local msg, pos = util.strip_position(err)
          if not pos and msg:match("^[^\n]-:%d+: ") then error(err, 0) end  -- the user's already
          if pos and not pos:match("^class%.lua:") then msg = ("%s (at %s)"):format(msg, pos) end
          if msg:sub(1, #name + 1) ~= name .. ":" then msg = name .. ": " .. msg end
          util.user_error(msg)
        end
      end
      return obj
    end,
    __tostring = function() return "class " .. name end,
  })
  return c
end

--- class.of(obj) — the class of obj (for the library; nil for anything else).
-- @usage print(require("lurn.class").of(nn.Linear(2, 2)) == nn.Linear)   --> true
local function of(obj)
  local mt = debug.getmetatable(obj)
  return mt and classes[mt] or nil
end

--- class.parent_of(c) — the parent class of class c, or nil.
-- @usage print(require("lurn.class").parent_of(nn.Linear) == nn.Module)   --> true
local function parent_of(c) return rawget(c, "__parent") end

--- class.is_instance(obj, cls) — true when obj's class is cls or derives from it.
-- @usage print(require("lurn.class").is_instance(nn.LSTM(2, 3), nn.Module))   --> true
local function is_instance(obj, cls)
  if type(obj) ~= "table" then return false end
  local c = of(obj)
  while c do
    if c == cls then return true end
    c = rawget(c, "__parent")
  end
  return false
end

return setmetatable({ class = class, is_instance = is_instance, of = of, parent_of = parent_of }, {
  __call = function(_, ...) return class(...) end,
})
