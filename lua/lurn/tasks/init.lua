--- lurn.tasks — what `lurn train` and `lurn eval` do for each config `task`.
--
-- "classify" is lurn.commands.train's own path. Every other task is a
-- module lurn.tasks.<name> with
--
--   task.run(cfg, opts) -> summary      -- lurn train (opts as commands.train.run's)
--   task.eval(s, o) -> table            -- lurn eval on a loaded run (lurn.run.saved's s,
--                                       --   the parsed eval options o); optional
--
-- and the config's own section (schema.lua) for its options. The registry
-- below is the list of tasks; the schema's `task` choices come from it.
local M = {}

--- task name -> module name, in the order `lurn config keys` shows them.
-- @usage for _, t in ipairs(tasks.registry) do print(t[1], t[2] or "(lurn train itself)") end
M.registry = {
  { "classify", nil },
  { "forecast", "lurn.tasks.forecast" },
  { "translate", "lurn.tasks.translate" },
  { "lm", "lurn.tasks.lm" },
  { "speech", "lurn.tasks.speech" },
  { "pianoroll", "lurn.tasks.pianoroll" },
}

--- The names, for the schema's choices.
-- @usage print(table.concat(tasks.names(), ", "))   --> classify, forecast, translate, lm, speech, pianoroll
function M.names()
  local out = {}
  for i, t in ipairs(M.registry) do out[i] = t[1] end
  return out
end

--- The module of task `name` (nil for classify); an unknown name is an error.
-- @usage local lm = tasks.module("lm")   -- lurn.tasks.lm: run, eval, load_saved, ...
-- print(type(lm.run), tasks.module("classify"))   --> function nil
function M.module(name)
  for _, t in ipairs(M.registry) do
    if t[1] == name then return t[2] and require(t[2]) or nil end
  end
  error(("lurn.tasks: unknown task '%s'"):format(tostring(name)), 2)
end

return M
