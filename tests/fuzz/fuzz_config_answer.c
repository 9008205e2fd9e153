/*
 * fuzz_config_answer.c — libFuzzer harness for the decoder of the config
 * sandbox's answers (lurn_sandbox_decode in src/lua/sandbox.c): the bytes a
 * config's child process writes, which the host parses into plain Lua data.
 * A hostile config controls its process, so every byte string must either
 * decode to a value of bounded depth or be refused, with no memory error.
 * Run by tests/fuzz/run.sh.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdlib.h>

#include "sandbox.h"

static lua_State *L;

/* depth of nested tables, read raw */
static int depth(lua_State *S, int idx, int d) {
  if (d > 101) abort(); /* the decoder refuses deeper nesting */
  if (lua_type(S, idx) != LUA_TTABLE) return d;
  int max = d;
  lua_pushnil(S);
  while (lua_next(S, idx < 0 ? idx - 1 : idx)) {
    if (lua_isnil(S, -2)) abort();
    int k = depth(S, lua_gettop(S), d + 1);
    if (k > max) max = k;
    lua_pop(S, 1);
  }
  return max;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  if (!L) L = luaL_newstate();
  int top = lua_gettop(L);
  if (lurn_sandbox_decode(L, (const char *)in, n)) {
    if (lua_gettop(L) != top + 1) abort();
    depth(L, lua_gettop(L), 0);
  } else if (lua_gettop(L) != top) {
    abort(); /* a refusal leaves the stack as it was */
  }
  lua_settop(L, top);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
