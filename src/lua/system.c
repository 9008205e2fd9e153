/*
 * system.c — threads and build facts.
 *
 *   lurn.threads() -> n        threads used by BLIS and lurn's own loops
 *   lurn.threads(n)            set them (0: number of cores; 1 to 1024)
 *   lurn.info() -> table       lua, blis version, blis_arch (the kernel set
 *                              in use) and blis_arch_id (its BLIS_ARCH_TYPE
 *                              number), kernels_why (who chose it and why),
 *                              blis_pick (BLIS's own choice, or nil),
 *                              kernel_tile ("12x32 transposed"), blis_openmp,
 *                              threads, cores, build_type, version
 *   lurn.sgemm_peak([n [, repeats]]) -> GFLOP/s   best square sgemm rate
 *                              (n = 1024, 5 repeats) at the current threads
 *   lurn.clock() -> seconds    a monotonic wall clock (for rates and timings)
 *   lurn.mkdir(path)           create a directory and its parents (mkdir -p);
 *                              an error names the path and the reason
 *   lurn.catch_signals()       from now on SIGINT and SIGTERM only raise a flag
 *                              (a second one of either kills as usual)
 *   lurn.caught_signal() -> name | nil   "SIGINT"/"SIGTERM" once one arrived
 */
/***
 * @submodule lurn.core
 */

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bind.h"
#include "blas.h"

#ifndef LURN_VERSION
#define LURN_VERSION "dev"
#endif
#ifndef LURN_BUILD_TYPE
#define LURN_BUILD_TYPE "unknown"
#endif

/* Thread counts: 0 means all cores, otherwise 1 .. LURN_MAX_THREADS. */
#define LURN_MAX_THREADS 1024

/*** lurn.threads([n]) — the thread count of BLIS and lurn's own loops; with n, set it first.
 * n is 0 (all cores) or 1 to 1024; anything else is an error. The default
 * comes from LURN_THREADS or `lurn --threads N` (all cores when unset); fewer
 * run while other processes keep cores busy (LURN_THREADS_ADAPT=0: never).
 * @function threads
 * @tparam[opt] integer n
 * @treturn integer the count now
 * @usage lurn.threads(1)   -- one thread: reproducible timing on a shared machine
 */
static int l_threads(lua_State *L) {
  if (!lua_isnoneornil(L, 1)) {
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 0 || n > LURN_MAX_THREADS)
      luaL_error(L, "threads: %I is not a thread count (0 for all cores, or 1 to %d)", n,
                 LURN_MAX_THREADS);
    lurn_set_threads((int)n);
  }
  lua_pushinteger(L, lurn_get_threads());
  return 1;
}

/* LURN_THREADS, read when lurn.core is opened: unset or empty means all
 * cores; anything but a whole number in range is an error, not a silent
 * fallback to the default (a typo would otherwise change the speed of a run
 * without a word). */
static void threads_from_env(lua_State *L) {
  const char *env = getenv("LURN_THREADS");
  if (!env || !*env) {
    lurn_set_threads(0);
    return;
  }
  char *end;
  errno = 0;
  long n = strtol(env, &end, 10);
  if (errno || end == env || *end || n < 0 || n > LURN_MAX_THREADS)
    luaL_error(L, "LURN_THREADS='%s' is not a thread count (0 for all cores, or 1 to %d)", env,
               LURN_MAX_THREADS);
  lurn_set_threads((int)n);
}

/*** lurn.info() — facts about this build and machine: version, lua, blis, blis_arch, kernels_why, kernel_tile, blis_openmp, threads, cores, build_type.
 * @function info
 * @treturn table
 * @usage local i = lurn.info(); print(i.blis_arch, i.threads)
 */
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
  lua_pushinteger(L, lurn_blis_arch_id());
  lua_setfield(L, -2, "blis_arch_id");
  lua_pushstring(L, lurn_kernels_why());
  lua_setfield(L, -2, "kernels_why");
  if (lurn_kernels_blis_pick() >= 0) {
    lua_pushinteger(L, lurn_kernels_blis_pick());
    lua_setfield(L, -2, "blis_pick");
  }
  const lurn_ukr *u = lurn_ukr_get();
  lua_pushfstring(L, "%dx%d%s", u->mr, u->nr, u->trans ? " transposed" : "");
  lua_setfield(L, -2, "kernel_tile");
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

/*** lurn.sgemm_peak([n [, repeats]]) — the measured single-precision GEMM speed in GFLOP/s (`lurn info --bench`).
 * @function sgemm_peak
 * @tparam[opt] integer n matrix size, 16..8192 (default 1024)
 * @tparam[opt] integer repeats 1..1000 (default 5)
 * @treturn number GFLOP/s
 * @usage print(lurn.sgemm_peak(64, 1))   -- a small, quick measurement
 */
static int l_sgemm_peak(lua_State *L) {
  lua_Integer n = luaL_optinteger(L, 1, 1024), r = luaL_optinteger(L, 2, 5);
  luaL_argcheck(L, n >= 16 && n <= 8192, 1, "size must be in 16..8192");
  luaL_argcheck(L, r >= 1 && r <= 1000, 2, "repeats must be in 1..1000");
  lua_pushnumber(L, lurn_sgemm_peak((int)n, (int)r));
  return 1;
}

/*** lurn.clock() — a monotonic wall clock in seconds (for timing; not the time of day).
 * @function clock
 * @treturn number
 * @usage local t0 = lurn.clock(); lurn.mm(lurn.randn(64, 64), lurn.randn(64, 64)); print(lurn.clock() - t0)
 */
static int l_clock(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + 1e-9 * (lua_Number)ts.tv_nsec);
  return 1;
}

/*** lurn.mkdir(path) — create a directory and its missing parents (mkdir -p, no shell).
 * An error when a part exists and is not a directory.
 * @function mkdir
 * @tparam string path
 * @usage lurn.mkdir("runs/exp1/checkpoints")
 */
static int l_mkdir(lua_State *L) {
  size_t n;
  const char *path = luaL_checklstring(L, 1, &n);
  if (n == 0) luaL_argerror(L, 1, "empty path");
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, n + 1);
  memcpy(p, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != '\0') continue;
    char c = p[i];
    p[i] = '\0';
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      int e = errno;
      return luaL_error(L, "mkdir: cannot create '%s': %s", p, strerror(e));
    }
    p[i] = c;
  }
  struct stat sb;
  if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return luaL_error(L, "mkdir: '%s' exists and is not a directory", path);
  return 0;
}

/*** lurn.catch_signals() — from now on SIGINT and SIGTERM only set a flag (a second one stops as usual).
 * The training command polls lurn.caught_signal() between steps, saves a
 * checkpoint and exits 130.
 * @function catch_signals
 * @usage lurn.catch_signals()
 */

/* The training command polls this flag between steps, saves a checkpoint and
 * exits: a signal handler may do nothing else safely. SA_RESETHAND puts the
 * default action back, so a second Ctrl-C stops a run that is stuck. */
static volatile sig_atomic_t caught_signal = 0;

static void on_signal(int sig) { caught_signal = sig; }

int lurn_signal_caught(void) { return caught_signal != 0; }

static int l_catch_signals(lua_State *L) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
    return luaL_error(L, "catch_signals: %s", strerror(errno));
  return 0;
}

/*** lurn.caught_signal() — "SIGINT" or "SIGTERM" when one was caught since catch_signals, else nil.
 * @function caught_signal
 * @treturn string|nil
 * @usage if lurn.caught_signal() then save_and_exit() end
 */
static int l_caught_signal(lua_State *L) {
  int sig = caught_signal;
  if (sig == SIGINT) lua_pushliteral(L, "SIGINT");
  else if (sig == SIGTERM) lua_pushliteral(L, "SIGTERM");
  else lua_pushnil(L);
  return 1;
}

void lurn_open_system(lua_State *L) {
  lua_pushcfunction(L, l_catch_signals);
  lua_setfield(L, -2, "catch_signals");
  lua_pushcfunction(L, l_caught_signal);
  lua_setfield(L, -2, "caught_signal");
  lua_pushcfunction(L, l_clock);
  lua_setfield(L, -2, "clock");
  lua_pushcfunction(L, l_mkdir);
  lua_setfield(L, -2, "mkdir");
  threads_from_env(L);   /* the starting thread count; default: all cores */
  lua_pushcfunction(L, l_threads);
  lua_setfield(L, -2, "threads");
  lua_pushcfunction(L, l_info);
  lua_setfield(L, -2, "info");
  lua_pushcfunction(L, l_sgemm_peak);
  lua_setfield(L, -2, "sgemm_peak");
  lua_pushstring(L, LURN_VERSION);
  lua_setfield(L, -2, "version");
}
