--- lurn.class — the small class system of the library.
--
--   local Linear = class("nn.Linear", Module)
--   function Linear:__init(i, o) Module.__init(self) ... end
--   local l = Linear(3, 4)          -- calls __init on a new instance
--
-- Methods are looked up through the parent chain. Lua reads metamethods
-- raw from an object's metatable, so __tostring is copied into every
-- class and dispatches to the instance's `describe`/`__tostring__`.
local function class(name, parent)
  local c = {}
  c.__index = c
  c.__name = name
  c.__class = c
  c.__parent = parent
  c.__tostring = function(self)
    if self.__tostring__ then return self:__tostring__() end
    return name
  end
  setmetatable(c, {
    __index = parent,
    __call = function(cls, ...)
      local obj = setmetatable({}, cls)
      if obj.__init then obj:__init(...) end
      return obj
    end,
    __tostring = function() return "class " .. name end,
  })
  return c
end

--- is_instance(obj, cls): obj's class is cls or derives from it.
local function is_instance(obj, cls)
  if type(obj) ~= "table" then return false end
  local c = getmetatable(obj)
  while c do
    if c == cls then return true end
    c = rawget(c, "__parent")
  end
  return false
end

return setmetatable({ class = class, is_instance = is_instance }, {
  __call = function(_, ...) return class(...) end,
})
