/*
 * system.c — threads and build facts.
 *
 *   lurn.threads() -> n        threads used by BLIS and lurn's own loops
 *   lurn.threads(n)            set them (n <= 0: number of cores)
 *   lurn.info() -> table       lua, blis version, blis_arch (the kernel
 *                              configuration BLIS picked on this CPU),
 *                              blis_openmp, threads, cores, build_type, version
 */
#include <stdlib.h>

#include "bind.h"
#include "blas.h"

#ifndef LURN_VERSION
#define LURN_VERSION "dev"
#endif
#ifndef LURN_BUILD_TYPE
#define LURN_BUILD_TYPE "unknown"
#endif

static int l_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n > 1024) luaL_error(L, "threads: %d is too many", (int)n);
    lurn_set_threads((int)n);
  }
  lua_pushinteger(L, lurn_get_threads());
  return 1;
}

static int l_info(lua_State *L) {
  lua_newtable(L);
  lua_pushstring(L, LURN_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, LUA_RELEASE);
  lua_setfield(L, -2, "lua");
  lua_pushstring(L, lurn_blis_version());
  lua_setfield(L, -2, "blis");
  lua_pushstring(L, lurn_blis_arch());
  lua_setfield(L, -2, "blis_arch");
  lua_pushboolean(L, lurn_blis_openmp());
  lua_setfield(L, -2, "blis_openmp");
  lua_pushinteger(L, lurn_get_threads());
  lua_setfield(L, -2, "threads");
  lua_pushinteger(L, lurn_num_cores());
  lua_setfield(L, -2, "cores");
  lua_pushstring(L, LURN_BUILD_TYPE);
  lua_setfield(L, -2, "build_type");
  return 1;
}

void lurn_open_system(lua_State *L) {
  /* LURN_THREADS sets the starting thread count; default: all cores */
  const char *env = getenv("LURN_THREADS");
  lurn_set_threads(env ? atoi(env) : 0);
  lua_pushcfunction(L, l_threads);
  lua_setfield(L, -2, "threads");
  lua_pushcfunction(L, l_info);
  lua_setfield(L, -2, "info");
  lua_pushstring(L, LURN_VERSION);
  lua_setfield(L, -2, "version");
}
