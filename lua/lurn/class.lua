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
-- setmetatable(m, ...) fails), and the class table is only the __index of
-- that metatable, so m.__index, m.__class and m.__parent are nil. Code that
-- holds a module can change that module (m.forward = f), never the class of
-- every module in the process, and cannot plant a __gc in a shared
-- metatable. The library reaches an object's class with class.of(m).
local classes = setmetatable({}, { __mode = "k" })  -- instance metatable -> class
local parents = setmetatable({}, { __mode = "k" })  -- class -> parent class

local function frozen(t, what)
  return setmetatable({}, {
    __index = t,
    __newindex = function() error(what .. " is read-only", 2) end,
    __metatable = false,
  })
end

local function class(name, parent)
  local c = { __name = name }
  -- Lua reads metamethods raw from an object's metatable: __tostring
  -- dispatches to the instance's `__tostring__`
  local mt = {
    __index = c,
    __name = name,
    __tostring = function(self)
      if self.__tostring__ then return self:__tostring__() end
      return name
    end,
    __metatable = frozen({ __name = name }, "the metatable of a " .. name),
  }
  classes[mt] = c
  parents[c] = parent
  setmetatable(c, {
    __index = parent,
    __call = function(_, ...)
      local obj = setmetatable({}, mt)
      if obj.__init then obj:__init(...) end
      return obj
    end,
    __tostring = function() return "class " .. name end,
  })
  return c
end

--- The class of obj (for the library; nil for anything else).
local function of(obj)
  local mt = debug.getmetatable(obj)
  return mt and classes[mt] or nil
end

--- The parent class of class c, or nil.
local function parent_of(c) return parents[c] end

--- is_instance(obj, cls): obj's class is cls or derives from it.
local function is_instance(obj, cls)
  if type(obj) ~= "table" then return false end
  local c = of(obj)
  while c do
    if c == cls then return true end
    c = parents[c]
  end
  return false
end

return setmetatable({ class = class, is_instance = is_instance, of = of, parent_of = parent_of }, {
  __call = function(_, ...) return class(...) end,
})
