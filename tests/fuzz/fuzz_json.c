/*
 * fuzz_json.c — libFuzzer harness for the JSON metadata decoder
 * (core.json_decode in src/lua/checkpoint.c), which reads every structured
 * part of a training state. Run by tests/fuzz/run.sh.
 *
 * Each input is decoded in a Lua state with lurn.core loaded. A decode must
 * either raise a Lua error or give a value; a value that encodes
 * (json_encode refuses Inf, which "1e999" decodes to) must decode again
 * to a value that encodes to the same text (the round trip is stable).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int luaopen_lurn_core(lua_State *L);

static lua_State *L;

static const char *ROUND_TRIP =
    "local core, s = ...\n"
    "local ok, v = pcall(core.json_decode, s)\n"
    "if not ok then return end\n"
    "local ok2, e = pcall(core.json_encode, v)\n"
    "if not ok2 then return end\n"
    "local v2 = core.json_decode(e)\n"
    "local e2 = core.json_encode(v2)\n"
    "if e2 ~= e then error('round trip changed: ' .. e .. ' -> ' .. e2) end\n";

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  if (!L) {
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "lurn.core", luaopen_lurn_core, 0);
    lua_pop(L, 1);
  }
  int top = lua_gettop(L);
  if (luaL_loadstring(L, ROUND_TRIP) != LUA_OK) abort();
  luaL_requiref(L, "lurn.core", luaopen_lurn_core, 0);
  lua_pushlstring(L, (const char *)in, n);
  if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
    // Only the round-trip check itself may fail here; a decode error is
    // caught by the pcall inside the chunk.
    fprintf(stderr, "%s\n", lua_tostring(L, -1));
    abort();
  }
  lua_settop(L, top);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
