--- lurn.run.dir — a run's directory and the files in it.
--
--   local run = rundir.create{name = "sst", root = "runs"}   -- runs/sst-20261201-093000-4f2a/
--   local run = rundir.create{out = "my/run"}                -- exactly that (new or empty)
--   local run = rundir.open("runs/sst-...")                  -- an existing run (resume, eval)
--   run.path, run:file("config.lua")
--   run:write("command.txt", text)       -- atomic: a temporary file, then rename
--   run:write_json("summary.json", t)
--   run:log_metric(record)               -- a line of metrics.jsonl and of metrics.csv
--   run:read_metrics() -> {record, ...}
--   run:keep_metrics(max_step)           -- drop records past a checkpoint (resume)
--
-- Layout (docs/cli.md, "Run directories"):
--   config.lua, config.resolved.lua, command.txt, env.json,
--   metrics.jsonl, metrics.csv, curves.svg, summary.json,
--   checkpoints/ (step-N.ckpt, latest, best.ckpt, last.ckpt)
--
-- A new directory is created with mkdir, which fails when the name exists,
-- so two runs started in the same second never share one (the 4 hex
-- digits come from /dev/urandom, not from lurn's seeded generator, which
-- the run's results depend on).
local lfs = require "lfs"
local lurn = require "lurn"
local errors = require "lurn.errors"
local json = require "lurn.run.json"

local M = {}

local Run = {}
Run.__index = Run

--- The columns of metrics.csv (metrics.jsonl has the same keys, and any
-- extra ones, e.g. per-class figures).
M.COLUMNS = { "step", "epoch", "split", "loss", "accuracy", "macro_f1", "lr", "tokens_per_s",
  "elapsed" }

local function is_dir(path) return lfs.attributes(path, "mode") == "directory" end

local function random_hex(n)
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(n) or nil
  if f then f:close() end
  if not bytes or #bytes < n then   -- no /dev/urandom: the clock is unique enough
    local t = math.floor(lurn.clock() * 1e6)
    return ("%0" .. (2 * n) .. "x"):format(t % (1 << (8 * n)))
  end
  return (bytes:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function empty_dir(path)
  for name in lfs.dir(path) do
    if name ~= "." and name ~= ".." then return false end
  end
  return true
end

local function new_run(path)
  return setmetatable({ path = path }, Run)
end

--- A new run directory (see the header). opts: name, root (default "runs"),
-- out (an exact path: must not exist, or be an empty directory).
function M.create(opts)
  if opts.out then
    local out = opts.out:gsub("/+$", "")
    if out == "" then out = "/" end
    if is_dir(out) then
      if not empty_dir(out) then
        errors.raise("usage", "--out %s: the directory exists and is not empty (choose another, "
          .. "or continue that run with --resume %s)", out, out)
      end
      return new_run(out)
    end
    if lfs.attributes(out) then
      errors.raise("usage", "--out %s: exists and is not a directory", out)
    end
    local parent = out:match("^(.*)/[^/]+$")
    if parent and parent ~= "" then
      local ok, err = pcall(lurn.mkdir, parent)
      if not ok then errors.raise("usage", "--out %s: %s", out, tostring(err)) end
    end
    local ok, err = lfs.mkdir(out)
    if not ok then errors.raise("usage", "--out %s: cannot create it: %s", out, tostring(err)) end
    return new_run(out)
  end
  local root = opts.root or "runs"
  local ok, err = pcall(lurn.mkdir, root)
  if not ok then errors.raise("usage", "cannot create the runs directory: %s", tostring(err)) end
  local stamp = os.date("!%Y%m%d-%H%M%S")
  for _ = 1, 20 do
    local path = ("%s/%s-%s-%s"):format(root, opts.name or "run", stamp, random_hex(2))
    local made, merr = lfs.mkdir(path)
    if made then return new_run(path) end
    if not lfs.attributes(path) then
      errors.raise("usage", "cannot create the run directory %s: %s", path, tostring(merr))
    end
  end
  errors.raise("usage", "cannot find a free run directory name in %s", root)
end

--- An existing run directory (for --resume, eval, predict, inspect).
function M.open(path)
  path = path:gsub("/+$", "")
  if not is_dir(path) then
    errors.raise("usage", "%s: not a run directory (no such directory)", path)
  end
  if not lfs.attributes(path .. "/config.resolved.lua") then
    errors.raise("usage", "%s: not a run directory (no config.resolved.lua)", path)
  end
  return new_run(path)
end

function M.is_run(path)
  return is_dir(path) and lfs.attributes(path .. "/config.resolved.lua") ~= nil
end

function Run:file(name) return self.path .. "/" .. name end

--- Write a whole file atomically: a half-written file never has the name.
function Run:write(name, text)
  local path = self:file(name)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then errors.raise("usage", "cannot write %s: %s", path, tostring(err)) end
  f:write(text)
  f:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then errors.raise("usage", "cannot write %s: %s", path, tostring(rerr)) end
  return path
end

function Run:write_json(name, t) return self:write(name, json.pretty(t)) end

function Run:read(name)
  local f = io.open(self:file(name), "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- ---- metrics -------------------------------------------------------------------

local function csv_field(v)
  if v == nil then return "" end
  if type(v) == "number" then
    if v ~= v or v == math.huge or v == -math.huge then return "" end
    return math.type(v) == "integer" and tostring(v) or ("%.6g"):format(v)
  end
  local s = tostring(v)
  if s:find('[,"\n]') then s = '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function csv_line(r)
  local out = {}
  for i, k in ipairs(M.COLUMNS) do out[i] = csv_field(r[k]) end
  return table.concat(out, ",") .. "\n"
end

local function open_append(self)
  if self._jsonl then return end
  local new_csv = not lfs.attributes(self:file("metrics.csv"))
  self._jsonl = assert(io.open(self:file("metrics.jsonl"), "ab"))
  self._csv = assert(io.open(self:file("metrics.csv"), "ab"))
  if new_csv then self._csv:write(table.concat(M.COLUMNS, ","), "\n") end
end

--- Append one record to metrics.jsonl and metrics.csv (flushed at once, so
-- a killed run keeps every line it printed).
function Run:log_metric(r)
  open_append(self)
  self._jsonl:write(json.object(r, M.COLUMNS), "\n")
  self._jsonl:flush()
  self._csv:write(csv_line(r))
  self._csv:flush()
end

function Run:close()
  if self._jsonl then self._jsonl:close(); self._csv:close() end
  self._jsonl, self._csv = nil, nil
end

function Run:read_metrics()
  local out = {}
  local f = io.open(self:file("metrics.jsonl"), "rb")
  if not f then return out end
  for line in f:lines() do
    local ok, r = pcall(json.decode, line)
    -- a line cut short by a kill is skipped, never fatal
    if ok and type(r) == "table" then out[#out + 1] = r end
  end
  f:close()
  return out
end

--- Keep only the records up to max_step (a resumed run repeats the steps
-- after its checkpoint, so their old records go); rewrites both files.
function Run:keep_metrics(max_step)
  self:close()
  local kept = {}
  for _, r in ipairs(self:read_metrics()) do
    if (r.step or 0) <= max_step then kept[#kept + 1] = r end
  end
  local lines, csv = {}, { table.concat(M.COLUMNS, ",") .. "\n" }
  for i, r in ipairs(kept) do
    lines[i] = json.object(r, M.COLUMNS) .. "\n"
    csv[#csv + 1] = csv_line(r)
  end
  self:write("metrics.jsonl", table.concat(lines))
  self:write("metrics.csv", table.concat(csv))
  return kept
end

-- ---- env.json ------------------------------------------------------------------

local function shell_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
M.shell_quote = shell_quote

local function command_output(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  if not p then return nil end
  local out = p:read("a")
  local ok = p:close()
  if not ok then return nil end
  return (out:gsub("%s+$", ""))
end

--- SHA-256 of a file (hex), by coreutils' sha256sum. For a directory (the
-- aclImdb layout the imdb reader takes), the SHA-256 of what that reader
-- reads: pos/*.txt and neg/*.txt concatenated in C-locale name order, the
-- figure datasets/imdb pins.
function M.sha256(path)
  local cmd = "sha256sum -- " .. shell_quote(path)
  if lfs.attributes(path, "mode") == "directory" then
    cmd = "cd " .. shell_quote(path) .. " && find pos neg -type f -name '*.txt' | LC_ALL=C sort"
      .. " | xargs cat | sha256sum"
  end
  local out = command_output(cmd)
  local hex = out and out:match("^(%x+)")
  if not hex or #hex ~= 64 then
    errors.raise("data", "%s: cannot compute its SHA-256 (sha256sum failed)", path)
  end
  return hex
end

-- The checkout lurn's Lua library was loaded from, if it is one.
local function source_root()
  local p = package.searchpath("lurn.cli", package.path)
  if not p then return nil end
  local dir = p:match("^(.*)/lua/lurn/cli%.lua$")
  if dir == "" then dir = "." end
  return dir
end

local function git_info()
  local root = source_root()
  if not root or not lfs.attributes(root .. "/.git") then return nil end
  local q = shell_quote(root)
  local commit = command_output("git -C " .. q .. " rev-parse HEAD")
  if not commit then return nil end
  local status = command_output("git -C " .. q .. " status --porcelain --untracked-files=no")
  return { commit = commit, dirty = status ~= nil and status ~= "" }
end

local function hostname()
  local f = io.open("/proc/sys/kernel/hostname", "rb")
  local h = f and f:read("l")
  if f then f:close() end
  return h or command_output("uname -n")
end

--- The facts that decide a run's numbers: versions, machine, threads,
-- kernels, seed, and each data file's SHA-256.
function M.environment(cfg, files)
  local info = lurn.info()
  local hashes = {}
  for _, path in ipairs(files or {}) do hashes[path] = M.sha256(path) end
  return {
    lurn = info.version, lua = info.lua, blis = info.blis, blas_kernels = info.blis_arch,
    blis_openmp = info.blis_openmp, build_type = info.build_type,
    threads = lurn.threads(), cores = info.cores, host = hostname(),
    git = git_info(), seed = cfg.seed, cwd = lfs.currentdir(),
    started = os.date("!%Y-%m-%dT%H:%M:%SZ"), data = hashes,
  }
end

return M
