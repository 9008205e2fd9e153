/*
 * clock.c — a wall clock for the Lua side of the benchmark.
 *
 * Lua's os.clock() is CPU time (summed over threads, so it runs ~2x fast
 * with 2 busy threads) and os.time() has one-second resolution. The bench
 * scripts use lurn.clock() when the build has it and fall back to this tiny
 * C module (a monotonic millisecond clock) for builds that do not. It is
 * loaded into the `lurn` host (which exports the Lua API) through
 * package.cpath; bench/run.sh builds it.
 *
 *   local clock = require "benchclock"
 *   local t0 = clock.now_ms()
 */
#define _POSIX_C_SOURCE 200809L
#include <lauxlib.h>
#include <lua.h>
#include <time.h>

static int now_ms(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec * 1e3 + (lua_Number)ts.tv_nsec * 1e-6);
  return 1;
}

int luaopen_benchclock(lua_State *L) {
  static const luaL_Reg fns[] = {{"now_ms", now_ms}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
