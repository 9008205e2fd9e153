/*
 * fuzz_lua.h — what the harnesses that drive lurn's Lua library share: one
 * Lua state with lurn.core and the tree's lua/ (run from the repository
 * root, as tests/fuzz/run.sh does), a scratch directory removed at exit,
 * and a driver chunk that returns the function each input is passed to.
 * A Lua error out of that function is a finding (abort, with the message).
 *
 * Coverage of the Lua code: libFuzzer sees only the instrumented C, and the
 * readers these harnesses drive are Lua. While an input runs, a line hook
 * hashes each (chunk, line) step and the one before it into an extra
 * counter array libFuzzer reads beside its own (the
 * __libfuzzer_extra_counters section), so an input that takes a new path
 * through the Lua code is kept in the corpus like one that reaches new C.
 *
 * FUZZ_OUTCOME is Lua text a driver may start with: `fuzz.refused(e, what,
 * files)` checks that an error out of a reader is one a user should see — a
 * lurn.errors object of code usage, config, data or checkpoint, whose message
 * starts with one of the files' paths, carries no Lua source position or
 * traceback, and whose positions ("line N", "path:N:", "byte N", "piece N",
 * "column N", ...) are 1-based and lines and bytes inside the file — and fails the input otherwise.
 */
#ifndef LURN_FUZZ_LUA_H
#define LURN_FUZZ_LUA_H
#define _GNU_SOURCE
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int luaopen_lurn_core(lua_State *L);

/* Lua edge counters, read by libFuzzer as extra coverage. */
#define FUZZ_LUA_EDGES 16384
__attribute__((section("__libfuzzer_extra_counters"))) static uint8_t fuzz_lua_edges[FUZZ_LUA_EDGES];
static uintptr_t fuzz_lua_prev;

static void fuzz_lua_hook(lua_State *L, lua_Debug *ar) {
  if (!lua_getinfo(L, "S", ar)) return;
  // a chunk's source string is one interned object for the life of the state
  uintptr_t here = ((uintptr_t)ar->source * 2654435761u) ^ ((uintptr_t)ar->currentline * 40503u);
  size_t k = (size_t)((here ^ (fuzz_lua_prev >> 1)) % FUZZ_LUA_EDGES);
  if (fuzz_lua_edges[k] < 255) fuzz_lua_edges[k]++;
  fuzz_lua_prev = here;
}

#define FUZZ_OUTCOME \
  "local fuzz = {}\n" \
  "local fuzz_errors = require 'lurn.errors'\n" \
  "local FUZZ_CODES = { usage = true, config = true, data = true, checkpoint = true }\n" \
  "function fuzz.lines(text)\n" \
  "  local _, n = text:gsub('\\n', '')\n" \
  "  if #text > 0 and text:sub(-1) ~= '\\n' then n = n + 1 end\n" \
  "  return math.max(n, 1)\n" \
  "end\n" \
  "-- files: {{path =, text =}, ...}, the files the reader was given\n" \
  "function fuzz.refused(e, what, files)\n" \
  "  local function bad(why) error(what .. ': ' .. why .. ': ' .. tostring(e), 0) end\n" \
  "  if not fuzz_errors.is(e) then bad('not a lurn.errors error') end\n" \
  "  if not FUZZ_CODES[e.code] then bad('error code ' .. e.code) end\n" \
  "  local m = e.message\n" \
  "  -- the file's own text, quoted in a message, is not a position\n" \
  "  local scan = m:gsub(\"'[^']*'\", \"''\"):gsub('\"[^\"]*\"', '\"\"')\n" \
  "  if scan:find('%.lua:%d+:') or scan:find('traceback') or scan:find('%[C%]') then bad('Lua position in the message') end\n" \
  "  local file\n" \
  "  for _, f in ipairs(files) do if m:sub(1, #f.path) == f.path then file = f; break end end\n" \
  "  if not file then bad('the message does not start with the file') end\n" \
  "  local nl = fuzz.lines(file.text)\n" \
  "  local l = m:sub(#file.path + 1):match('^:(%d+):')\n" \
  "  if l and (tonumber(l) < 1 or tonumber(l) > nl) then bad('line ' .. l .. ' of ' .. nl) end\n" \
  "  for w, n in scan:gmatch('(%a+) (%d+)%f[%W]') do\n" \
  "    n = tonumber(n)\n" \
  "    if w == 'line' and (n < 1 or n > nl) then bad('line ' .. n .. ' of ' .. nl) end\n" \
  "    if w == 'byte' and (n < 1 or n > #file.text) then bad('byte ' .. n .. ' of ' .. #file.text) end\n" \
  "    if (w == 'piece' or w == 'step' or w == 'item' or w == 'column' or w == 'field'\n" \
  "        or w == 'track' or w == 'event' or w == 'character') and n < 1 then bad(w .. ' ' .. n) end\n" \
  "  end\n" \
  "end\n"

static lua_State *fuzz_L;
static int fuzz_driver = LUA_NOREF;
static const char *fuzz_name;
static char *fuzz_dir;

static void fuzz_remove_dir(void) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
  if (system(cmd) != 0) fprintf(stderr, "%s: could not remove %s\n", fuzz_name, fuzz_dir);
}

/* Run driver(dir)(input); dir_template is a mkdtemp template ("...XXXXXX"). */
static void fuzz_lua_run(const char *name, char *dir_template, const char *driver,
                         const uint8_t *in, size_t n) {
  if (!fuzz_L) {
    fuzz_name = name;
    // /dev/shm: the harnesses write files per input (fsync is cheap in memory)
    if (!mkdtemp(dir_template)) abort();
    fuzz_dir = dir_template;
    atexit(fuzz_remove_dir);
    fuzz_L = luaL_newstate();
    luaL_openlibs(fuzz_L);
    luaL_requiref(fuzz_L, "lurn.core", luaopen_lurn_core, 0);
    lua_pop(fuzz_L, 1);
    luaL_dostring(fuzz_L, "package.path = 'lua/?.lua;lua/?/init.lua;' .. package.path");
    if (luaL_loadstring(fuzz_L, driver) != LUA_OK) abort();
    lua_pushstring(fuzz_L, fuzz_dir);
    if (lua_pcall(fuzz_L, 1, 1, 0) != LUA_OK) {
      fprintf(stderr, "%s setup: %s\n", name, lua_tostring(fuzz_L, -1));
      abort();
    }
    fuzz_driver = luaL_ref(fuzz_L, LUA_REGISTRYINDEX);
  }
  lua_rawgeti(fuzz_L, LUA_REGISTRYINDEX, fuzz_driver);
  lua_pushlstring(fuzz_L, (const char *)in, n);
  fuzz_lua_prev = 0;
  lua_sethook(fuzz_L, fuzz_lua_hook, LUA_MASKLINE, 0);
  int rc = lua_pcall(fuzz_L, 1, 0, 0);
  lua_sethook(fuzz_L, NULL, 0, 0);
  if (rc != LUA_OK) {
    // an error object (a table) is printed by its __tostring
    fprintf(stderr, "%s: %s\n", name, luaL_tolstring(fuzz_L, -1, NULL));
    abort();
  }
  lua_settop(fuzz_L, 0);
  // Free what the input left as garbage now: libFuzzer re-runs an input that
  // grows its corpus with malloc counting, and a count of mallocs above frees
  // (Lua's pending garbage) sends it into a full LeakSanitizer scan, a
  // quarter of a second each, which made the first runs 4 inputs a second.
  lua_gc(fuzz_L, LUA_GCCOLLECT);
}

#endif
