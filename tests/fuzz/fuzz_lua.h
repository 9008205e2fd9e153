/*
 * fuzz_lua.h — what the harnesses that drive lurn's Lua library share: one
 * Lua state with lurn.core and the tree's lua/ (run from the repository
 * root, as tests/fuzz/run.sh does), a scratch directory removed at exit,
 * and a driver chunk that returns the function each input is passed to.
 * A Lua error out of that function is a finding (abort, with the message).
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
  if (lua_pcall(fuzz_L, 1, 0, 0) != LUA_OK) {
    fprintf(stderr, "%s: %s\n", name, lua_tostring(fuzz_L, -1));
    abort();
  }
  lua_settop(fuzz_L, 0);
}

#endif
