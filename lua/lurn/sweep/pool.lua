--- lurn.sweep.pool — where a sweep's trials run: this machine's runner and,
-- under `mpirun -np N lurn sweep`, the other ranks.
--
--   local pool = require("lurn.sweep.pool").new { runner = r, jobs = 2 }
--   while pool:free() do pool:start(t, argv, log) end   -- t: the trial (t.n its number)
--   local ev = pool:next(tick)   -- {done = {id=, exit_code=, seconds=, log=, summary=}, rank=}
--                                -- or {lost = {t, ...}, rank = r, silent = seconds}
--   pool:signal("TERM"); pool:close()
--
-- Rank 0 schedules: it keeps the queue and runs `jobs` trials itself; every
-- other rank (pool.worker()) runs `jobs` trials at a time that rank 0 sends
-- it, each a single-process `lurn train` child with its own threads, and
-- sends back each one's exit status and summary.json. A worker says it is
-- alive every second; one silent for LURN_DIST_TIMEOUT seconds (default
-- 300) is taken for dead and its trials come back as `lost`, for the sweep
-- to queue again (they resume from their checkpoints). For the job to
-- outlive a dead rank, mpirun needs --enable-recovery; without it mpirun
-- stops the whole job and `lurn sweep --resume DIR` continues it.
local lurn = require "lurn"
local core = require "lurn.core"
local dist = require "lurn.dist"
local runner = require "lurn.sweep.runner"
local json = require "lurn.run.json"

local M = {}
local P = {}
P.__index = P

-- message tags
local WORK, DONE, BEAT, STOP, SIGNAL = 1, 2, 3, 4, 5

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- This process's pid (trials watch it: see runner.new's watch).
function M.pid() return math.tointeger(tonumber(read_file("/proc/self/stat"):match("^(%d+)"))) end

--- The environment of a trial under MPI: its own `lurn train`, not a rank.
M.TRIAL_ENV = { LURN_DIST = "off" }

--- A pool over o.runner (this machine, o.jobs at a time) and, under MPI, the other ranks.
function M.new(o)
  local p = setmetatable({ runner = o.runner, jobs = o.jobs, workers = {}, remote = 0 }, P)
  if dist.active() then
    local timeout = tonumber(os.getenv("LURN_DIST_TIMEOUT") or "") or 300
    p.dead_after = timeout
    local now = lurn.clock()
    for r = 1, dist.size() - 1 do
      p.workers[r] = { rank = r, trials = {}, heard = now, alive = true }
    end
  end
  last_pool = p
  return p
end

--- Where the next trial can start: "local", a worker's rank, or nil.
function P:free()
  if self.runner:running() < self.jobs then return "local" end
  for r = 1, #self.workers do
    local w = self.workers[r]
    if w.alive and self:count(w) < self.jobs then return r end
  end
  return nil
end

--- How many trials worker w runs now.
function P:count(w)
  local n = 0
  for _ in pairs(w.trials) do n = n + 1 end
  return n
end

--- Start trial t (argv for `lurn train`, its log) where there is room;
-- returns the rank it went to (0 for this one).
function P:start(t, argv, log, dir)
  local where = self:free()
  if where == "local" then
    self.runner:start(t, argv, log)
    return 0
  end
  local w = self.workers[where]
  w.trials[t.n] = t
  self.remote = self.remote + 1
  dist.core_send(where, WORK, json.encode { n = t.n, argv = argv, log = log, dir = dir,
    jobs = self.jobs })
  return where
end

function P:running() return self.runner:running() + self.remote end

--- The workers' messages so far; a DONE becomes an event, a silent worker a `lost` one.
function P:pump()
  if not dist.active() then return nil end
  local now = lurn.clock()
  while true do
    local src, tag, body = core.dist.poll()
    if not src then break end
    local w = self.workers[src]
    if w then
      w.heard = now
      if tag == DONE and w.alive then
        local d = json.decode(body)
        local t = w.trials[d.n]
        if t then
          w.trials[d.n] = nil
          self.remote = self.remote - 1
          return { done = { id = t, exit_code = d.exit_code, seconds = d.seconds, log = d.log,
            summary = d.summary }, rank = src }
        end
      end
    end
  end
  -- a worker silent for too long is dead: its trials go back to the queue
  for _, w in ipairs(self.workers) do
    if w.alive and now - w.heard > self.dead_after then
      w.alive = false
      dist.peer_lost = true
      local lost = {}
      for _, t in pairs(w.trials) do lost[#lost + 1] = t end
      table.sort(lost, function(a, b) return a.n < b.n end)
      self.remote = self.remote - #lost
      w.trials = {}
      return { lost = lost, rank = w.rank, silent = now - w.heard }
    end
  end
  return nil
end

--- The next event: a finished trial (here or on a worker) or a dead worker's
-- trials. on_tick() runs between polls (the signal check).
function P:next(on_tick)
  while self:running() > 0 do
    local done = self.runner:reap()
    if done then return { done = done, rank = 0 } end
    local ev = self:pump()
    if ev then return ev end
    if on_tick then on_tick() end
    os.execute("sleep 0.1")
  end
  return nil
end

--- Pass a signal to every running trial, here and on the workers.
function P:signal(name)
  self.runner:signal(name)
  for _, w in ipairs(self.workers) do
    if w.alive then dist.core_send(w.rank, SIGNAL, name) end
  end
end

--- No more work: the workers return.
function P:close()
  for _, w in ipairs(self.workers) do
    if w.alive then dist.core_send(w.rank, STOP, "") end
  end
end

local last_pool
--- After the sweep (or its --dry-run, --help): every worker still alive returns.
function M.close_all()
  if not dist.active() then return end
  if last_pool then return last_pool:close() end
  for rank = 1, dist.size() - 1 do dist.core_send(rank, STOP, "") end
end

--- A worker rank's whole life: run what rank 0 sends until it says stop.
function M.worker()
  local r
  local beat = 0
  local running = {}
  while true do
    local now = lurn.clock()
    if now - beat >= 1 then
      dist.core_send(0, BEAT, "")
      beat = now
    end
    local src, tag, body = core.dist.poll()
    if src == 0 and tag == WORK then
      local w = json.decode(body)
      if not r then
        r = runner.new { threads = math.max(1, lurn.threads() // w.jobs), env = M.TRIAL_ENV,
          watch = M.pid() }
      end
      running[w.n] = w
      r:start(w.n, w.argv, w.log)
    elseif src == 0 and tag == SIGNAL then
      if r then r:signal(body) end
    elseif src == 0 and tag == STOP then
      return 0
    end
    local done = r and r:reap()
    if done then
      local w = running[done.id]
      running[done.id] = nil
      dist.core_send(0, DONE, json.encode { n = done.id, exit_code = done.exit_code,
        seconds = done.seconds, log = done.log, summary = read_file(w.dir .. "/summary.json") })
    elseif not src then
      os.execute("sleep 0.1")
    end
  end
end

return M
