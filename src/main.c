/*
 * main.c — the `lurn` executable: Lua 5.4 with lurn built in.
 *
 * It stays tiny on purpose: open the standard libraries, make `lurn.core`
 * loadable (linked in, through package.preload), make lurn's own Lua modules
 * loadable from lurn's library directory only, and hand the command line to
 * `require("lurn.cli").main` under lua_pcall with a traceback handler.
 * Everything a script does runs inside that pcall, so a script's mistake
 * becomes a message and a non-zero exit status, never a crash of the host.
 *
 * It also provides line input for the interactive prompt
 * (`lurn.host.readline`, with GNU readline's editing and history when the
 * build found it), and `lurn --config-sandbox`: the child process a config
 * is evaluated in (src/lua/sandbox.c), entered before anything else starts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#ifdef LURN_USE_READLINE
#include <readline/history.h>
#include <readline/readline.h>
#endif

#include "bind.h"
#include "sandbox.h"

/* Where lurn's Lua library lives: $LURN_LUA_DIR, else the source tree this
 * binary was built from (a build-tree run), else the install prefix. */
static const char *lua_dir(void) {
  const char *env = getenv("LURN_LUA_DIR");
  struct stat sb;
  if (env && *env) return env;
  if (stat(LURN_SOURCE_LUA_DIR "/lurn/init.lua", &sb) == 0) return LURN_SOURCE_LUA_DIR;
  return LURN_INSTALL_LUA_DIR;
}

/* lurn.host.readline(prompt) -> line | nil at end of input */
static int host_readline(lua_State *L) {
  const char *prompt = luaL_optstring(L, 1, "> ");
#ifdef LURN_USE_READLINE
  if (isatty(0)) {
    char *line = readline(prompt);
    if (!line) return 0;
    if (*line) add_history(line);
    lua_pushstring(L, line);
    free(line);
    return 1;
  }
#endif
  if (isatty(0)) {
    fputs(prompt, stdout);
    fflush(stdout);
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int c, any = 0;
  while ((c = getchar()) != EOF && c != '\n') {
    luaL_addchar(&b, (char)c);
    any = 1;
  }
  if (c == EOF && !any) return 0;
  luaL_pushresult(&b);
  return 1;
}

static int host_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
  return 1;
}

/* The searcher for lurn's own modules ("lurn" and "lurn.*"), placed right
 * after package.preload: it looks in lurn's library directory (upvalue 1)
 * only, and a lurn module missing there is an error rather than a reason to
 * try the next searcher, so a planted ./lurn/commands/x.lua never runs.
 * Other names fall through to Lua's usual searchers (a user's script may
 * require its own modules). */
static int lurn_searcher(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  if (strcmp(name, "lurn") != 0 && strncmp(name, "lurn.", 5) != 0) {
    lua_pushliteral(L, "\n\tnot one of lurn's modules");
    return 1;
  }
  const char *dir = lua_tostring(L, lua_upvalueindex(1));
  const char *rel = luaL_gsub(L, name, ".", "/");
  const char *const forms[] = { "%s/%s.lua", "%s/%s/init.lua" };
  for (int i = 0; i < 2; i++) {
    const char *file = lua_pushfstring(L, forms[i], dir, rel);
    FILE *f = fopen(file, "r");
    if (f) {
      fclose(f);
      if (luaL_loadfilex(L, file, "t") != LUA_OK)
        return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s", name, file,
                          lua_tostring(L, -1));
      lua_pushstring(L, file);
      return 2;
    }
    lua_pop(L, 1);
  }
  return luaL_error(L, "module '%s' is not part of lurn (looked in %s)", name, dir);
}

static int traceback(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
    msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/* Everything that may raise runs here, inside lua_pcall. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = (char **)lua_touserdata(L, 2);
  luaL_openlibs(L);

  /* package.preload["lurn.core"] = luaopen_lurn_core */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushcfunction(L, luaopen_lurn_core);
  lua_setfield(L, -2, "lurn.core");
  lua_pop(L, 1);

  /* package.searchers: preload, lurn's own modules, then Lua's others */
  const char *dir = lua_dir();
  lua_getglobal(L, "package");
  lua_getfield(L, -1, "searchers");
  for (lua_Integer i = (lua_Integer)luaL_len(L, -1); i >= 2; i--) {
    lua_rawgeti(L, -1, i);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushstring(L, dir);
  lua_pushcclosure(L, lurn_searcher, 1);
  lua_rawseti(L, -2, 2);
  lua_pop(L, 2);

  /* the host's own services for the library: package.loaded["lurn.host"] */
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_newtable(L);
  lua_pushcfunction(L, host_readline);
  lua_setfield(L, -2, "readline");
  lua_pushcfunction(L, host_isatty);
  lua_setfield(L, -2, "isatty");
  lua_pushstring(L, dir);
  lua_setfield(L, -2, "lua_dir");
  /* this executable, for the config sandbox's child processes */
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    lua_pushstring(L, exe);
    lua_setfield(L, -2, "exe");
  }
  lua_setfield(L, -2, "lurn.host");
  lua_pop(L, 1);

  /* require("lurn.cli").main(argv) -> exit status */
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lurn.cli");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "main");
  lua_createtable(L, argc, 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_seti(L, -2, i);
  }
  lua_call(L, 1, 1);
  return 1;
}

int main(int argc, char **argv) {
  /* the config sandbox's child: nothing else of lurn starts in it */
  if (argc == 2 && strcmp(argv[1], "--config-sandbox") == 0) return lurn_sandbox_main();
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, "lurn: cannot create Lua state: not enough memory\n");
    return 1;
  }
  /* Lua's collector: generational unless LURN_GC=inc (docs/performance.md, "Memory") */
  const char *gc = getenv("LURN_GC");
  if (gc && *gc && strcmp(gc, "gen") != 0 && strcmp(gc, "inc") != 0) {
    fprintf(stderr, "lurn: LURN_GC='%s': expected 'gen' (generational, the default) or 'inc' "
            "(incremental)\n", gc);
    lua_close(L);
    return 2;
  }
  if (!gc || strcmp(gc, "inc") != 0) lurn_gc_generational(L);
  lua_pushcfunction(L, traceback);
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  int status = lua_pcall(L, 2, 1, 1);
  int code;
  if (status != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "lurn: %s\n", msg ? msg : "(error without a message)");
    code = 1;
  } else {
    code = lua_isinteger(L, -1) ? (int)lua_tointeger(L, -1) : 0;
  }
  fflush(stdout);
  lua_close(L);
  return code;
}
