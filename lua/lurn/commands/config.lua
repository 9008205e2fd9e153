--- lurn config show|keys — look at configs and at the schema.
--
--   lurn config show CONFIG [key=value ...] [--diff-defaults]
--       the resolved config as Lua; with --diff-defaults only the keys whose
--       value differs from lurn's default, one "key = value  -- default: d"
--       line each
--   lurn config keys [PREFIX]
--       every key of the schema: type, default, allowed values, help
--
-- Errors as for lurn check: 2 config or usage, 3 a data file missing.
local argparse = require "argparse"
local config = require "lurn.config"
local check = require "lurn.commands.check"

local M = {}

local function parser()
  local p = argparse("lurn config", "Show a config or the keys a config may set.")
    :add_help(false)
    :command_target("command")
  p:flag("-h --help", "show this help")
  local show = p:command("show", "print a config resolved (every key), or only what it changes")
    :add_help(false)
  show:argument("config", "the config file")
  show:argument("overrides", "key=value overrides"):args("*")
  show:flag("--diff-defaults", "only the keys whose value differs from the default")
  show:flag("--no-paths", "do not check that the data files exist")
  local keys = p:command("keys", "list every key: type, default, allowed values, help")
    :add_help(false)
  keys:argument("prefix", "only keys starting with this (e.g. train)"):args("?")
  return p, { show = show, keys = keys }
end

local function range_text(e)
  if e.choices then return table.concat(e.choices, "|") end
  if e.min and e.max then
    return ("%s..%s"):format(config.value_text(e.min), config.value_text(e.max))
  end
  if e.min then return ">= " .. config.value_text(e.min) end
  if e.max then return "<= " .. config.value_text(e.max) end
  return ""
end

--- The schema as text lines "key  type  default  allowed  help".
function M.keys_text(prefix)
  local rows = {}
  for _, leaf in ipairs(config.leaves()) do
    if not prefix or leaf.key:sub(1, #prefix) == prefix then
      local e = leaf.entry
      rows[#rows + 1] = { leaf.key, e.type, e.default == nil and "(none)"
        or config.value_text(e.default), range_text(e), e.help }
    end
  end
  local w = { 0, 0, 0, 0 }
  for _, r in ipairs(rows) do
    for i = 1, 4 do w[i] = math.max(w[i], #r[i]) end
  end
  local out = {}
  for _, r in ipairs(rows) do
    out[#out + 1] = ("%-" .. w[1] .. "s  %-" .. w[2] .. "s  %-" .. w[3] .. "s  %-" .. w[4]
      .. "s  %s"):format(table.unpack(r))
  end
  return table.concat(out, "\n")
end

function M.main(args)
  local p, subs = parser()
  -- `lurn config show --help`: the subcommand's own help
  local opts, status = check.parse(subs[args[1]] or p, args, "lurn config", subs[args[1]] and p)
  if not opts then return status end
  if opts.command == "keys" then
    local text = M.keys_text(opts.prefix)
    if text == "" then
      io.stderr:write(("lurn config keys: no key starts with '%s'\n"):format(opts.prefix))
      return 2
    end
    print(text)
    return 0
  end
  local ok, cfg, info = pcall(config.load, opts.config, opts.overrides,
    { check_paths = not opts.no_paths })
  if not ok then return check.status(cfg, "lurn config show") end
  if not opts.diff_defaults then
    io.write(("-- %s resolved\n"):format(info.file), config.serialize(cfg))
    return 0
  end
  local d = config.diff(config.defaults(), cfg)
  io.write(("-- %s: %d key%s differ%s from the defaults\n"):format(info.file, #d,
    #d == 1 and "" or "s", #d == 1 and "s" or ""))
  for _, c in ipairs(d) do
    io.write(("%s = %s  -- default: %s\n"):format(c.key, config.value_text(c.new),
      c.old == nil and "(none)" or config.value_text(c.old)))
  end
  return 0
end

return M
