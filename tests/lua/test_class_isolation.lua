-- Class isolation (issue 17, finding 2): a module leads back to no shared
-- class or metatable, so code holding one module cannot change every module
-- of its class or plant a __gc in a shared metatable.
local lu = require "luaunit"
local lurn = require "lurn"
local class = require "lurn.class"
local nn = lurn.nn

TestClassIsolation = {}

function TestClassIsolation:test_no_path_to_the_class()
  local m = nn.Linear(2, 3)
  lu.assertNil(m.__class)
  lu.assertNil(m.__parent)
  lu.assertNil(m.__index)
  lu.assertEquals(m.__name, "nn.Linear")
  local mt = getmetatable(m)
  lu.assertEquals(mt.__name, "nn.Linear")
  lu.assertNil(mt.__index)
  lu.assertNil(mt.forward)
  lu.assertEquals(getmetatable(mt), false)
  lu.assertErrorMsgContains("the metatable of a nn.Linear is read-only", function()
    mt.__gc = function() while true do end end
  end)
  lu.assertErrorMsgContains("cannot change a protected metatable", function()
    setmetatable(m, { __gc = function() end })
  end)
end

function TestClassIsolation:test_changing_one_module_changes_only_it()
  local a, b = nn.Linear(2, 3), nn.Linear(2, 3)
  a.forward = function() error("hijacked") end
  lu.assertErrorMsgContains("hijacked", function() a:forward(lurn.randn(4, 2)) end)
  lu.assertEquals(b:forward(lurn.randn(4, 2)):shape(), lurn.randn(4, 3):shape())
  lu.assertEquals(nn.Linear(2, 3):forward(lurn.randn(1, 2)):shape(), lurn.zeros(1, 3):shape())
  local seq = nn.Sequential { nn.Linear(2, 2) }
  seq.add_module = nil  -- an instance field removed: the class keeps its method
  lu.assertIsFunction(nn.Sequential { nn.Linear(2, 2) }.add_module)
end

function TestClassIsolation:test_library_still_knows_classes()
  local m = nn.LSTM(3, 4)
  lu.assertIs(class.of(m), nn.LSTM)
  lu.assertTrue(class.is_instance(m, nn.Module))
  lu.assertTrue(class.is_instance(m, nn.LSTM))
  lu.assertFalse(class.is_instance(m, nn.Linear))
  lu.assertFalse(class.is_instance({}, nn.Module))
  lu.assertFalse(class.is_instance(setmetatable({}, { __index = nn.LSTM }), nn.Module))
  lu.assertStrContains(tostring(m), "nn.LSTM(3 -> 4")
  lu.assertIs(class.parent_of(nn.Linear), nn.Module)
end

os.exit(lu.LuaUnit.run())
