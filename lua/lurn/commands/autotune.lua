--- lurn autotune CONFIG --budget 10m [key=value ...] [key=log(a,b) ...] [--out DIR]
--                [--seed N] [--trials N] [--eta N]
--
-- A time-boxed hyperparameter search on the validation split, by successive
-- halving on epochs: configs drawn at random (lurn.sweep.space, from --seed)
-- train for a few epochs each; the best 1/eta of them continue (lurn train
-- --resume, so no epoch is paid twice) for eta times as many; and so on up
-- to the rung below train.epochs. The best config then trains afresh for
-- train.epochs, and that final run's score is the result: best.lua holds
-- its whole config and `lurn train best.lua` repeats it exactly (same seed,
-- same thread count, which best.lua sets).
--
-- The budget covers everything, the final training included. It is planned
-- from what the trials measure (each trial's start-up time and seconds per
-- epoch, from its summary.json): a new config is drawn only while the
-- promotions it may earn and the final training still fit, and a promotion
-- starts only if it fits. Keys given on the command line as key=value stay
-- fixed (and are listed); key=log(a,b), uniform(a,b), a..b or a,b,c replace
-- the default range of that key. The draws depend on --seed only; with
-- --trials N (and a budget that allows them) the whole search is
-- deterministic, otherwise the number of configs tried depends on speed.
local lurn = require "lurn"
local argparse = require "argparse"
local errors = require "lurn.errors"
local config = require "lurn.config"
local rundir = require "lurn.run.dir"
local json = require "lurn.run.json"
local progress = require "lurn.run.progress"
local space = require "lurn.sweep.space"
local runner = require "lurn.sweep.runner"
local report = require "lurn.sweep.report"

local M = {}

--- The keys searched when the command line does not fix them, and their
-- ranges: what matters most for the recurrent classifiers lurn trains.
M.DEFAULT_SPACE = {
  { "optim.lr", "log(1e-4,3e-2)" },
  { "model.embed", "16,32,64,128" },
  { "model.hidden", "32,64,128,256", rnn = true },
  { "model.embed_dropout", "uniform(0,0.3)" },
  { "model.output_dropout", "uniform(0,0.5)", rnn = true },
  { "train.batch_size", "16,32,64" },
}

-- How much of the budget is kept back for estimates that come out low
-- (a loaded machine, a config slower than the ones measured).
local SAFETY = 0.92

local function parser()
  local p = argparse("lurn autotune", "Search hyperparameters within a time budget, on the "
    .. "validation split, by successive halving on epochs; train the best config and save it "
    .. "as best.lua.")
  p:add_help(false)
  p:usage("usage: lurn autotune CONFIG --budget TIME [key=value ...] [options]")
  p:argument("args", "the config file, then key=value (fixed: not searched) or a range that "
    .. "replaces a key's default one: optim.lr=log(1e-4,1e-2), model.hidden=64,128")
      :args("*"):argname("CONFIG key=value")
  p:option("--budget", "the whole time allowed, final training included: 90s, 10m, 1h, "
    .. "or seconds"):argname("TIME")
  p:option("--out", "the autotune directory (default runs/<name>-autotune-<UTC time>-<4 hex>)")
      :argname("DIR")
  p:option("--seed", "the seed that draws the configs (default: the config's seed)"):argname("N")
  p:option("--trials", "draw at most N configs (with a budget that allows them, the search "
    .. "is then deterministic)"):argname("N")
  p:option("--eta", "keep the best 1/eta of the configs at each rung"):argname("N"):default("3")
  p:flag("-h --help", "show this help")
  p:epilog("Searched unless fixed: optim.lr, model.embed, model.hidden, model.embed_dropout,\n"
    .. "model.output_dropout, train.batch_size. The last rung's epochs are train.epochs.\n"
    .. "Exit status: 0 done, 2 usage or config error (or a budget too small for one trial\n"
    .. "and the final training), 3 data error, 130 interrupted. See docs/cli.md.")
  return p
end

function M.help() return parser():get_help() end

--- "90s", "10m", "1.5h", "120" -> seconds
function M.parse_budget(s)
  local n, unit = tostring(s or ""):match("^%s*(%d+%.?%d*)%s*([smh]?)%s*$")
  n = tonumber(n)
  if not n or n <= 0 then
    errors.raise("usage", "--budget needs a time like 90s, 10m or 1h, got '%s'", tostring(s))
  end
  return n * ({ s = 1, m = 60, h = 3600, [""] = 1 })[unit]
end

local int_option, say = report.int_option, report.say

local function read_json(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local ok, t = pcall(json.decode, s)
  return ok and type(t) == "table" and t or nil
end

-- The rungs' epochs: train.epochs / eta^k for k = K..1, rounded up, each
-- below train.epochs (the final training is the last step).
function M.rungs(epochs, eta)
  local out, seen = {}, {}
  local d = eta
  while true do
    local r = math.ceil(epochs / d)
    if r < epochs and not seen[r] then table.insert(out, 1, r); seen[r] = true end
    if r <= 1 then break end
    d = d * eta
  end
  if #out == 0 then out[1] = epochs end
  return out
end

-- better(a, b): a's score beats b's for the metric's direction
local function better(mode, a, b)
  if a == nil then return false end
  if b == nil then return true end
  if mode == "min" then return a < b end
  return a > b
end

function M.main(args, ctx)
  local t0 = lurn.clock()
  for _, a in ipairs(args) do
    if a == "-h" or a == "--help" then print(M.help()); return 0 end
  end
  local ok, o = parser():pparse(args)
  if not ok then errors.raise("usage", "%s (try lurn autotune --help)", o) end
  if not o.budget then errors.raise("usage", "lurn autotune needs --budget (e.g. --budget 10m)") end
  local budget = M.parse_budget(o.budget)
  local eta = int_option("eta", o.eta, 2)
  local max_trials = int_option("trials", o.trials, 1)
  local elapsed = function() return lurn.clock() - t0 end

  -- the config, the fixed keys and the space
  local path, words = nil, {}
  for _, a in ipairs(o.args) do
    if not path and not a:find("=", 1, true) then path = a else words[#words + 1] = a end
  end
  if not path then errors.raise("usage", "lurn autotune needs a config file (try lurn autotune --help)") end
  local base = config.load(path, {}, { check_paths = false })
  local user = space.parse(base, words)
  local cfg = config.load(path, user.fixed)
  local given = {}
  for _, w in ipairs(words) do given[w:match("^%s*([^=]-)%s*=")] = true end
  local all = {}
  local rnn = cfg.model.type ~= "bow" and cfg.model.type ~= "custom"
  for _, d in ipairs(M.DEFAULT_SPACE) do
    local model_key = d[1]:match("^model%.")
    if not given[d[1]] and (rnn or not d.rnn) and (cfg.model.type ~= "custom" or not model_key) then
      all[#all + 1] = d[1] .. "=" .. d[2]
    end
  end
  for _, w in ipairs(words) do all[#all + 1] = w end
  local s = space.parse(base, all)
  if s.seeds then errors.raise("usage", "autotune trains each config once, with the config's "
    .. "seed: give seed=N to fix it, not a list") end
  if #s.axes == 0 then errors.raise("usage", "nothing left to search: every searched key is fixed") end
  local seed = int_option("seed", o.seed, 0) or cfg.seed
  local cap = max_trials or 200
  local points = space.sample(s, cap, seed)
  space.check(cfg, s, points)   -- every config drawn is valid before the first runs
  local epochs, metric, mode = cfg.train.epochs, cfg.train.best_metric, cfg.train.best_mode
  local rungs = M.rungs(epochs, eta)
  local threads = lurn.threads()

  local top = rundir.create { out = o.out, name = cfg.name .. "-autotune" }
  local dir = top.path
  local function record(r) report.append(dir, r, "autotune.jsonl") end
  record { event = "autotune", config = path, budget = budget, seed = seed,
    fixed = user.fixed, space = space.describe(s), epochs = epochs, rungs = rungs, eta = eta,
    metric = metric, mode = mode, threads = threads }

  say("autotune %s: %s of budget; %s on the validation split (%s); rungs of %s epoch(s), "
    .. "then %d for the best", dir, progress.fmt_time(budget), metric, mode == "min" and "lower is better"
    or "higher is better", table.concat(rungs, ", "), epochs)
  if #user.fixed > 0 then say("fixed: %s", table.concat(user.fixed, " ")) end
  say("searching: %s", table.concat(space.describe(s).axes, " "))

  local r = runner.new { threads = threads }
  local signal
  lurn.catch_signals()
  local function tick()
    local sig = lurn.caught_signal()
    if sig and not signal then signal = sig; r:signal("TERM") end
  end
  -- run one trial process to its end; returns exit code, wall seconds
  local function run(argv, log)
    r:start(1, argv, log)
    local done = r:wait(tick)
    if signal then
      errors.raise("interrupted", "interrupted by %s after %s; the trials so far are in %s",
        signal, progress.fmt_time(elapsed()), dir)
    end
    return done.exit_code, done.seconds
  end

  local trials = {}   -- {n, point, dir, rung, score, o (start-up s), e (s per epoch)}
  -- what a trial costs to train `extra` more epochs, or a fresh final run
  local function cost(t, extra) return t.o + extra * t.e end
  local function mean(field)
    local sum, n = 0, 0
    for _, t in ipairs(trials) do if t[field] then sum = sum + t[field]; n = n + 1 end end
    return n > 0 and sum / n or nil
  end
  local function ranked(rung_i)
    local list = {}
    for _, t in ipairs(trials) do
      if t.rung and t.rung >= rung_i and t.scores[rung_i] ~= nil then list[#list + 1] = t end
    end
    table.sort(list, function(a, b)
      if a.scores[rung_i] ~= b.scores[rung_i] then
        return better(mode, a.scores[rung_i], b.scores[rung_i])
      end
      return a.n < b.n
    end)
    return list
  end
  -- the final training's estimated cost, with a margin: the dearest of the
  -- three leading configs' (a new trial may overtake the leader, and the
  -- final training is the leader's)
  local function final_cost()
    local worst = 0
    for j, t in ipairs(ranked(1)) do
      if j > 3 then break end
      worst = math.max(worst, cost(t, epochs))
    end
    return worst * 1.15
  end
  -- promotions still to come if rung 0 ends with n configs (means; rungs > 1)
  local function promotions_cost(n)
    local e, oh, total, k = mean("e") or 0, mean("o") or 0, 0, n
    for i = 2, #rungs do
      k = math.ceil(k / eta)
      total = total + k * (oh + (rungs[i] - rungs[i - 1]) * e)
    end
    return total
  end
  local function fits(c) return elapsed() + c <= budget * SAFETY end

  local function trial_argv(t, rung_epochs, resume)
    if resume then
      return { "train", "--resume", t.dir, "train.epochs=" .. rung_epochs, "--quiet" }
    end
    -- the trials never see the test file: the search is on the validation split
    local argv = { "train", path }
    for _, w in ipairs(space.overrides(s, t.point)) do argv[#argv + 1] = w end
    for _, w in ipairs { "train.epochs=" .. rung_epochs, "data.test=", "--out", t.dir, "--quiet" } do
      argv[#argv + 1] = w
    end
    return argv
  end

  local function params_text(t)
    local w = {}
    for _, p in ipairs(t.point.params) do w[#w + 1] = p.key .. "=" .. p.text end
    return table.concat(w, " ")
  end

  -- train trial t up to rung i; false when it failed
  local function train_to(t, i, resume)
    local argv = trial_argv(t, rungs[i], resume)
    local code, wall = run(argv, t.dir .. ".log")
    local summary = read_json(t.dir .. "/summary.json")
    local rec = { event = "trial", trial = t.n, rung = i, epochs = rungs[i], exit_code = code,
      seconds = wall, params = t.point.params, command = runner.command(threads, argv) }
    if code ~= 0 or not summary or summary.status ~= "completed" then
      rec.status = code == 5 and "diverged" or "failed"
      rec.reason = runner.tail(t.dir .. ".log", 2)
      record(rec)
      say("trial %d  %s (exit %d): %s\n  log: %s", t.n, rec.status:upper(), code,
        rec.reason:gsub("\n", "\n  "), t.dir .. ".log")
      t.failed, t.exit_code = true, code
      return false
    end
    local score = summary.best and summary.best.value
    if score == nil and summary.final then score = summary.final[metric:gsub("^valid_", "")] end
    -- start-up (process, config, data) and seconds per epoch, from this run
    -- (a resumed run's seconds count the epochs before it too)
    local train_s = summary.seconds or wall
    if not resume then
      t.o, t.e = math.max(0, wall - train_s), train_s / rungs[i]
    else
      t.e = train_s / rungs[i]   -- more epochs: a better estimate (the first is slowest)
    end
    t.rung, t.scores[i] = i, score
    rec.status, rec.score = "completed", score
    record(rec)
    say("trial %d  %d epoch%s  %s  %s %s  (%s)", t.n, rungs[i], rungs[i] == 1 and "" or "s",
      params_text(t), metric, score and ("%.4f"):format(score) or "-", report.duration(wall))
    return true
  end

  -- rung 1: new configs while they, what they may be promoted to, and the
  -- final training fit in the budget
  for n = 1, cap do
    local est_trial = 0
    for _, t in ipairs(trials) do
      if t.e then est_trial = math.max(est_trial, cost(t, rungs[1])) end
    end
    if n > 1 and not fits(est_trial + promotions_cost(n) + final_cost()) then break end
    local t = { n = n, point = points[n], dir = ("%s/trial-%03d"):format(dir, n), scores = {} }
    trials[#trials + 1] = t
    train_to(t, 1, false)
    if n == 1 then
      if t.failed then
        -- its exit status says what kind of error (2 config, 3 data, 5 diverged)
        errors.raise(errors.code_of(t.exit_code, "data"), "the first trial failed (exit %d, "
          .. "log %s.log); fix the config before tuning it", t.exit_code, t.dir)
      end
      local need = elapsed() + cost(t, epochs)
      if need > budget * SAFETY then
        errors.raise("usage", "--budget %s is too small: one trial of %d epoch(s) took %s, and the "
          .. "final training of %d epochs needs about %s more; give --budget %s or more, or fewer "
          .. "train.epochs", o.budget, rungs[1], report.duration(elapsed()), epochs,
          report.duration(cost(t, epochs)), progress.fmt_time(math.ceil((need + 5 * elapsed()) / SAFETY)))
      end
      say("plan: about %s per trial of %d epoch(s), %s for the final training of %d",
        report.duration(t.o + t.e * rungs[1]), rungs[1], report.duration(cost(t, epochs)), epochs)
    end
  end
  local n0 = #trials

  -- rungs 2..: the best 1/eta of the previous rung continue (resumed)
  local stopped_at
  for i = 2, #rungs do
    local prev = ranked(i - 1)
    local keep = math.ceil(#prev / eta)
    for j = 1, keep do
      local t = prev[j]
      if not fits(cost(t, rungs[i] - rungs[i - 1]) + final_cost()) then
        stopped_at = stopped_at or i
        break
      end
      train_to(t, i, true)
    end
    if stopped_at then break end
  end

  -- the winner: the best at the highest rung reached whose final training
  -- fits in what is left (else the cheapest to train: the budget comes first)
  local winner, cheapest
  for i = #rungs, 1, -1 do
    for _, t in ipairs(ranked(i)) do
      if not winner and elapsed() + cost(t, epochs) * 1.1 <= budget then winner = t end
      if not cheapest or cost(t, epochs) < cost(cheapest, epochs) then cheapest = t end
    end
    if winner then break end
  end
  winner = winner or cheapest
  if not winner then errors.raise("data", "no trial completed; see the logs in %s", dir) end
  for i = #rungs, 1, -1 do
    local lead = ranked(i)[1]
    if lead then
      if lead ~= winner then
        say("note: trial %d scored best, but its final training (about %s) would not fit in "
          .. "the %s left; trial %d's does", lead.n, report.duration(cost(lead, epochs)),
          report.duration(budget - elapsed()), winner.n)
      end
      break
    end
  end

  -- best.lua: the winner's whole config, for train.epochs, at this thread count
  local resolved = config.load(winner.dir .. "/config.resolved.lua",
    { "train.epochs=" .. epochs, "threads=" .. threads, "data.test=" .. cfg.data.test },
    { check_paths = false })
  local best_path = dir .. "/best.lua"
  local reproduce = ("lurn train %s"):format(best_path)
  local tmp = best_path .. ".tmp"
  local f = assert(io.open(tmp, "wb"))
  f:write(("-- lurn autotune %s: trial %d of %d, %s; reproduce with:\n--   %s\n"):format(path,
    winner.n, n0, table.concat(space.describe(s).axes, " "), reproduce))
  f:write(config.serialize(resolved))
  f:close()
  assert(os.rename(tmp, best_path))

  say("final: trial %d's config for %d epochs", winner.n, epochs)
  local final_dir = dir .. "/final"
  local fargv = { "train", best_path, "--out", final_dir, "--quiet" }
  -- the final run uses best.lua's thread count, as the printed command will
  local fr = runner.new { threads = nil }
  r = fr
  r:start(1, fargv, final_dir .. ".log")
  local done = r:wait(tick)
  if signal then
    errors.raise("interrupted", "interrupted by %s during the final training; best.lua is "
      .. "saved: %s", signal, best_path)
  end
  local summary = read_json(final_dir .. "/summary.json")
  if done.exit_code ~= 0 or not summary or summary.status ~= "completed" then
    errors.raise(done.exit_code == 5 and "diverged" or "data", "the final training failed "
      .. "(exit %d): %s\nlog: %s.log", done.exit_code, runner.tail(final_dir .. ".log", 2), final_dir)
  end
  local score = summary.best and summary.best.value
  local total = elapsed()
  record { event = "final", trial = winner.n, run_dir = final_dir, score = score,
    test = summary.test and summary.test.accuracy, seconds = done.seconds, best = best_path,
    command = reproduce, elapsed = total, budget = budget, configs = n0 }

  say("")
  say("best config (trial %d of %d configs; rungs %s):", winner.n, n0, table.concat(rungs, ", "))
  for _, p in ipairs(winner.point.params) do say("  %s = %s", p.key, p.text) end
  say("fixed on the command line: %s", #user.fixed > 0 and table.concat(user.fixed, " ") or "(none)")
  say("score: %s %.4f on the validation split after %d epochs%s", metric, score or 0 / 0, epochs,
    summary.test and (", test accuracy %.4f"):format(summary.test.accuracy) or "")
  say("saved: %s (the whole config); the trained run: %s", best_path, final_dir)
  say("reproduce: %s", reproduce)
  say("time: %s of the %s budget", report.duration(total), progress.fmt_time(budget))
  return 0
end

return M
