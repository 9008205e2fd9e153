--- lurn.nn — layers, containers and losses (see nn/Module.lua for the protocol).
--
--   nn.build(spec) -> module
--     Rebuilds a module from what m:spec() returned: plain data naming an
--     nn constructor and its arguments, { type = "LSTM", args = { 16, 32,
--     { layers = 2 } } }. Inside args, a table with a string `type` naming a
--     constructor and an `args` table is itself a spec (Sequential's
--     children). The weights are new (loaded separately, e.g. from a
--     checkpoint); the shapes and parameter names are the original's.
--     Nothing in a spec is code: only the constructors of this table can be
--     named, so a checkpoint's spec cannot run anything else.
local acts = require "lurn.nn.activations"
local losses = require "lurn.nn.losses"
local rec = require "lurn.nn.Recurrent"
local util = require "lurn.util"

local M = {
  Module = require "lurn.nn.Module",
  Sequential = require "lurn.nn.Sequential",
  Concat = require "lurn.nn.Concat",
  Linear = require "lurn.nn.Linear",
  Embedding = require "lurn.nn.Embedding",
  SubwordEmbedding = require "lurn.nn.SubwordEmbedding",
  Dropout = require "lurn.nn.Dropout",
  Pool = require "lurn.nn.Pool",
  Ngrams = require "lurn.nn.Ngrams",
  AttentionPool = require "lurn.nn.AttentionPool",
  Attention = require "lurn.nn.Attention",
  Seq2Seq = require "lurn.nn.Seq2Seq",
  ReLU = acts.ReLU, Tanh = acts.Tanh, Sigmoid = acts.Sigmoid,
  Softmax = acts.Softmax, LogSoftmax = acts.LogSoftmax,
  RNN = rec.RNN, LSTM = rec.LSTM, GRU = rec.GRU,
  CrossEntropy = losses.CrossEntropy, BCEWithLogits = losses.BCEWithLogits, MSE = losses.MSE,
  CTC = require "lurn.nn.CTC",
  seq = require "lurn.nn.seq",
}

--- nn.constructors() — the names nn.build accepts: every class in this table but the abstract
-- base (layers added to the table later are found too).
-- @treturn table name -> class
-- @usage for name in pairs(nn.constructors()) do print(name) end
function M.constructors()
  local set = {}
  for name, v in pairs(M) do
    if type(v) == "table" and rawget(v, "__class") == v and name ~= "Module" then
      set[name] = v
    end
  end
  return set
end

local MAX_DEPTH = 64   -- deeper than any real model; a bound for hostile files

local build

-- A spec-shaped table: a string type naming a constructor, an args table.
local function is_spec(v, ctors)
  return type(v) == "table" and type(v.type) == "string" and ctors[v.type] ~= nil
      and (v.args == nil or type(v.args) == "table")
end

-- Copy an argument, building the nested specs inside it.
local function convert(v, path, ctors, depth)
  if depth > MAX_DEPTH then error(("%s: nested more than %d deep"):format(path, MAX_DEPTH), 0) end
  local t = type(v)
  if t == "number" or t == "string" or t == "boolean" then return v end
  if t ~= "table" then
    error(("%s: a spec holds plain data only, found a %s"):format(path, t), 0)
  end
  if is_spec(v, ctors) then return build(v, path, ctors, depth + 1) end
  local out = {}
  for k, x in pairs(v) do
    local kt = type(k)
    if kt ~= "string" and math.type(k) ~= "integer" then
      error(("%s: a spec's tables have string or integer keys, found a %s"):format(path, kt), 0)
    end
    local sub = kt == "string" and (path .. "." .. k) or ("%s[%d]"):format(path, k)
    out[k] = convert(x, sub, ctors, depth + 1)
  end
  return out
end

function build(spec, path, ctors, depth)
  if type(spec) ~= "table" then
    error(("%s: expected a spec table {type = ..., args = {...}}, got a %s"):format(path,
      type(spec)), 0)
  end
  if type(spec.type) ~= "string" then
    error(("%s: the spec has no type (a string naming an nn constructor)"):format(path), 0)
  end
  local ctor = ctors[spec.type]
  if not ctor then
    error(("%s: unknown type '%s' (did you mean '%s'?)"):format(path, spec.type,
      util.closest(spec.type, ctors)), 0)
  end
  for k in pairs(spec) do
    if k ~= "type" and k ~= "args" then
      error(("%s: unknown field '%s' in a spec (it has type and args)"):format(path,
        tostring(k)), 0)
    end
  end
  local args = spec.args or {}
  if type(args) ~= "table" then
    error(("%s (%s): args must be a table, got a %s"):format(path, spec.type, type(args)), 0)
  end
  local n = 0
  for k in pairs(args) do
    if math.type(k) ~= "integer" or k < 1 then
      error(("%s (%s): args must be a list, found the key '%s'"):format(path, spec.type,
        tostring(k)), 0)
    end
    n = math.max(n, k)
  end
  local built = {}
  for i = 1, n do
    built[i] = convert(args[i], ("%s.args[%d]"):format(path, i), ctors, depth)
  end
  local ok, m = pcall(ctor, table.unpack(built, 1, n))
  if not ok then
    -- the constructor's own words, without the Lua position it was raised at
    local msg = tostring(m):gsub("^[^\n]-%.lua:%d+: ", "")
    error(("%s (%s): %s"):format(path, spec.type, msg), 0)
  end
  return m
end

--- nn.build(spec) — a new module from what m:spec() returned.
-- A spec is plain data naming an nn constructor and its arguments:
-- {type = "LSTM", args = {16, 32, {layers = 2}}}; inside args, a table with
-- a string `type` and an `args` list is itself a spec (Sequential's
-- children). Only the constructors of nn can be named, so a checkpoint's
-- spec runs no other code. The weights are new (load them separately); the
-- shapes and parameter names are the original's.
-- @tparam table spec {type = "<constructor>", args = {...}}
-- @treturn nn.Module the module
-- @usage local m = nn.build { type = "Sequential", args = { {
--   { type = "Linear", args = { 4, 2 } }, { type = "ReLU" } } } }
function M.build(spec)
  return build(spec, "nn.build: spec", M.constructors(), 1)
end

return M
