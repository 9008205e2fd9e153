--- lurn.cli — the `lurn` command line.
--
--   lurn                          interactive prompt, lurn preloaded
--   lurn script.lua [args]        run a script with `arg` set
--   lurn run script.lua [args]    the same
--   lurn -e 'code'                run a chunk of code
--   lurn info                     Lua, BLIS (version, kernels), threads, build
--   lurn --version
--   lurn <command> ...            the commands registered in `commands` below
--
-- Global flags, before the command: --threads N (or --threads=N).
-- Every entry point returns an exit status; errors inside scripts are
-- caught, printed with a traceback, and give status 1.
local errors = require "lurn.errors"

local M = {}

local function lurn() return require "lurn" end

local function eprint(...)
  io.stderr:write(table.concat({...}, " "), "\n")
end

local function traceback(err)
  if type(err) ~= "string" then
    local mt = getmetatable(err)
    err = (mt and mt.__tostring) and tostring(err) or ("(error object is a " .. type(err) .. ")")
  end
  return debug.traceback(err, 2)
end

--- Run `fn(...)` with a traceback handler; returns the exit status.
local function protected(fn, ...)
  local ok, err = xpcall(fn, traceback, ...)
  if not ok then
    eprint("lurn: " .. err)
    return 1
  end
  return 0
end

--- The environment scripts and -e chunks run in: globals plus `lurn`.
local function script_env()
  _G.lurn = lurn()
  return _G
end

local function run_file(path, args)
  local chunk, err = loadfile(path, "bt", script_env())
  if not chunk then
    eprint("lurn: " .. err)
    return 1
  end
  -- arg like the stock interpreter: arg[0] the script, arg[1..] its arguments
  local a = { [0] = path }
  for i, v in ipairs(args) do a[i] = v end
  _G.arg = a
  return protected(chunk, table.unpack(args))
end

local function run_string(code)
  local chunk, err = load(code, "=(command line)", "t", script_env())
  if not chunk then
    eprint("lurn: " .. err)
    return 1
  end
  return protected(chunk)
end

--- `lurn info`
function M.info(bench)
  local L = lurn()
  local i = L.info()
  print(("lurn %s"):format(i.version))
  print(("lua         %s"):format(i.lua))
  print(("blis        %s (kernels: %s, %s)"):format(i.blis, i.blis_arch,
    i.blis_openmp and "OpenMP threading" or "no OpenMP"))
  print(("kernels     %s, tile %s: %s"):format(i.blis_arch, i.kernel_tile, i.kernels_why))
  print(("threads     %d of %d cores"):format(i.threads, i.cores))
  print(("build       %s"):format(i.build_type))
  -- MPI: built or not; under mpirun each rank says which it is
  local dist = require "lurn.dist"
  if not dist.built() then
    print("mpi         no (built without MPI: mpirun -np N lurn train needs libopenmpi-dev)")
  elseif L.dist.launched() then
    dist.setup()
    print(("mpi         %s, rank %d of %d"):format(L.dist.library(), dist.rank(), dist.size()))
    L.dist.finalize()
  else
    print(("mpi         %s, not started by mpirun (rank 0 of 1)"):format(L.dist.library()))
  end
  if bench then
    -- the square sgemm peak at 1 thread and at the current count
    local t = i.threads
    local counts = t > 1 and { 1, t } or { 1 }
    for _, n in ipairs(counts) do
      L.threads(n)
      print(("peak        %.1f GFLOP/s sgemm 1024^3, %d thread%s (best of 5)"):format(
        L.sgemm_peak(1024, 5), n, n > 1 and "s" or ""))
    end
    L.threads(t)
  end
  return 0
end

--- A chunk typed at the prompt, with a leading `local` made a session
-- variable: each line is its own chunk, so a true local would be gone at the
-- next line ("local x = 1" then "x + 1" must work). Locals with attributes
-- (<const>, <close>) keep their meaning and stay local to the line.
function M.prompt_chunk(code)
  local names, rest = code:match("^%s*local%s+([%a_][%w_%s,]*)(.*)$")
  if names and not names:match("^function%f[^%w_]") and not rest:match("^%s*<") then
    if rest:match("^%s*=") then return names .. rest end
    return names:gsub("%s+$", "") .. " = nil" .. rest
  end
  local fname, body = code:match("^%s*local%s+function%s+([%a_][%w_]*)(.*)$")
  if fname then return "function " .. fname .. body end
  return code
end

--- The interactive prompt: like the stock `lua` one, results printed.
function M.repl()
  local host = package.loaded["lurn.host"]
  local read = host and host.readline or function(prompt)
    io.write(prompt); io.flush(); return io.read("l")
  end
  local env = script_env()
  if host and host.isatty(0) then
    print(("lurn %s on %s — lurn is preloaded; Ctrl-D exits"):format(lurn().version, _VERSION))
  end
  while true do
    local line = read("> ")
    if not line then break end
    -- "=expr" and plain expressions print their values, like lua 5.4's prompt
    local code = M.prompt_chunk((line:gsub("^=", "return ")))
    local chunk = load("return " .. code, "=stdin", "t", env)
    if not chunk then
      chunk = load(code, "=stdin", "t", env)
      -- keep reading while the statement is incomplete
      while not chunk do
        local _, err = load(code, "=stdin", "t", env)
        if not err:find("<eof>$") then
          eprint(err)
          break
        end
        local more = read(">> ")
        if not more then break end
        code = code .. "\n" .. more
        chunk = load(code, "=stdin", "t", env)
      end
    end
    if chunk then
      local res = table.pack(xpcall(chunk, traceback))
      if not res[1] then
        eprint(res[2])
      elseif res.n > 1 then
        local out = {}
        for i = 2, res.n do out[#out + 1] = tostring(res[i]) end
        print(table.concat(out, "\t"))
      end
    end
  end
  if host and host.isatty(0) then io.write("\n") end
  return 0
end

local usage = [[
usage: lurn [--threads N] [command] [args]

  lurn                         interactive prompt with lurn preloaded
  lurn script.lua [args]       run a Lua script (arg is set, lurn is preloaded)
  lurn run script.lua [args]   the same
  lurn -e 'code'               run a chunk of Lua code
  lurn info [--bench]          versions, BLIS kernels (and why), threads, build type;
                               --bench: the measured sgemm peak
  lurn --version               print the version
  lurn help [COMMAND]          this text, or a command's (also lurn COMMAND --help)
%s
Environment: LURN_THREADS (default: all cores), LURN_LUA_DIR (library path),
LURN_GC (gen: Lua's generational collector, the default; inc: incremental),
LURN_PROFILE=1 (lurn train: milliseconds per step in each phase).
Exit status: 0 ok, 1 internal error, 2 usage or config error, 3 data error,
4 checkpoint error, 5 diverged (NaN/Inf), 130 interrupted (checkpoint saved).
docs/cli.md walks through config -> train -> eval -> predict -> sweep.]]

--- Subcommands provided by other modules: name -> {module, summary}.
-- Each module exports `main(args) -> status`.
M.commands = {}

local function command_list()
  local names = {}
  for name in pairs(M.commands) do names[#names + 1] = name end
  table.sort(names)
  local lines = {}
  for _, name in ipairs(names) do
    lines[#lines + 1] = ("  lurn %-24s%s"):format(name .. " ...", M.commands[name].summary)
  end
  return #lines > 0 and table.concat(lines, "\n") .. "\n" or ""
end

-- lurn's own library directory: where this file is. Commands are looked up
-- there only, never on package.path (which may hold ./?.lua).
local lib_path = (function()
  local dir = debug.getinfo(1, "S").source:match("^@(.*)/lurn/cli%.lua$") or "."
  return dir .. "/?.lua;" .. dir .. "/?/init.lua"
end)()

local function register_commands()
  -- Optional command modules: present once the matching parts are built.
  for _, spec in ipairs {
    { "check", "lurn.commands.check", "validate a config and print it resolved" },
    { "config", "lurn.commands.config", "show a config, its keys, or its differences from the defaults" },
    { "train", "lurn.commands.train", "train a model from a config file" },
    { "eval", "lurn.commands.eval", "evaluate a run directory or checkpoint" },
    { "predict", "lurn.commands.predict", "predict labels for texts with a checkpoint" },
    { "forecast", "lurn.commands.forecast", "forecast a time series with a trained forecast run" },
    { "translate", "lurn.commands.translate", "translate sentences with a trained translate run" },
    { "sample", "lurn.commands.sample", "generate text from a language model (task lm)" },
    { "inspect", "lurn.commands.inspect", "show a checkpoint: config, modules, parameters, metrics" },
    { "sweep", "lurn.commands.sweep", "train a config over a grid or a random sample of overrides" },
    { "autotune", "lurn.commands.autotune", "search hyperparameters within a time budget" },
    { "gradcheck", "lurn.commands.gradcheck", "finite-difference check of a module's gradients" },
    { "export", "lurn.commands.export", "write a checkpoint's weights for PyTorch" },
    { "doc", "lurn.commands.doc", "the reference text of a name (lurn doc nn.LSTM)" },
    { "transcribe", "lurn.commands.transcribe", "recognise spoken digits in WAV files with a speech run" },
  } do
    if package.searchpath(spec[2], lib_path) then
      M.commands[spec[1]] = { module = spec[2], summary = spec[3] }
    end
  end
end

--- Run a registered command. An error object (lurn.errors) is the user's
-- mistake: its message alone, and its exit code; anything else is a bug:
-- a traceback and status 1.
function M.run_command(cmd, args)
  local status = 1
  local ok, err = xpcall(function()
    status = require(M.commands[cmd].module).main(args, M.context) or 0
  end, function(e)
    if errors.is(e) then return e end
    return traceback(e)
  end)
  if ok then return status end
  if errors.is(err) then
    eprint(("lurn %s: %s"):format(cmd, err.message))
    return errors.exit_code(err)
  end
  eprint("lurn: " .. err)
  return 1
end

--- What commands may want to know about the global flags.
M.context = { threads_fixed = false }

--- Entry point. argv[0] is the program name, argv[1..] its arguments.
function M.main(argv)
  register_commands()
  local args = {}
  for i = 1, #argv do args[i] = argv[i] end

  -- global flags
  while args[1] and args[1]:sub(1, 2) == "--" do
    local flag = table.remove(args, 1)
    local name, value = flag:match("^%-%-([%w-]+)=(.*)$")
    name = name or flag:sub(3)
    if name == "threads" then
      value = value or table.remove(args, 1)
      local n = tonumber(value)
      if not n or n ~= math.floor(n) or n < 0 then
        eprint(("lurn: --threads needs a non-negative integer, got '%s'"):format(tostring(value)))
        return 2
      end
      lurn().threads(n)
      M.context.threads_fixed = true
    elseif name == "version" then
      print("lurn " .. lurn().version)
      return 0
    elseif name == "help" then
      print(usage:format(command_list()))
      return 0
    else
      eprint(("lurn: unknown option '%s' (try lurn help)"):format(flag))
      return 2
    end
  end

  local cmd = table.remove(args, 1)
  if cmd == nil then return M.repl() end
  if cmd == "-e" then
    local code = table.remove(args, 1)
    if not code then
      eprint("lurn: -e needs a chunk of code")
      return 2
    end
    _G.arg = args
    return run_string(code)
  end
  if cmd == "-v" then
    print("lurn " .. lurn().version)
    return 0
  end
  if cmd == "help" or cmd == "-h" then
    local sub = args[1]
    if sub and M.commands[sub] then return M.run_command(sub, { "--help" }) end
    if sub then
      eprint(("lurn: no command '%s' (try lurn help)"):format(sub))
      return 2
    end
    print(usage:format(command_list()))
    return 0
  end
  if cmd == "info" then
    if args[1] ~= nil and args[1] ~= "--bench" then
      eprint(("lurn: info: unknown option '%s' (known: --bench)"):format(args[1]))
      return 2
    end
    return M.info(args[1] == "--bench")
  end
  if cmd == "run" then
    local path = table.remove(args, 1)
    if not path then
      eprint("lurn: run needs a script")
      return 2
    end
    if path == "--help" or path == "-h" then
      print("usage: lurn run script.lua [args]   run a Lua script (arg is set, lurn is preloaded)")
      return 0
    end
    return run_file(path, args)
  end
  if M.commands[cmd] then return M.run_command(cmd, args) end
  if cmd:match("%.lua$") or io.open(cmd, "r") then
    local f = io.open(cmd, "r")
    if not f then
      eprint(("lurn: cannot open %s"):format(cmd))
      return 1
    end
    f:close()
    return run_file(cmd, args)
  end
  eprint(("lurn: unknown command '%s' (try lurn help)"):format(cmd))
  return 2
end

return M
