-- LuaUnit suite for lurn.config: the schema, loading and merging, extends,
-- overrides typed by the schema, error messages (file:line, dotted key, did
-- you mean, the valid keys), serialize/diff round trips, model specs.
local lu = require "luaunit"
local config = require "lurn.config"
local errors = require "lurn.errors"

local tmpdir = os.tmpname()
os.remove(tmpdir)
os.execute("mkdir -p " .. tmpdir .. "/sub")
local function tmp(name) return tmpdir .. "/" .. name end
local function write(name, s)
  local f = assert(io.open(tmp(name), "wb"))
  f:write(s)
  f:close()
  return tmp(name)
end

-- load and expect a config error whose message contains every string of `parts`
local function load_err(path, overrides, code)
  local ok, e = pcall(config.load, path, overrides)
  lu.assertFalse(ok, "expected an error")
  lu.assertTrue(errors.is(e, code or "config"), "error object with code: " .. tostring(e))
  return e.message
end
local function contains(msg, ...)
  for _, s in ipairs { ... } do lu.assertStrContains(msg, s) end
end

TestConfig = {}

function TestConfig:test_defaults_complete()
  local d = config.defaults()
  for _, leaf in ipairs(config.leaves()) do
    local v = d
    for p in leaf.key:gmatch("[^.]+") do v = v[p] end
    lu.assertEquals(v, leaf.entry.default, leaf.key)
    lu.assertIsString(leaf.entry.help, leaf.key)
  end
  lu.assertEquals(d.train.epochs, 10)
  lu.assertEquals(d.optim.lr, 1e-3)
  lu.assertEquals(d.data.format, "auto")
  lu.assertNil(d.model.spec)
end

function TestConfig:test_load_merges_over_defaults()
  local p = write("a.lua", [[
-- a small config
return { name = "a", model = { hidden = 64, bidirectional = true }, train = { epochs = 1e3 } }
]])
  local cfg, info = config.load(p)
  lu.assertEquals(cfg.name, "a")
  lu.assertEquals(cfg.model.hidden, 64)
  lu.assertEquals(cfg.model.layers, 1)
  lu.assertTrue(cfg.model.bidirectional)
  lu.assertEquals(math.type(cfg.train.epochs), "integer")   -- 1e3 is an integral float
  lu.assertEquals(cfg.train.epochs, 1000)
  lu.assertEquals(info.file, p)
  lu.assertStrContains(info.source, "a small config")
  lu.assertEquals(info.extends, {})
  lu.assertEquals(info.changed, {})
end

function TestConfig:test_unknown_key_line_suggestion_valid_keys()
  local p = write("typo.lua", "return {\n  name = 'x',\n  train = {\n    epocs = 3,\n  },\n}\n")
  local msg = load_err(p)
  contains(msg, p .. ":4: unknown key 'train.epocs' (did you mean 'train.epochs'?)",
    "valid keys at 'train': epochs, batch_size, clip")
  -- a key of another section is suggested by name
  msg = load_err(write("top.lua", "return { epochs = 3 }"))
  contains(msg, ":1: unknown key 'epochs' (did you mean 'train.epochs'?)",
    "valid keys at the top level: name, seed, threads, task, data, model, optim, train")
  msg = load_err(write("lr.lua", "return {\n train = { lr = 1 } }"))
  contains(msg, ":2: unknown key 'train.lr' (did you mean 'optim.lr'?)")
  -- every problem of a file at once, in line order
  msg = load_err(write("two.lua", "return {\n optim = { lr = 'fast' },\n model = { hiden = 3 } }"))
  contains(msg, ":2: optim.lr must be a number, got string \"fast\"",
    ":3: unknown key 'model.hiden' (did you mean 'model.hidden'?)")
  lu.assertTrue(msg:find("optim.lr") < msg:find("model.hiden"))
  -- a misspelt section holding one key: the whole dotted path is named
  msg = load_err(write("sec.lua", "return {\n  trian = { epochs = 3 } }"))
  contains(msg, ":2: unknown key 'trian.epochs' (did you mean 'train.epochs'?)",
    "valid keys at the top level: name, seed")
end

function TestConfig:test_types_ranges_choices()
  local cases = {
    { "return { train = { epochs = 2.5 } }", "train.epochs must be an integer, got number 2.5" },
    { "return { train = { epochs = 0 } }", "train.epochs must be >= 1, got 0" },
    { "return { model = { dropout = 1.5 } }", "model.dropout must be <= 0.99, got 1.5" },
    { "return { optim = { name = 'adma' } }",
      "optim.name must be one of adam|adamw|sgd|rmsprop|adagrad, got 'adma' (did you mean 'adam'?)" },
    { "return { model = { bidirectional = 'yes' } }", "model.bidirectional must be a boolean, got string \"yes\"" },
    { "return { optim = { lr = 1/0 } }", "optim.lr must be a finite number, got math.huge" },
    { "return { data = { valid_split = 2.5 } }", "data.valid_split must be a fraction below 1 or a whole number of examples, got 2.5" },
    { "return { model = 3 }", "'model' is a section and must be a table, got integer 3" },
    { "return { train = { 5 } }", "'train' holds a list item [1]; a section holds named keys only" },
    { "return { name = function() end }", "name must be a string, got function" },
    { "return 42", "a config must return a table, got integer 42" },
    { "return { model = { type = 'custom' } }", "model.type is 'custom' but model.spec is not set" },
    { "return { model = { spec = { type = 'LSTM', args = { 3, 4 } } } }",
      "model.spec is set but model.type is 'lstm'" },
    { "return { model = { type = 'custom', spec = { type = 'LTSM', args = { 3, 4 } } } }",
      "names 'LTSM', which is not an nn constructor (did you mean 'LSTM'?)" },
    { "return { optim = { schedule = 'warmup' } }", "optim.schedule 'warmup' needs optim.warmup > 0" },
  }
  for i, c in ipairs(cases) do
    local msg = load_err(write("t" .. i .. ".lua", c[1]))
    lu.assertStrContains(msg, c[2], false, c[1])
  end
end

function TestConfig:test_undefined_global_named()
  local msg = load_err(write("g.lua", "return {\n  name = nmae,\n}"))
  contains(msg, "g.lua:2: undefined global 'nmae'")
  msg = load_err(write("err.lua", "local function f() error('deep', 2) end\nif true then\n  f()\nend"))
  contains(msg, "err.lua:3: deep")
  msg = load_err(write("err2.lua", "\nerror('boom')"))
  contains(msg, "err2.lua:2: boom")
  msg = load_err(write("syn.lua", "return { name = }"))
  contains(msg, "syn.lua:1: unexpected symbol near '}'")
end

function TestConfig:test_overrides_typed_by_schema()
  local p = write("o.lua", "return { name = 'o', train = { epochs = 10 }, optim = { lr = 1e-3 } }")
  local cfg, info = config.load(p, { "train.epochs=3", "optim.lr=3e-3", "name=1_1_1",
    "model.bidirectional=true", "data.text_field='my text'", "seed=7", "threads=0" })
  lu.assertEquals(cfg.train.epochs, 3)
  lu.assertEquals(cfg.optim.lr, 3e-3)
  lu.assertEquals(cfg.name, "1_1_1")              -- a string key keeps bare text as it is
  lu.assertTrue(cfg.model.bidirectional)
  lu.assertEquals(cfg.data.text_field, "my text")
  lu.assertEquals(cfg.seed, 7)
  -- changed: only what differs from the file, in command-line order
  lu.assertEquals(info.changed, {
    { key = "train.epochs", old = 10, new = 3 },
    { key = "optim.lr", old = 1e-3, new = 3e-3 },
    { key = "name", old = "o", new = "1_1_1" },
    { key = "model.bidirectional", old = false, new = true },
    { key = "data.text_field", old = "", new = "my text" },
    { key = "seed", old = 1, new = 7 },
  })
  lu.assertEquals(config.changes_text(info.changed):match("[^\n]+"), "  train.epochs: 10 -> 3")
  cfg = config.load(p, { "name=007", "train.epochs=1e2" })
  lu.assertEquals(cfg.name, "007")
  lu.assertEquals(cfg.train.epochs, 100)
end

function TestConfig:test_override_errors()
  local p = write("oe.lua", "return {}")
  local cases = {
    { "train.epocs=3", "override 'train.epocs=3': unknown key 'train.epocs' (did you mean "
      .. "'train.epochs'?); valid keys at 'train': epochs," },
    { "train.epochs=three", "override 'train.epochs=three': train.epochs expects an integer, "
      .. "got 'three' (not a Lua literal)" },
    { "train.epochs=2.5", "train.epochs must be an integer, got number 2.5" },
    { "model.bidirectional=yes", "model.bidirectional expects a boolean, got 'yes'" },
    { "model.bidirectional=1", "model.bidirectional must be a boolean, got integer 1" },
    { "optim.lr=1e-3x", "optim.lr expects a number, got '1e-3x'" },
    { "model=3", "'model' is a section; set one of its keys: model.type, model.embed" },
    { "trian.epochs=3", "unknown key 'trian.epochs' (did you mean 'train.epochs'?); valid keys at the top level" },
    { "trian=3", "unknown key 'trian' (did you mean 'train'?); valid keys at the top level" },
    { "epochs", "an override is key=value, e.g. train.epochs=3" },
    { "model.spec=3", "model.spec is a model spec; set it in the config file" },
    { "name='unfinished", "unfinished string" },
    { "train.epochs.x=3", "'train.epochs' is not a section" },
  }
  for _, c in ipairs(cases) do
    local msg = load_err(p, { c[1] })
    lu.assertStrContains(msg, c[2], false, c[1])
  end
  -- all bad overrides at once
  local msg = load_err(p, { "train.epocs=3", "optim.lr=x" })
  contains(msg, "train.epocs", "optim.lr")
end

function TestConfig:test_parse_literal()
  lu.assertEquals(config.parse_literal("{1, 2, 'x'}"), { 1, 2, "x" })
  lu.assertEquals(config.parse_literal("'a\\nb'"), "a\nb")
  lu.assertEquals(config.parse_literal("0x10"), 16)
  lu.assertEquals(math.type(config.parse_literal("3")), "integer")
  lu.assertEquals(math.type(config.parse_literal("3.0")), "float")
  lu.assertNil(config.parse_literal("os.exit()"))
  lu.assertNil(config.parse_literal("{1,"))
end

function TestConfig:test_extends()
  write("sub/base.lua", "return { name = 'base', model = { hidden = 64, layers = 2 }, "
    .. "train = { epochs = 3, batch_size = 8 } }")
  local p = write("sub/exp.lua", "return { extends = 'base.lua', name = 'exp', "
    .. "train = { epochs = 5 } }")
  local cfg, info = config.load(p)
  lu.assertEquals(cfg.name, "exp")
  lu.assertEquals(cfg.model.hidden, 64)    -- from base
  lu.assertEquals(cfg.model.layers, 2)
  lu.assertEquals(cfg.train.epochs, 5)     -- key by key: exp wins
  lu.assertEquals(cfg.train.batch_size, 8) -- the rest of base's section stays
  lu.assertEquals(info.extends, { tmp("sub/base.lua") })
  -- an error in the base names the base file and line
  write("sub/bad_base.lua", "return {\n  model = { hiden = 3 } }")
  local msg = load_err(write("sub/e2.lua", "return { extends = 'bad_base.lua' }"))
  contains(msg, "sub/bad_base.lua:2: unknown key 'model.hiden'")
end

function TestConfig:test_extends_limits()
  local msg = load_err(write("sub/cyc.lua", "return { extends = 'cyc.lua' }"))
  contains(msg, "extends forms a cycle: ")
  write("sub/c1.lua", "return { extends = 'c2.lua' }")
  write("sub/c2.lua", "return { extends = 'c1.lua' }")
  msg = load_err(tmp("sub/c1.lua"))
  contains(msg, "c1.lua -> ", "c2.lua -> ")
  for i = 1, 10 do write("sub/d" .. i .. ".lua", ("return { extends = 'd%d.lua' }"):format(i + 1)) end
  write("sub/d11.lua", "return {}")
  msg = load_err(tmp("sub/d1.lua"))
  contains(msg, "extends is nested deeper than 8 files")
  write("outside.lua", "return {}")
  msg = load_err(write("sub/out.lua", "return { extends = '../outside.lua' }"))
  contains(msg, "extends must name a file inside the config's directory")
  msg = load_err(write("sub/txt.lua", "return { extends = 'notes.txt' }"))
  contains(msg, "extends must name a .lua config file, got \"notes.txt\"")
  msg = load_err(write("sub/num.lua", "return { extends = 3 }"))
  contains(msg, "extends must be the path of a config file (a string), got integer 3")
  msg = load_err(write("sub/none.lua", "return { extends = 'nothere.lua' }"))
  contains(msg, "nothere.lua: cannot open config: No such file or directory")
end

function TestConfig:test_serialize_round_trip_and_diff()
  local p = write("rt.lua", "return { name = 'rt \"q\"\\n', optim = { lr = 0.1 + 0.2 }, "
    .. "data = { valid_split = 100 } }")
  local cfg = config.load(p, { "model.hidden=3" })
  local text = config.serialize(cfg)
  lu.assertStrContains(text, "return {")
  local cfg2 = config.load(write("rt2.lua", text))
  lu.assertEquals(cfg2, cfg)
  lu.assertEquals(cfg2.optim.lr, 0.1 + 0.2)           -- every bit of a float survives
  lu.assertEquals(config.diff(cfg, cfg2), {})
  local d = config.diff(config.defaults(), cfg)
  lu.assertEquals(d, {
    { key = "name", old = "run", new = "rt \"q\"\n" },
    { key = "data.valid_split", old = 0.1, new = 100 },
    { key = "model.hidden", old = 256, new = 3 },
    { key = "optim.lr", old = 1e-3, new = 0.1 + 0.2 },
  })
end

function TestConfig:test_missing_data_file_is_data_error()
  local p = write("data.lua", "return {\n  data = {\n    train = 'no/such/file.tsv' } }")
  local msg = load_err(p, nil, "data")
  contains(msg, p .. ":3: data.train: cannot read data file 'no/such/file.tsv'")
  local cfg = config.load(p, nil, { check_paths = false })
  lu.assertEquals(cfg.data.train, "no/such/file.tsv")
  msg = load_err(write("dir.lua", "return { data = { format = 'tsv', valid = '" .. tmpdir .. "' } }"),
    nil, "data")
  contains(msg, "is a directory, not a data file")
  -- the imdb reader takes a directory (aclImdb's layout), also when the format is auto
  for _, fmt in ipairs { "imdb", "auto" } do
    cfg = config.load(write("imdbdir.lua", "return { data = { format = '" .. fmt .. "', train = '"
      .. tmpdir .. "' } }"))
    lu.assertEquals(cfg.data.train, tmpdir)
  end
end

function TestConfig:test_model_spec_data_and_function()
  local p = write("spec.lua", [[
return { model = { type = 'custom', spec = nn.Sequential {
  nn.Embedding(100, 8, { padding = 0 }), nn.LSTM(8, 16, { layers = 2 }), nn.Pool('max'),
  nn.Linear(16, 2) } } }
]])
  local cfg = config.load(p)
  local spec = config.model_spec(cfg, { vocab_size = 5, num_classes = 2 })
  lu.assertEquals(spec.type, "Sequential")
  lu.assertEquals(spec.args[1][2], { type = "LSTM", args = { 8, 16, { layers = 2 } } })

  p = write("fn.lua", [[
local hidden = 12
return { model = { type = 'custom',
  spec = function(nn, data)
    return nn.Sequential { nn.Embedding(data.vocab_size, 8, { padding = 0 }),
      nn.GRU(8, hidden), nn.Pool('last'), nn.Linear(hidden, data.num_classes) }
  end } }
]])
  cfg = config.load(p)
  lu.assertEquals(cfg.model.spec.fn.file, p)
  lu.assertEquals(cfg.model.spec.fn.line, 3)
  spec = config.model_spec(cfg, { vocab_size = 50, num_classes = 3, labels = { "a", "b", "c" } })
  lu.assertEquals(spec.args[1][1], { type = "Embedding", args = { 50, 8, { padding = 0 } } })
  lu.assertEquals(spec.args[1][2], { type = "GRU", args = { 8, 12 } })
  lu.assertEquals(spec.args[1][4], { type = "Linear", args = { 12, 3 } })
  -- the marker survives serialize -> load, and still builds
  local cfg2 = config.load(write("fn2.lua", config.serialize(cfg)))
  lu.assertEquals(config.model_spec(cfg2, { vocab_size = 50, num_classes = 3 }), spec)

  -- a spec function's mistakes name the file
  p = write("fnbad.lua", "return { model = { type = 'custom', spec = function(nn, d) "
    .. "return nn.LTSM(d.vocab_size, 3) end } }")
  cfg = config.load(p)
  local ok, e = pcall(config.model_spec, cfg, { vocab_size = 5, num_classes = 2 })
  lu.assertFalse(ok)
  lu.assertTrue(errors.is(e, "config"))
  contains(e.message, "fnbad.lua", "nn.LTSM is not an nn constructor (did you mean nn.LSTM?)")
  p = write("fnbad2.lua", "return { model = { type = 'custom', spec = function(nn, d) "
    .. "return 3 end } }")
  ok, e = pcall(config.model_spec, config.load(p), {})
  lu.assertFalse(ok)
  contains(e.message, "fnbad2.lua:1: model.spec function: its result must be a model spec")
end

function TestConfig:test_builds_with_nn()
  -- a spec from the sandbox names only constructors the host's nn has
  local nn = require "lurn.nn"
  local cfg = config.load(write("b.lua", "return { model = { type = 'custom', spec = "
    .. "function(nn, d) return nn.Linear(d.vocab_size, 2) end } }"))
  local spec = config.model_spec(cfg, { vocab_size = 4, num_classes = 2 })
  lu.assertIsFunction(getmetatable(nn[spec.type]).__call)
end

os.exit(lu.LuaUnit.run())
