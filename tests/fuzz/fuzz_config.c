/*
 * fuzz_config.c — libFuzzer harness for the config loader: lurn.config.load
 * on arbitrary text, through the whole path a config takes (the sandbox's
 * fresh Lua state with its prelude, hook and budget allocator, the encoder,
 * the host's decoder, the schema check, the overrides). Run by
 * tests/fuzz/run.sh from the repository root (it reads lua/).
 *
 * The input is the config's text up to the first NUL byte; what follows are
 * overrides separated by NUL bytes ("train.epochs=3"). The sandbox runs in
 * this process (no lurn executable to spawn) with small limits. Every
 * outcome must be a config or an error object (lurn.errors) — any other
 * error is a bug in the loader and aborts, which libFuzzer reports.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int luaopen_lurn_core(lua_State *L);

static lua_State *L;
static char path[64];

static const char *SETUP =
    "package.path = 'lua/?.lua;lua/?/init.lua'\n"
    "local config = require 'lurn.config'\n"
    "config.limits.instructions = 200000\n"
    "config.limits.memory = 4 * 1024 * 1024\n"
    "config.limits.seconds = 1\n"
    "config.limits.max_string = 256 * 1024\n"
    "config.limits.in_process = true\n"
    "local errors = require 'lurn.errors'\n"
    "return function(path, overrides)\n"
    "  local ok, e = pcall(config.load, path, overrides, { check_paths = false })\n"
    "  if ok then\n"
    "    -- what loads must serialize and read back to the same config\n"
    "    local f = assert(io.open(path, 'wb')); f:write(config.serialize(e)); f:close()\n"
    "    local again = config.load(path, nil, { check_paths = false })\n"
    "    assert(#config.diff(e, again) == 0, 'serialize round trip changed the config')\n"
    "  elseif not errors.is(e) then\n"
    "    error('not an error object: ' .. tostring(e), 0)\n"
    "  end\n"
    "end\n";

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  if (!L) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_lurn_core);
    lua_setfield(L, -2, "lurn.core");
    lua_pop(L, 1);
    if (luaL_dostring(L, SETUP) != LUA_OK) {
      fprintf(stderr, "fuzz_config: %s\n", lua_tostring(L, -1));
      abort();
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "fuzz_config.load");
    snprintf(path, sizeof path, "/tmp/lurn-fuzz-config-%d.lua", (int)getpid());
  }
  const uint8_t *nul = memchr(in, 0, n);
  size_t text_n = nul ? (size_t)(nul - in) : n;
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  fwrite(in, 1, text_n, f);
  fclose(f);

  int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz_config.load");
  lua_pushstring(L, path);
  lua_newtable(L);
  int k = 1;
  for (size_t i = text_n + 1; nul && i <= n && k <= 8;) {
    const uint8_t *end = memchr(in + i, 0, n - i);
    size_t len = end ? (size_t)(end - (in + i)) : n - i;
    lua_pushlstring(L, (const char *)in + i, len);
    lua_rawseti(L, -2, k++);
    i += len + 1;
  }
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    fprintf(stderr, "fuzz_config: %s\n", lua_tostring(L, -1));
    abort();
  }
  lua_settop(L, top);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
