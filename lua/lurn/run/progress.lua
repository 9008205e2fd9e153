--- lurn.run.progress — what `lurn train` shows while it works.
--
--   local p = progress.new{mode = "live"|"lines"|"json"|"quiet", epochs = n}
--   p:note(text)              a line of information (run directory, overrides)
--   p:step(info)              every optimizer step (on_step's info + tokens_per_s, best)
--   p:train(record)           every log_every steps: a metrics record
--   p:eval(record, is_best)   every evaluation
--   p:summary(summary)        the table at the end
--   p:finish()                clear the live line
--
-- live  (the default on a terminal): one line redrawn in place, at most ten
--       times a second: epoch, batch i/n, running loss, last validation
--       metric, lr, tokens/s, ETA, best so far; evaluations print above it.
-- lines (the default off a terminal): plain lines, never "\r".
-- json: one JSON object per line ({"event": "train"|"eval"|"note"|"summary", ...}).
-- quiet: nothing but the run directory at the end.
-- none: nothing at all (a sweep running trials in one process).
local lurn = require "lurn"
local json = require "lurn.run.json"

local M = {}
local P = {}
P.__index = P

local function term_width()
  local cols = tonumber(os.getenv("COLUMNS") or "")
  if cols and cols > 20 then return cols end
  local p = io.popen("stty size 2>/dev/null")
  local out = p and p:read("a") or ""
  if p then p:close() end
  cols = tonumber(out:match("%d+%s+(%d+)"))
  return cols and cols > 20 and cols or 80
end

function M.fmt_time(s)
  if not s or s ~= s or s == math.huge then return "?" end
  s = math.floor(s + 0.5)
  if s >= 3600 then return ("%d:%02d:%02d"):format(s // 3600, s % 3600 // 60, s % 60) end
  return ("%d:%02d"):format(s // 60, s % 60)
end

local function num(v, fmt)
  if v == nil then return "-" end
  if v ~= v then return "nan" end
  return (fmt or "%.4f"):format(v)
end

function M.new(opts)
  local p = setmetatable({ mode = opts.mode or "lines", epochs = opts.epochs, out = io.stdout,
    metric = opts.metric or "valid_accuracy", drawn = false, last_draw = -1 }, P)
  if p.mode == "live" then p.width = term_width() end
  if p.mode == "none" then
    p.mode = "quiet"
    p.out = { write = function() end, flush = function() end }
  end
  return p
end

-- A full line; on a terminal it goes above the live line, which is drawn
-- again below it at once (so the live line never disappears).
function P:_write(s)
  local redraw = self.drawn and self.live_line
  if self.drawn then self.out:write("\r\27[K"); self.drawn = false end
  self.out:write(s, "\n")
  if redraw then
    self.out:write(redraw)
    self.drawn = true
    self.last_draw = -1   -- and brought up to date at the next step
  end
  self.out:flush()
end

function P:_json(event, t)
  local r = { event = event }
  for k, v in pairs(t) do r[k] = v end
  self.out:write(json.object(r, { "event", "step", "epoch", "split" }), "\n")
  self.out:flush()
end

function P:note(text)
  if self.mode == "json" then return self:_json("note", { text = text }) end
  if self.mode == "quiet" then return end
  self:_write(text)
end

local SHORT = { valid_accuracy = "valid acc", valid_macro_f1 = "valid F1",
  valid_loss = "valid loss", train_loss = "train loss" }

local function rate(v)
  if v >= 1e6 then return ("%.1fM"):format(v / 1e6) end
  if v >= 1e4 then return ("%.1fk"):format(v / 1e3) end
  return ("%.0f"):format(v)
end

--- The live line; info: step, epoch, batch, batches, loss (running),
-- lr, tokens_per_s, eta (seconds), valid (last metric), best. When the
-- terminal is too narrow, the least important fields go first (tokens/s,
-- lr, best), so the line never wraps (a wrapped line cannot be redrawn).
function P:step(info)
  if self.mode ~= "live" then return end
  local now = lurn.clock()
  if now - self.last_draw < 0.1 and info.batch < info.batches then return end
  self.last_draw = now
  -- {text, priority}: 1 always shown, larger numbers dropped first
  local f = {
    { ("epoch %d/%d"):format(info.epoch, self.epochs or 0), 1 },
    { ("batch %d/%d"):format(info.batch, info.batches), 1 },
    { ("loss %s"):format(num(info.loss)), 1 },
  }
  if info.valid then
    f[#f + 1] = { ("%s %s"):format(SHORT[self.metric] or self.metric, num(info.valid)), 2 }
  end
  f[#f + 1] = { ("lr %.3g"):format(info.lr), 4 }
  if info.tokens_per_s then f[#f + 1] = { rate(info.tokens_per_s) .. " tok/s", 5 } end
  if info.eta then f[#f + 1] = { "ETA " .. M.fmt_time(info.eta), 2 } end
  if info.best then f[#f + 1] = { ("best %s"):format(num(info.best)), 3 } end
  local line
  for drop = 6, 1, -1 do
    local parts = {}
    for _, x in ipairs(f) do if x[2] < drop then parts[#parts + 1] = x[1] end end
    line = table.concat(parts, "  ")
    if #line <= self.width - 1 then break end
  end
  if #line > self.width - 1 then line = line:sub(1, self.width - 1) end
  self.live_line = line
  self.out:write("\r\27[K", line)
  self.out:flush()
  self.drawn = true
end

function P:train(r)
  if self.mode == "json" then return self:_json("train", r) end
  if self.mode ~= "lines" then return end
  self:_write(("epoch %d  step %d  batch %d/%d  loss %s  lr %.3g%s"):format(r.epoch, r.step,
    r.batch or 0, r.batches or 0, num(r.loss), r.lr or 0,
    r.tokens_per_s and ("  %.0f tok/s"):format(r.tokens_per_s) or ""))
end

function P:eval(r, is_best)
  if self.mode == "json" then
    local t = {}
    for k, v in pairs(r) do t[k] = v end
    t.best = is_best
    return self:_json("eval", t)
  end
  if self.mode == "quiet" then return end
  if r.accuracy == nil and r.der ~= nil then   -- a speech CTC run: the digit error rate
    return self:_write(("eval   epoch %d  step %d  valid loss %s  digit error rate %s%s"):format(
      r.epoch, r.step, num(r.loss), num(r.der), is_best and "  (best)" or ""))
  end
  -- a run without validation data records its training loss (split "train")
  self:_write(("eval   epoch %d  step %d  %s loss %s  accuracy %s  macro-F1 %s%s"):format(
    r.epoch, r.step, r.split == "train" and "train" or "valid", num(r.loss), num(r.accuracy),
    num(r.macro_f1), is_best and "  (best)" or ""))
end

function P:finish()
  if self.drawn then self.out:write("\r\27[K"); self.out:flush(); self.drawn = false end
  self.live_line = nil
end

-- The summary as aligned text rows.
function M.summary_lines(s)
  local lines = {}
  local function row(k, v) lines[#lines + 1] = ("%-12s %s"):format(k, v) end
  row("run", s.run_dir)
  row("status", ("%s after %d steps, %d epochs, %s%s"):format(s.status, s.steps or 0,
    s.epochs or 0, M.fmt_time(s.seconds), s.stopped and ("; " .. s.stopped) or ""))
  local pr = s.profile   -- LURN_PROFILE=1 (train.fit)
  if pr and pr.steps > 0 then
    local function ms(k) return ("%.2f"):format(1e3 * pr[k] / pr.steps) end
    row("profile", ("ms per step over %d steps: data %s, forward + backward %s%s, finiteness and "
      .. "clipping %s, optimizer %s, the rest %s"):format(pr.steps, ms("data"),
      ms("forward_backward"), s.dist and " (with the gradient exchange)" or "", ms("check_clip"),
      ms("optimizer"), ms("rest")))
  end
  local cols = { "loss", "accuracy", "macro_f1" }
  if s.best or s.final or s.test then
    lines[#lines + 1] = ""
    lines[#lines + 1] = ("%-22s %10s %10s %10s %8s"):format("", "loss", "accuracy", "macro-F1", "step")
  end
  local function metrics_row(name, r)
    if not r then return end
    local v = {}
    for i, k in ipairs(cols) do v[i] = num(r[k]) end
    lines[#lines + 1] = ("%-22s %10s %10s %10s %8s"):format(name, v[1], v[2], v[3],
      r.step and tostring(r.step) or "")
  end
  metrics_row("valid, best" .. (s.best and s.best.epoch and (" (epoch " .. s.best.epoch .. ")") or ""),
    s.best and s.best.record)
  metrics_row("valid, final", s.final)
  metrics_row("test, best weights", s.test)
  lines[#lines + 1] = ""
  if s.checkpoints and (s.checkpoints.best or s.checkpoints.last) then
    row("checkpoints", ("%s (best), %s (last)"):format(s.checkpoints.best or "none",
      s.checkpoints.last or "none"))
  end
  return lines
end

function P:summary(s)
  self:finish()
  if self.mode == "json" then return self:_json("summary", s) end
  if self.mode == "quiet" then
    self.out:write(s.run_dir, "\n")
    return
  end
  for _, l in ipairs(M.summary_lines(s)) do self.out:write(l, "\n") end
  self.out:flush()
end

return M
