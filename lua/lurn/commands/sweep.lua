--- lurn sweep CONFIG key=values ... [--trials N] [--jobs N] [--on-error stop|continue]
--             [--out DIR] [--seed N] [--dry-run]
-- lurn sweep --resume DIR [CONFIG key=values ...] [--trials N] [--jobs N]
--
-- Runs a config over a search space (lurn.sweep.space): every combination
-- of the listed values (grid), or --trials N random points over ranges. A
-- seed=... axis is a replicate axis: each point runs once per seed and is
-- reported as mean +- sd. Each trial is its own `lurn train` process and
-- run directory (trial-001/ ...) under the sweep directory, with its output
-- in trial-001.log; the sweep directory also holds sweep.jsonl (the space,
-- then one record per trial start and end) and summary.csv / summary.md
-- (the points ranked by train.best_metric on the validation split).
--
-- The whole space is checked (every trial's overrides through
-- lurn.config) before the first trial runs. A failed or diverged trial is
-- printed at once with its log and recorded; --on-error stop starts no
-- trial after it. --resume continues a sweep: finished trials are kept, an
-- interrupted trial resumes from its checkpoint (or starts again when it
-- has none), and --trials may grow a random search (the new trials are
-- numbered after the old ones); a changed space is refused, the difference
-- printed.
local lurn = require "lurn"
local lfs = require "lfs"
local argparse = require "argparse"
local errors = require "lurn.errors"
local config = require "lurn.config"
local rundir = require "lurn.run.dir"
local json = require "lurn.run.json"
local space = require "lurn.sweep.space"
local runner = require "lurn.sweep.runner"
local report = require "lurn.sweep.report"
local pool_lib = require "lurn.sweep.pool"
local dist = require "lurn.dist"

local M = {}

local function parser()
  local p = argparse("lurn sweep", "Train a config over a grid or a random sample of overrides, "
    .. "one run directory per trial, ranked in summary.md.")
  p:add_help(false)
  p:usage("usage: lurn sweep CONFIG key=values ... [options]\n"
    .. "       lurn sweep --resume DIR [CONFIG key=values ...] [options]")
  p:argument("args", "the config file, then axes: optim.lr=1e-3,3e-3 (values), "
    .. "model.layers=1..3 (integers), optim.lr=log(1e-4,1e-2) and model.dropout=uniform(0,0.5) "
    .. "(random search), seed=1..3 (replicates), or key=value (fixed)")
      :args("*"):argname("CONFIG key=values")
  p:option("--trials", "random search: this many points (each run once per seed)"):argname("N")
  p:option("--seed", "random search: the seed that draws the points (default: the config's "
    .. "seed)"):argname("N")
  p:option("--jobs", "trials run side by side; lurn's threads are divided among them")
      :argname("N"):default("1")
  p:option("--on-error", "after a failed or diverged trial: stop (start no more) or continue")
      :choices { "stop", "continue" }:default("continue")
  p:option("--out", "the sweep directory (default runs/<name>-sweep-<UTC time>-<4 hex>)")
      :argname("DIR")
  p:option("--resume", "continue the sweep in DIR"):argname("DIR")
  p:flag("--dry-run", "check the space, print the trials and exit")
  p:flag("-h --help", "show this help")
  p:epilog("Exit status: 0 when every trial completed; otherwise that of the first trial that "
    .. "did not\n(3 data, 5 diverged, ...), 2 for a usage or config error (the whole space is "
    .. "checked\nbefore the first trial), 130 interrupted (resume with --resume DIR). "
    .. "See docs/cli.md.")
  return p
end

function M.help() return parser():get_help() end

local int_option, say = report.int_option, report.say

local function params_words(t)
  local w = {}
  for _, p in ipairs(t.point.params) do w[#w + 1] = p.key .. "=" .. p.text end
  if t.seed then w[#w + 1] = "seed=" .. t.seed end
  return table.concat(w, " ")
end

-- The trial list: every point (grid, or random draws) once per seed.
local function trials_of(s, points)
  local out = {}
  for _, p in ipairs(points) do
    local words = {}
    for _, q in ipairs(p.params) do words[#words + 1] = q.key .. "=" .. q.text end
    local key = table.concat(words, " ")
    for _, seed in ipairs(s.seeds or { false }) do
      out[#out + 1] = { n = #out + 1, point = p, seed = seed and math.tointeger(tonumber(seed)),
        point_key = key }
    end
  end
  return out
end

-- What a finished trial process left: its record for sweep.jsonl (its
-- summary.json read here, or sent by the MPI rank that ran it).
local function outcome(t, done, dir, metric)
  local rec = { event = "trial", trial = t.n, params = t.point.params, seed = t.seed,
    point_key = t.point_key, run_dir = dir, log = done.log, exit_code = done.exit_code,
    seconds = done.seconds }
  local ok, summary = pcall(json.decode, done.summary or (function()
    local f = io.open(dir .. "/summary.json", "rb")
    if not f then return "null" end
    local s = f:read("a"); f:close(); return s
  end)())
  summary = ok and type(summary) == "table" and summary or nil
  if done.exit_code == 0 and summary and summary.status == "completed" then
    rec.status = "completed"
    rec.score = summary.best and summary.best.value
    rec.metric = metric
    rec.test = summary.test and summary.test.accuracy
    rec.epochs, rec.steps = summary.epochs, summary.steps
  elseif done.exit_code == 5 then
    rec.status = "diverged"
  elseif done.exit_code == 130 then
    rec.status = "interrupted"
  else
    rec.status = "failed"
  end
  if rec.status ~= "completed" then rec.reason = runner.tail(done.log, 2) end
  return rec
end

-- The sweep's setup from the command line (or the one saved, on --resume).
local function setup(o, words_in)
  local path, words = nil, {}
  for _, a in ipairs(words_in) do
    if not path and not a:find("=", 1, true) then path = a else words[#words + 1] = a end
  end
  local header
  if o.resume then
    if o.out then errors.raise("usage", "--out and --resume exclude each other") end
    local dir = o.resume:gsub("/+$", "")
    local _, all
    header, _, all = report.read(dir)
    if not header then
      errors.raise("usage", "--resume %s: not a sweep directory (no sweep.jsonl with its header)", dir)
    end
    -- a random search grown on an earlier resume keeps its new size
    for _, rec in ipairs(all) do
      if rec.event == "resume" and rec.random then header.random = rec.random end
    end
    if not path then
      path, words = header.config, header.words
      if #words_in > 0 then
        errors.raise("usage", "--resume %s: give the config before the axes", dir)
      end
    end
  end
  if not path then errors.raise("usage", "lurn sweep needs a config file (try lurn sweep --help)") end
  local cfg = config.load(path, {}, { check_paths = false })
  local s = space.parse(cfg, words)
  return path, cfg, s, header, words
end

local function check_resume(header, path, cfg, s, trials_n, seed)
  local lines = space.diff(header.space, space.describe(s))
  if header.config ~= path then
    lines[#lines + 1] = ("  config: %s -> %s"):format(header.config, path)
  end
  local ok, old = pcall(config.load, header.dir .. "/config.resolved.lua", {}, { check_paths = false })
  if ok then
    for _, d in ipairs(config.diff(old, cfg)) do
      lines[#lines + 1] = ("  %s: %s -> %s (in the config file)"):format(d.key,
        config.value_text(d.old), config.value_text(d.new))
    end
  end
  if header.random and seed ~= header.seed then
    lines[#lines + 1] = ("  --seed %s -> %s"):format(header.seed, seed)
  end
  if (header.random ~= nil) ~= (trials_n ~= nil) then
    lines[#lines + 1] = header.random and "  - --trials (random search)" or "  + --trials (random search)"
  end
  if #lines > 0 then
    errors.raise("config", "--resume %s: the search space differs from the sweep's:\n%s\n"
      .. "a sweep continues over the same space (only --trials, --jobs and --on-error may "
      .. "change); start a new sweep for another", header.dir, table.concat(lines, "\n"))
  end
end

--- `lurn sweep ...`; under mpirun rank 0 runs the sweep and the other
-- ranks run the trials it sends them (lurn.sweep.pool).
function M.main(args, ctx)
  return dist.main("sweep", function()
    if dist.active() and dist.rank() > 0 then return pool_lib.worker() end
    local status = M.main_rank(args, ctx)
    pool_lib.close_all()
    return status
  end)
end

--- The command on one rank (or without MPI): what M.main runs.
function M.main_rank(args, ctx)
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn sweep --help)", o) end
  local jobs = int_option("jobs", o.jobs, 1)
  local trials_n = int_option("trials", o.trials, 1)
  local path, cfg, s, header, words = setup(o, o.args)
  if header then header.dir = o.resume:gsub("/+$", "") end
  trials_n = trials_n or (header and header.random)
  local seed = int_option("seed", o.seed, 0) or (header and header.seed) or cfg.seed
  if header then check_resume(header, path, cfg, s, trials_n, seed) end

  -- the points, and every trial checked before anything runs
  local random_axis = space.is_random_only(s)
  if random_axis and not trials_n then
    errors.raise("usage", "'%s=%s' is a range to sample: random search needs --trials N",
      random_axis.key, random_axis.text)
  end
  if #s.axes == 0 and not s.seeds then
    errors.raise("usage", "nothing to sweep: give at least one key with several values "
      .. "(optim.lr=1e-3,3e-3) or a range (try lurn sweep --help)")
  end
  local points = trials_n and space.sample(s, trials_n, seed) or space.grid(s)
  space.check(cfg, s, points)
  local trials = trials_of(s, points)
  local metric, mode = cfg.train.best_metric, cfg.train.best_mode

  local total = lurn.threads()
  local per = math.max(1, total // jobs)
  local shape = ("%d trial%s (%d point%s%s)"):format(#trials, #trials == 1 and "" or "s",
    #points, #points == 1 and "" or "s", s.seeds and (" x %d seeds"):format(#s.seeds) or "")
  if o.dry_run then
    say("%s, %s", shape, trials_n and "random search" or "grid")
    for _, t in ipairs(trials) do
      say("trial %d  %s", t.n, params_words(t))
    end
    return 0
  end

  local dir
  if header then
    dir = header.dir
  else
    local run = rundir.create { out = o.out, name = cfg.name .. "-sweep" }
    dir = run.path
    run:write("config.resolved.lua", config.serialize(cfg))
    report.append(dir, { event = "sweep", config = path, words = words, space = space.describe(s),
      random = trials_n, seed = seed, metric = metric, mode = mode,
      started = os.date("!%Y-%m-%dT%H:%M:%SZ") })
  end
  local _, previous = report.read(dir)
  local finished = { completed = true, failed = true, diverged = true }
  local todo, records = {}, {}
  for _, t in ipairs(trials) do
    local r = previous[t.n]
    if r and finished[r.status] then records[#records + 1] = r else todo[#todo + 1] = t end
  end
  if header then
    report.append(dir, { event = "resume", random = trials_n, jobs = jobs,
      at = os.date("!%Y-%m-%dT%H:%M:%SZ") })
  end
  say("%s %s: %s, %d to run, %d at a time, %d thread%s each", header and "resuming" or "sweep",
    dir, shape, #todo, math.min(jobs, math.max(#todo, 1)), per, per == 1 and "" or "s")
  if jobs > total then
    say("  note: %d jobs on %d threads: the trials share cores", jobs, total)
  end

  local r = runner.new { threads = per, env = dist.active() and pool_lib.TRIAL_ENV or nil,
    watch = dist.active() and pool_lib.pid() or nil }
  local pool = pool_lib.new { runner = r, jobs = jobs }
  if dist.active() then
    say("  %d ranks (mpirun): rank 0 schedules and runs %d at a time, so does each other rank",
      dist.size(), jobs)
  end
  local first_failure, stopping, signal = nil, false, nil
  lurn.catch_signals()
  local function tick()
    local sig = lurn.caught_signal()
    if sig and not signal then
      signal = sig
      stopping = true
      say("%s: the running trials save a checkpoint and stop; resume with: lurn sweep --resume %s",
        sig, dir)
      pool:signal("TERM")
    end
  end
  local next_i = 1
  local width = #tostring(#trials)
  local function label(t) return ("trial %" .. width .. "d/%d"):format(t.n, #trials) end
  while true do
    tick()
    while not stopping and next_i <= #todo and pool:free() do
      local t = todo[next_i]
      next_i = next_i + 1
      local tdir = ("%s/trial-%03d"):format(dir, t.n)
      local log = tdir .. ".log"
      local argv
      if rundir.is_run(tdir) and lfs.attributes(tdir .. "/checkpoints/latest") then
        argv = { "train", "--resume", tdir, "--quiet" }
      else
        -- a trial stopped before its first checkpoint has nothing to
        -- continue: its directory (the sweep's own) starts again
        if lfs.attributes(tdir) then os.execute("rm -rf -- " .. rundir.shell_quote(tdir)) end
        argv = { "train", path }
        for _, w in ipairs(space.overrides(s, t.point, t.seed)) do argv[#argv + 1] = w end
        for _, w in ipairs { "--out", tdir, "--quiet" } do argv[#argv + 1] = w end
      end
      t.dir = tdir
      local rank = pool:start(t, argv, log, tdir)
      report.append(dir, { event = "start", trial = t.n, command = runner.command(per, argv),
        at = os.date("!%Y-%m-%dT%H:%M:%SZ"), rank = dist.active() and rank or nil })
      say("%s  %s%s%s", label(t), params_words(t), argv[2] == "--resume" and "  (resuming)" or "",
        dist.active() and ("  (rank %d)"):format(rank) or "")
    end
    if pool:running() == 0 then break end
    local ev = pool:next(tick)
    if ev.lost then   -- a rank died: its trials run again elsewhere
      for i = #ev.lost, 1, -1 do
        local t = ev.lost[i]
        table.insert(todo, next_i, t)
        report.append(dir, { event = "requeue", trial = t.n, rank = ev.rank,
          at = os.date("!%Y-%m-%dT%H:%M:%SZ") })
        say("%s  rank %d stopped answering (silent for %.0f s): trial queued again", label(t),
          ev.rank, ev.silent)
      end
      goto continue
    end
    local done = ev.done
    local t = done.id
    local rec = outcome(t, done, t.dir, metric)
    report.append(dir, rec)
    records[#records + 1] = rec
    if rec.status == "completed" then
      say("%s  done in %s  %s %s", label(t), report.duration(rec.seconds), metric,
        rec.score and ("%.4f"):format(rec.score) or "-")
    else
      say("%s  %s (exit %d) after %s: %s\n  log: %s", label(t), rec.status:upper(),
        rec.exit_code, report.duration(rec.seconds), rec.reason:gsub("\n", "\n  "), rec.log)
      if rec.status ~= "interrupted" then
        first_failure = first_failure or rec
        if o.on_error == "stop" and not stopping then
          stopping = true
          if pool:running() > 0 then say("  --on-error stop: waiting for the running trials") end
        end
      end
    end
    ::continue::
  end

  local groups = report.rank(records, mode)
  local keys = {}
  for _, a in ipairs(s.axes) do keys[#keys + 1] = a.key end
  local ropts = { keys = keys, metric = metric, mode = mode, replicates = s.seeds ~= nil,
    title = "sweep " .. dir }
  report.write(dir, groups, ropts)
  say("")
  for _, line in ipairs(report.lines(groups, ropts)) do say("%s", line) end
  local ran = 0
  for _, rec in ipairs(records) do if finished[rec.status] then ran = ran + 1 end end
  say("\n%d of %d trials finished; ranked in %s/summary.md (and summary.csv)", ran, #trials, dir)
  if signal then
    errors.raise("interrupted", "interrupted by %s; resume with: lurn sweep --resume %s", signal, dir)
  end
  if first_failure then
    local code = first_failure.exit_code
    local stopped = o.on_error == "stop" and ran < #trials
    io.stderr:write(("lurn sweep: trial %d %s (exit %d): log %s\n%s"):format(first_failure.trial,
      first_failure.status, code, first_failure.log, stopped and ("the sweep stopped there "
      .. "(--on-error stop); the rest runs with: lurn sweep --resume %s\n"):format(dir) or ""))
    return (code >= 2 and code <= 5) and code or 1
  end
  return 0
end

return M
