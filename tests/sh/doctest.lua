--- tests/sh/doctest.lua — run the code blocks of README.md and docs/*.md.
--
--   lurn tests/sh/doctest.lua SOURCE_DIR BUILD_DIR [--lang lua,sh | --lang python] [page.md ...]
--
-- Every fenced block whose info string starts with lua, sh or python is
-- executed; blocks without a language (transcripts, output) are text.
-- The words after the language mark a block that cannot run as printed,
-- always with the reason, which is printed. An sh block that starts with
-- "$ " is a transcript: its "$ " lines run, the output lines are not
-- compared, and "# exit N" at the end of a command is the status it must give.
--
--   ```lua fragment: needs a trained `model`     compiled only (load / bash -n / compile())
--   ```sh skip: builds and trains for minutes      not run (lua still compiled), counted as skipped
--   ```lua after-python: reads what the python block above writes
--                                                  run in the python pass, compiled in the others
--
-- The blocks of one page run in order in one scratch directory that holds
-- a symlink to every top-level entry of the source tree (and `build` to the
-- build under test), so `bash tools/x.sh` and `build/lurn` work, files a
-- block writes are seen by the next block of the page, and nothing is left
-- in the tree. `lurn` is on PATH. A lua block fails when it raises an error
-- or leaves behind a file it got from os.tmpname (readers copy examples).
--
-- With --lang python, python blocks run with $LURN_TEST_PYTHON (default
-- /usr/bin/python3) and the other blocks of their pages run first as set-up;
-- only pages that have python blocks are visited.
-- Exit status: 0 all ran, 1 a block failed, 77 nothing failed but blocks
-- of the selected languages were skipped for a missing tool (torch).
local source, build = arg[1], arg[2]
assert(source and build, "usage: doctest.lua SOURCE_DIR BUILD_DIR [--lang l1,l2] [page ...]")
local langs, pages = { lua = true, sh = true }, {}
do
  local i = 3
  while arg[i] do
    if arg[i] == "--lang" then
      langs = {}
      for l in arg[i + 1]:gmatch("[^,]+") do langs[l] = true end
      i = i + 2
    else
      pages[#pages + 1] = arg[i]; i = i + 1
    end
  end
end
local lurn_exe = os.getenv("LURN") or (build .. "/lurn")
local python = os.getenv("LURN_TEST_PYTHON") or "/usr/bin/python3"
local timeout = tonumber(os.getenv("LURN_DOCTEST_TIMEOUT") or "") or 300

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function run(cmd)   -- -> ok, output
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return ok, out
end
local function write(path, text)
  local f = assert(io.open(path, "w")); f:write(text); f:close()
end

if #pages == 0 then
  pages[1] = "README.md"
  local p = io.popen("cd " .. sh_quote(source) .. " && ls docs/*.md")
  for name in p:lines() do pages[#pages + 1] = name end
  p:close()
end

--- The fenced blocks of a page: {lang, mark, reason, code, line}.
local function blocks_of(page)
  local out, cur = {}, nil
  local n = 0
  for line in io.lines(source .. "/" .. page) do
    n = n + 1
    if cur then
      if line:match("^```%s*$") then
        out[#out + 1] = cur; cur = nil
      else
        cur.code[#cur.code + 1] = line
      end
    else
      local info = line:match("^```(.*)$")
      if info then
        local lang, rest = info:match("^(%S*)%s*(.-)%s*$")
        local mark, reason = rest:match("^([%a-]+):%s*(.+)$")
        cur = { lang = lang, mark = mark, reason = reason, rest = rest, code = {}, line = n }
      end
    end
  end
  if cur then error(page .. ":" .. cur.line .. ": code block is never closed") end
  for _, b in ipairs(out) do
    -- a shell transcript ("$ command" lines, then its output): run the
    -- commands; "# exit N" after one says the status it must end with
    if b.lang == "sh" and (b.code[1] or ""):match("^%$ ") then
      local cmds = {}
      for _, l in ipairs(b.code) do
        local c = l:match("^%$ (.*)$")
        if c then
          local want = tonumber(c:match("#%s*exit (%d+)%s*$") or "0")
          cmds[#cmds + 1] = ("{ %s\n} >/dev/null; rc=$?; [ $rc -eq %d ] || { echo %s; echo \"exit $rc, expected %d\"; exit 1; }")
            :format(c, want, sh_quote("$ " .. c), want)
        end
      end
      b.code = cmds
    end
    b.code = table.concat(b.code, "\n") .. "\n"
  end
  return out
end

-- The wrapper a lua block runs in: it records os.tmpname's files and fails
-- when one is still there at the end.
local wrapper = [[
local path = arg[1]
local made, tmpname = {}, os.tmpname
os.tmpname = function() local n = tmpname(); made[#made + 1] = n; return n end
local chunk = assert(loadfile(path))
chunk()
for _, n in ipairs(made) do
  if os.rename(n, n) then error(("left behind %s (from os.tmpname)"):format(n), 0) end
end
]]

local torch
local function have_torch()
  if torch == nil then torch = os.execute(sh_quote(python) .. " -c 'import torch' >/dev/null 2>&1") == true end
  return torch
end

local pass, fail, skip, missing = 0, 0, 0, 0
local function report(kind, where, detail)
  print(("%-4s %s%s"):format(kind, where, detail and ("  (" .. detail .. ")") or ""))
end

local function compile(b, file)
  if b.lang == "lua" then
    local ok, err = load(b.code, "=" .. file)
    return ok ~= nil, err
  elseif b.lang == "sh" then
    return run("bash -n " .. sh_quote(file))
  elseif b.lang == "python" then
    return run(sh_quote(python) .. " -c " .. sh_quote("import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')") .. " " .. sh_quote(file))
  end
  return true
end

local known = { lua = true, sh = true, python = true }
for _, page in ipairs(pages) do
  local blocks = blocks_of(page)
  local wanted, runs_python = false, false
  for _, b in ipairs(blocks) do
    if langs[b.lang] then wanted = true end
    if (b.lang == "python" and not b.mark) or b.mark == "after-python" then runs_python = true end
  end
  -- the python pass runs set-up blocks only for python that runs
  local setup = langs.python and runs_python and have_torch()
  if wanted then
    local dir = assert(io.popen("mktemp -d"):read("l"))
    -- build/ holds links to build/lurn and build/lib only, never the build itself: a
    -- block that reconfigures (cmake -B build) must not retarget the build
    -- under test at the scratch copy of the tree.
    -- runs/ and data/ (git-ignored output of lurn train and datasets/) are
    -- not linked: a page that writes there writes into the scratch copy.
    local ok, out = run(("cd %s && for f in %s/* ; do ln -s \"$f\" .; done && rm -f build runs data && mkdir build .bin"
      .. " && ln -s %s/lurn %s/lib build/ && ln -s %s .bin/lurn")
      :format(sh_quote(dir), sh_quote(source), sh_quote(build), sh_quote(build), sh_quote(lurn_exe)))
    assert(ok, out)
    write(dir .. "/.wrapper.lua", wrapper)
    local env = ("cd %s && PATH=%s/.bin:$PATH timeout %d "):format(sh_quote(dir), sh_quote(dir), timeout)
    for i, b in ipairs(blocks) do
      if known[b.lang] then
        local where = ("%s:%d %s"):format(page, b.line, b.lang)
        local file = ("%s/.block%02d.%s"):format(dir, i, b.lang == "python" and "py" or b.lang)
        write(file, b.code)
        local counted = langs[b.lang]
        local after_python = b.mark == "after-python"
        if after_python then
          -- runs in the python pass, after the python block that writes its input
          if langs.python then counted, b.mark, b.rest = true, nil, "" else b.mark = "fragment" end
        end
        -- lua/sh runs skip python blocks; python runs run the rest first
        local setup_only = not counted and not setup
        if setup_only then
          -- not this run's language
        elseif b.rest ~= "" and not b.mark then
          fail = fail + 1
          report("FAIL", where, "unknown marker '" .. b.rest .. "': use 'fragment: reason' or 'skip: reason'")
        elseif b.mark and b.mark ~= "fragment" and b.mark ~= "skip" and b.mark ~= "after-python" then
          fail = fail + 1
          report("FAIL", where, "unknown marker '" .. b.mark .. "': use 'fragment: reason' or 'skip: reason'")
        elseif (b.lang == "python" or (after_python and langs.python)) and not have_torch() then
          if counted then
            skip = skip + 1; missing = missing + 1
            report("skip", where, "no torch for " .. python)
          end
        elseif b.mark then
          local cok, err = compile(b, file)
          if not counted then
            -- set-up for another language: nothing to run
          elseif not cok then
            fail = fail + 1; report("FAIL", where, b.mark .. " does not compile: " .. tostring(err))
          elseif b.mark == "fragment" then
            pass = pass + 1; report("ok", where, "fragment, compiled only: " .. b.reason)
          else
            skip = skip + 1; report("skip", where, b.reason)
          end
        else
          local cmd
          if b.lang == "lua" then
            cmd = env .. sh_quote(lurn_exe) .. " .wrapper.lua " .. sh_quote(file)
          elseif b.lang == "sh" then
            cmd = env .. "bash -o pipefail " .. sh_quote(file)
          else
            cmd = env .. sh_quote(python) .. " " .. sh_quote(file)
          end
          local rok, rout = run(cmd)
          if rok then
            if counted then pass = pass + 1; report("ok", where) end
          else
            fail = fail + 1
            report("FAIL", where, (not counted) and "set-up block for the python blocks" or nil)
            io.write((rout:gsub("\n$", ""):gsub("[^\n]+", "     %0")), "\n")
          end
        end
      end
    end
    run("rm -rf " .. sh_quote(dir))
  end
end
print(("%d passed, %d failed, %d skipped"):format(pass, fail, skip))
if fail > 0 then os.exit(1) end
if missing > 0 then os.exit(77) end
os.exit(0)
