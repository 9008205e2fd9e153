-- The reference's checks (tests/sh/test_doc_coverage.sh runs this with the
-- lurn binary, in a scratch directory):
--   1. every public name of the covered modules (lurn.help.modules and
--      lurn.help.classes: the one list to extend when a module is added) has
--      a doc comment; the names without one are printed, one per line;
--   2. every doc comment's example (@usage) runs. An example may use these
--      names, made fresh for each one (examples of methods need an object):
--        model    nn.Sequential {Embedding(5, 4, padding 0), GRU(4, 8), Pool("last"), Linear(8, 2)}
--        vocab    data.Vocab.build {"a b", "b c"}
--        ds       data.Dataset {texts = {"a b", "b c", "c"}, labels = {0, 1, 0}, vocab = vocab}
--        batch    ds:make_batch {1, 2, 3}
--        loss_fn  nn.CrossEntropy()
--        other    a model of the same architecture (for load_state)
--      plus lurn, nn, optim, data, train, text, checkpoint, errors, util,
--      and the modules a script requires by name: midi (lurn.midi), abc,
--      audio, tasks (lurn.tasks);
--      print is silenced and os.exit refused.
-- Output: "names N", "missing: NAME" lines, "examples N", "example failed:
-- NAME: message" lines; the status is 1 when anything is missing or failed.
local help = require "lurn.help"
local names = help.names()
local missing = help.missing()
print(("names %d"):format(#names))
for _, n in ipairs(missing) do print("missing: " .. n) end

local function fixtures()
  local nn, data = lurn.nn, lurn.data
  local model = nn.Sequential { nn.Embedding(5, 4, { padding = 0 }), nn.GRU(4, 8),
    nn.Pool("last"), nn.Linear(8, 2) }
  local vocab = data.Vocab.build { "a b", "b c" }
  local ds = data.Dataset { texts = { "a b", "b c", "c" }, labels = { 0, 1, 0 }, vocab = vocab }
  return {
    model = model, vocab = vocab, ds = ds, batch = ds:make_batch { 1, 2, 3 },
    loss_fn = nn.CrossEntropy(), other = nn.build(model:spec()),
    lurn = lurn, nn = nn, optim = lurn.optim, data = data, train = lurn.train, text = lurn.text,
    checkpoint = lurn.checkpoint, errors = lurn.errors, util = lurn.util,
    midi = require "lurn.midi", abc = require "lurn.abc", audio = require "lurn.audio",
    tasks = require "lurn.tasks",
    print = function() end,
    os = setmetatable({ exit = function() error("an example called os.exit", 2) end },
      { __index = os }),
  }
end

local failed, n = 0, 0
for _, name in ipairs(names) do
  local code = help.example(name)
  if code then
    n = n + 1
    local env = setmetatable(fixtures(), { __index = _G })
    local f, err = load(code, "=" .. name, "t", env)
    local ok = f ~= nil
    if ok then ok, err = pcall(f) end
    if not ok then
      failed = failed + 1
      print(("example failed: %s: %s"):format(name, (tostring(err):gsub("\n.*", ""))))
    end
  end
end
print(("examples %d"):format(n))
os.exit((#missing == 0 and failed == 0) and 0 or 1)
