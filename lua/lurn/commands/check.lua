--- lurn check CONFIG [key=value ...] — validate a config and print it resolved.
--
-- Evaluates the config in its sandbox, checks every key against the schema,
-- applies the overrides and checks that the data files (and pretrained.from)
-- exist; reads no data.
-- On success the resolved config goes to stdout as Lua (`return { ... }`,
-- readable by lurn check and config.load again), preceded by comment lines
-- naming the files and the overridden keys. Exit status: 0 valid, 2 a config
-- or usage error, 3 a data file missing.
local argparse = require "argparse"
local config = require "lurn.config"
local errors = require "lurn.errors"

local M = {}

local function parser()
  local p = argparse("lurn check", "Validate a config (and overrides) without reading any "
      .. "data; print the resolved config.")
    :add_help(false)
  p:argument("config", "the config file (a Lua file returning a table)")
  p:argument("overrides", "key=value overrides, e.g. train.epochs=3 optim.lr=3e-3"):args("*")
  p:flag("--no-paths", "do not check that the data files exist")
  p:flag("-q --quiet", "print nothing on success (the exit status tells)")
  p:flag("-h --help", "show this help")
  return p
end

--- Status for an error raised by config.load: 2 config, 3 data; else rethrow.
function M.status(e, prog)
  if errors.is(e, "config") or errors.is(e, "usage") then
    io.stderr:write(prog, ": ", e.message, "\n")
    return 2
  elseif errors.is(e, "data") then
    io.stderr:write(prog, ": ", e.message, "\n")
    return 3
  end
  error(e, 0)
end

--- Parse args with p; returns the result, or nil and the exit status.
-- -h/--help prints p's help (`parent`, when given, parses: p is then the
-- subcommand whose help is meant).
function M.parse(p, args, prog, parent)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then
      print(p:get_help())
      return nil, 0
    end
    if a == "--" then break end
  end
  p = parent or p
  local ok, res = p:pparse(args)
  if not ok then
    io.stderr:write(p:get_usage(), "\n", prog, ": ", res, "\n")
    return nil, 2
  end
  return res
end

function M.main(args)
  local p = parser()
  local opts, status = M.parse(p, args, "lurn check")
  if not opts then return status end
  local ok, cfg, info = pcall(config.load, opts.config, opts.overrides,
    { check_paths = not opts.no_paths })
  if not ok then return M.status(cfg, "lurn check") end
  -- the language model a classifier starts from: checked here, not in
  -- config.load, so that a resumed run does not need it any more
  local from = cfg.pretrained and cfg.pretrained.from or ""
  if not opts.no_paths and from ~= "" and not require("lfs").attributes(from) then
    return M.status(errors.new("config", "pretrained.from = %q: no such file or directory",
      from), "lurn check")
  end
  if opts.quiet then return 0 end
  local head = { ("-- %s: valid"):format(info.file) }
  if #info.extends > 0 then
    head[#head + 1] = "-- extends: " .. table.concat(info.extends, ", ")
  end
  if #info.changed > 0 then
    head[#head + 1] = "-- overrides (file -> command line):"
    head[#head + 1] = config.changes_text(info.changed, "--   ")
  end
  io.write(table.concat(head, "\n"), "\n", config.serialize(cfg))
  return 0
end

return M
