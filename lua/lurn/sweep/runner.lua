--- lurn.sweep.runner — trials as `lurn train` processes, several at once.
--
--   local runner = require "lurn.sweep.runner"
--   local r = runner.new { threads = 1 }        -- threads per trial
--   r:start(id, { "train", "cfg.lua", "optim.lr=0.01", "--out", dir }, log_path)
--   local done = r:wait()      -- blocks until a trial ends: {id=, exit_code=, seconds=}
--   r:running()                -- how many are still running
--   r:signal("TERM")           -- pass a SIGINT/SIGTERM on to every running trial
--   r:reap()                   -- a trial that has ended, or nil (does not block)
--
-- runner.new { threads = 1, env = { LURN_DIST = "off" }, watch = pid }: env
-- is set for the trials; with watch, a trial whose watched process (the MPI
-- rank that started it, under `mpirun lurn sweep`) is gone gets SIGTERM
-- (it saves a checkpoint and stops), so a re-queued trial never runs twice.
--
-- Why processes: a trial that crashes, diverges or runs out of memory takes
-- nothing else with it, its threads are its own (BLIS and OpenMP keep
-- process-wide state), and its log is a file the user can read. Each trial
-- runs in a small shell wrapper started in the background; the wrapper
-- writes the trial's pid, then its exit status, to files beside the log,
-- and the sweep polls for them (Lua has no wait() of its own).
local lurn = require "lurn"
local lfs = require "lfs"
local rundir = require "lurn.run.dir"

local M = {}
local R = {}
R.__index = R

--- The lurn executable (this one).
function M.exe()
  local host = package.loaded["lurn.host"]
  return host and host.exe or "lurn"
end

local q = rundir.shell_quote

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

function M.new(opts)
  return setmetatable({ threads = opts.threads, jobs = {}, poll = opts.poll or 0.1,
    env = opts.env, watch = opts.watch }, R)
end

--- The command line of a trial (what sweep.jsonl and the messages show).
function M.command(threads, args)
  local parts = { "lurn" }
  if threads then parts[#parts + 1] = "--threads " .. threads end
  for _, a in ipairs(args) do
    parts[#parts + 1] = a:match("^[%w%._/=:,+-]+$") and a or q(a)
  end
  return table.concat(parts, " ")
end

function R:start(id, args, log)
  local words = {}
  for k, v in pairs(self.env or {}) do words[#words + 1] = k .. "=" .. q(v) end
  words[#words + 1] = q(M.exe())
  if self.threads then words[#words + 1] = "--threads " .. self.threads end
  for _, a in ipairs(args) do words[#words + 1] = q(a) end
  local status, pidf = log .. ".status", log .. ".pid"
  os.remove(status)
  os.remove(pidf)
  -- the trial's own output goes to its log (appended: a resumed trial's log
  -- keeps the part before the interruption); the wrapper leaves its status
  -- under a temporary name first, so a status file is always whole
  local watch = ""
  if self.watch then   -- poll the watched process 5 times a second while the trial runs
    watch = ("while kill -0 $c 2>/dev/null; do kill -0 %d 2>/dev/null || kill -TERM $c; "
      .. "sleep 0.2; done; "):format(self.watch)
  end
  local script = ("%s >> %s 2>&1 < /dev/null & c=$!; echo $c > %s; %swait $c; echo $? > %s.tmp; "
    .. "mv %s.tmp %s"):format(table.concat(words, " "), q(log), q(pidf), watch, q(status),
    q(status), q(status))
  os.execute("sh -c " .. q(script) .. " > /dev/null 2>&1 &")
  self.jobs[#self.jobs + 1] = { id = id, log = log, status = status, pidf = pidf,
    t0 = lurn.clock() }
end

function R:running() return #self.jobs end

--- A trial that has ended ({id, exit_code, seconds, log}), or nil.
function R:reap()
  for i, j in ipairs(self.jobs) do
    local s = read_file(j.status)
    if s and s:match("%d+") then
      table.remove(self.jobs, i)
      os.remove(j.status)
      os.remove(j.pidf)
      return { id = j.id, exit_code = tonumber(s:match("%d+")), seconds = lurn.clock() - j.t0,
        log = j.log }
    end
  end
  return nil
end

local function sleep(s) os.execute(("sleep %.2f"):format(s)) end

--- Wait until one trial ends; returns {id, exit_code, seconds, log}.
-- on_tick(), when given, is called between polls (a signal check).
function R:wait(on_tick)
  while #self.jobs > 0 do
    local done = self:reap()
    if done then return done end
    if on_tick then on_tick() end
    sleep(self.poll)
  end
  return nil
end

--- Pass a signal on to every running trial (each saves a checkpoint and
-- stops, as lurn train does on Ctrl-C).
function R:signal(name)
  for _, j in ipairs(self.jobs) do
    if not j.signalled then
      local pid = (read_file(j.pidf) or ""):match("%d+")
      if pid then
        os.execute(("kill -%s %s 2>/dev/null"):format(name, pid))
        j.signalled = true
      end
    end
  end
end

--- The last lines of a log (the reason a trial failed).
function M.tail(log, n)
  local s = read_file(log) or ""
  local lines = {}
  for l in s:gmatch("[^\n]+") do lines[#lines + 1] = l end
  return table.concat(lines, "\n", math.max(1, #lines - (n or 3) + 1))
end

function M.exists(path) return lfs.attributes(path) ~= nil end

return M
