/*
 * sandbox.c — evaluating a config (Lua text from a stranger) in isolation.
 *
 *   lurn.core.sandbox_eval(req, fn_marker) -> {ok = true, value = v}
 *                                           | {ok = false, kind = k, message = m}
 *   lurn.core.sandbox_realpath(path)        -> real path | nil, reason
 *   lurn.core.sandbox_read_regular(path, max) -> text | nil, reason
 *   lurn.core.sandbox_file_kind(path)       -> "file"|"directory"|"other" | nil, reason
 *   lurn.core.sandbox_env_names(prefix)     -> { names of environment variables }
 *
 * req = { source, chunkname, mode = "config"|"model", info, prelude, nn, env,
 *         instructions, memory, seconds, max_string, exe }.
 *
 * The request travels as plain data in a small tagged format (below) to a
 * fresh lua_State that holds nothing but the base, string, table and math
 * libraries, the trusted prelude (lua/lurn/config/prelude.lua, which builds
 * the config's environment) and the config. With req.exe that state lives in
 * a child process: `exe --config-sandbox` (the lurn binary itself, exec'd by
 * posix_spawn, so no OpenMP thread of the host is duplicated) reads the
 * request on stdin, sets its own CPU, address-space, file-size and core
 * limits, and writes the answer on stdout; the host kills it at the wall
 * clock deadline. Without exe (the stock lua5.4 loading lurn) the state lives
 * in this process with the same in-state limits.
 *
 * In-state limits: a count hook every 1000 instructions that raises once the
 * instruction budget or the deadline is passed; an allocator that refuses
 * memory past the budget. Once either fires the state is "killed": the hook
 * then fires on every instruction and raises again, and the prelude's pcall
 * re-raises, so a config cannot swallow the limit.
 *
 * The answer is plain data: read back with raw table access, never running
 * a metamethod of the config, and parsed by the host with length checks. A
 * function (a model.spec function) travels as its first line only; the host
 * builds a marker for it with fn_marker(line).
 *
 * The format: 'n' nil, 't'/'f' booleans, 'i<decimal>;' integer,
 * 'd<hex float>;' float, 's<len>:<bytes>' string, 'F<line>;' function,
 * '{' key value ... '}' table. The answer is 'O' value, or 'E' kind message
 * (two strings).
 */
#define _GNU_SOURCE
/***
 * @submodule lurn.core
 */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lualib.h>

#include "bind.h"
#include "sandbox.h"

extern char **environ;

#define MAX_DEPTH 100                      /* nesting of tables in either direction */
#define MAX_ANSWER (64u << 20)             /* bytes of an answer or a request */
#define HOOK_EVERY 1000                    /* instructions between hook calls */
#define KILL_RESERVE (1u << 20)            /* memory granted past the budget to raise */

#if defined(__SANITIZE_ADDRESS__)
#define LURN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LURN_ASAN 1
#endif
#endif

/* ---- a growable byte buffer ------------------------------------------------ */

typedef struct {
  char *p;
  size_t n, cap;
  int full; /* a write would pass MAX_ANSWER */
} buf;

static void buf_add(buf *b, const void *s, size_t n) {
  if (b->full) return;
  if (b->n + n > MAX_ANSWER) {
    b->full = 1;
    return;
  }
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->full = 1;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

static void buf_addc(buf *b, char c) { buf_add(b, &c, 1); }
static void buf_addf(buf *b, const char *fmt, lua_Integer i) {
  char tmp[64];
  int n = snprintf(tmp, sizeof tmp, fmt, i);
  buf_add(b, tmp, (size_t)n);
}
static void buf_addstr(buf *b, const char *s, size_t n) {
  char tmp[32];
  int k = snprintf(tmp, sizeof tmp, "s%zu:", n);
  buf_add(b, tmp, (size_t)k);
  buf_add(b, s, n);
}

/* ---- encoding: a value of L as plain data, raw access only ------------------ */

/* Returns NULL or a message (static) naming what cannot travel. `seen` is
 * the stack index of a table of the tables on the current path (cycles). */
static const char *encode(lua_State *L, int idx, buf *b, int depth, int seen, int allow_fn) {
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
    case LUA_TNIL: buf_addc(b, 'n'); return NULL;
    case LUA_TBOOLEAN: buf_addc(b, lua_toboolean(L, idx) ? 't' : 'f'); return NULL;
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) {
        buf_addf(b, "i%lld;", (long long)lua_tointeger(L, idx));
      } else {
        char tmp[64];
        int n = snprintf(tmp, sizeof tmp, "d%a;", (double)lua_tonumber(L, idx));
        buf_add(b, tmp, (size_t)n);
      }
      return NULL;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      buf_addstr(b, s, n);
      return NULL;
    }
    case LUA_TFUNCTION: {
      if (!allow_fn) return "a function";
      lua_Debug ar;
      lua_pushvalue(L, idx);
      lua_getinfo(L, ">S", &ar);
      buf_addf(b, "F%lld;", (long long)(ar.linedefined > 0 ? ar.linedefined : 0));
      return NULL;
    }
    case LUA_TTABLE: break;
    default: return lua_typename(L, lua_type(L, idx));
  }
  if (depth >= MAX_DEPTH) return "tables nested deeper than 100 levels";
  if (!lua_checkstack(L, 6)) return "tables nested too deep for the stack";
  lua_pushvalue(L, idx);
  if (lua_rawget(L, seen) != LUA_TNIL) {
    lua_pop(L, 1);
    return "a table that contains itself";
  }
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, seen);
  buf_addc(b, '{');
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *err = NULL;
    int kt = lua_type(L, -2);
    if (kt != LUA_TSTRING && kt != LUA_TNUMBER) err = "a table key that is not a string or number";
    if (!err) err = encode(L, -2, b, depth + 1, seen, 0);
    if (!err) err = encode(L, -1, b, depth + 1, seen, allow_fn);
    if (!err && b->full) err = "more data than a config may return (64 MB)";
    lua_pop(L, 1);
    if (err) {
      lua_pop(L, 1);
      return err;
    }
  }
  buf_addc(b, '}');
  lua_pushvalue(L, idx);
  lua_pushnil(L);
  lua_rawset(L, seen);
  return NULL;
}

/* Encode the value at idx; NULL or what could not travel. */
static const char *encode_value(lua_State *L, int idx, buf *b, int allow_fn) {
  idx = lua_absindex(L, idx);
  if (!lua_checkstack(L, 4)) return "no stack";
  lua_newtable(L);
  const char *err = encode(L, idx, b, 0, lua_gettop(L), allow_fn);
  lua_pop(L, 1);
  if (!err && b->full) err = "more data than a config may return (64 MB)";
  return err;
}

/* ---- decoding: plain data into L, every length checked ----------------------- */

typedef struct {
  const char *s;
  size_t n, pos;
  int fn_marker; /* stack index of the host's marker constructor, or 0 */
} reader;

static int rd_int(reader *r, lua_Integer *out) {
  const char *start = r->s + r->pos;
  const char *end = memchr(start, ';', r->n - r->pos);
  if (!end || end == start || end - start > 24) return 0;
  char tmp[32];
  memcpy(tmp, start, (size_t)(end - start));
  tmp[end - start] = 0;
  char *e;
  errno = 0;
  long long v = strtoll(tmp, &e, 10);
  if (*e || errno) return 0;
  *out = (lua_Integer)v;
  r->pos += (size_t)(end - start) + 1;
  return 1;
}

/* Push the next value; 0 on malformed input (nothing pushed). */
static int decode(lua_State *L, reader *r, int depth) {
  if (r->pos >= r->n || depth > MAX_DEPTH || !lua_checkstack(L, 4)) return 0;
  char tag = r->s[r->pos++];
  lua_Integer i;
  switch (tag) {
    case 'n': lua_pushnil(L); return 1;
    case 't': lua_pushboolean(L, 1); return 1;
    case 'f': lua_pushboolean(L, 0); return 1;
    case 'i':
      if (!rd_int(r, &i)) return 0;
      lua_pushinteger(L, i);
      return 1;
    case 'd': {
      const char *start = r->s + r->pos;
      const char *end = memchr(start, ';', r->n - r->pos);
      if (!end || end == start || end - start > 40) return 0;
      char tmp[48], *e;
      memcpy(tmp, start, (size_t)(end - start));
      tmp[end - start] = 0;
      double d = strtod(tmp, &e);
      if (*e) return 0;
      lua_pushnumber(L, (lua_Number)d);
      r->pos += (size_t)(end - start) + 1;
      return 1;
    }
    case 's': {
      const char *start = r->s + r->pos;
      const char *colon = memchr(start, ':', r->n - r->pos);
      if (!colon || colon == start || colon - start > 20) return 0;
      char tmp[24], *e;
      memcpy(tmp, start, (size_t)(colon - start));
      tmp[colon - start] = 0;
      unsigned long long len = strtoull(tmp, &e, 10);
      size_t at = r->pos + (size_t)(colon - start) + 1;
      if (*e || len > r->n - at) return 0;
      lua_pushlstring(L, r->s + at, (size_t)len);
      r->pos = at + (size_t)len;
      return 1;
    }
    case 'F':
      if (!rd_int(r, &i)) return 0;
      if (r->fn_marker) {
        lua_pushvalue(L, r->fn_marker);
        lua_pushinteger(L, i);
        lua_call(L, 1, 1);
      } else {
        lua_pushboolean(L, 0); /* never sent to a sandbox: requests hold no functions */
      }
      return 1;
    case '{':
      lua_newtable(L);
      while (r->pos < r->n && r->s[r->pos] != '}') {
        if (!decode(L, r, depth + 1)) goto bad;
        if (lua_isnil(L, -1) || (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1) &&
                                 isnan(lua_tonumber(L, -1)))) {
          lua_pop(L, 1);
          goto bad;
        }
        if (!decode(L, r, depth + 1)) {
          lua_pop(L, 1);
          goto bad;
        }
        lua_rawset(L, -3);
      }
      if (r->pos >= r->n) goto bad;
      r->pos++;
      return 1;
    bad:
      lua_pop(L, 1);
      return 0;
    default: return 0;
  }
}

int lurn_sandbox_decode(lua_State *L, const char *s, size_t n) {
  reader r = { s, n, 0, 0 };
  int top = lua_gettop(L);
  if (decode(L, &r, 0) && r.pos == n) return 1;
  lua_settop(L, top);
  return 0;
}

/* ---- the sandboxed state: budget allocator and count hook --------------------- */

enum { KILL_NONE, KILL_INSTRUCTIONS, KILL_MEMORY, KILL_TIME };

typedef struct {
  size_t used, limit;         /* bytes held by the state, its cap (0 = none yet) */
  size_t base;                /* bytes held before the config started */
  long long count, max_count; /* instructions run (in HOOK_EVERY steps), budget */
  double deadline;            /* CLOCK_MONOTONIC seconds */
  double seconds;
  int killed;                 /* KILL_* */
} limits;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *budget_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  limits *lim = ud;
  if (nsize == 0) {
    free(ptr);
    lim->used -= ptr ? osize : 0;
    return NULL;
  }
  size_t old = ptr ? osize : 0;
  if (lim->limit && nsize > old) {
    size_t cap = lim->limit + (lim->killed ? KILL_RESERVE : 0);
    if (lim->used - old + nsize > cap) {
      if (!lim->killed) lim->killed = KILL_MEMORY;
      return NULL;
    }
  }
  void *p = realloc(ptr, nsize);
  if (p) lim->used = lim->used - old + nsize;
  return p;
}

static limits *get_limits(lua_State *L) {
  void *ud;
  lua_getallocf(L, &ud);
  return ud;
}

static int raise_limit(lua_State *L, limits *lim) {
  switch (lim->killed) {
    case KILL_INSTRUCTIONS:
      return luaL_error(L, "the config ran past its instruction limit (%I instructions)",
                        (lua_Integer)lim->max_count);
    case KILL_MEMORY:
      return luaL_error(L, "the config ran past its memory limit (%I bytes)",
                        (lua_Integer)(lim->limit - lim->base));
    default:
      return luaL_error(L, "the config ran past its time limit (%f s)", lim->seconds);
  }
}

static void count_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  limits *lim = get_limits(L);
  lim->count += HOOK_EVERY;
  if (!lim->killed) {
    if (lim->count > lim->max_count) lim->killed = KILL_INSTRUCTIONS;
    else if (now() > lim->deadline) lim->killed = KILL_TIME;
  }
  if (lim->killed) {
    /* from now on every instruction raises: nothing the config runs survives */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    raise_limit(L, lim);
  }
}

/* the prelude's limit_check: raise again if a limit was hit */
static int l_limit_check(lua_State *L) {
  limits *lim = get_limits(L);
  if (lim->killed) return raise_limit(L, lim);
  return 0;
}

static lua_Integer field_int(lua_State *L, int t, const char *k, lua_Integer def) {
  lua_getfield(L, t, k);
  lua_Integer v = lua_isinteger(L, -1) ? lua_tointeger(L, -1)
                  : lua_isnumber(L, -1) ? (lua_Integer)lua_tonumber(L, -1) : def;
  lua_pop(L, 1);
  return v;
}

static double field_num(lua_State *L, int t, const char *k, double def) {
  lua_getfield(L, t, k);
  double v = lua_isnumber(L, -1) ? (double)lua_tonumber(L, -1) : def;
  lua_pop(L, 1);
  return v;
}

/* Write the error answer. */
static void answer_error(buf *out, const char *kind, const char *msg, size_t n) {
  out->n = 0;
  out->full = 0;
  buf_addc(out, 'E');
  buf_addstr(out, kind, strlen(kind));
  buf_addstr(out, msg, n);
}

/* Runs in the sandbox state: the request table at 1. Returns the config's
 * value (mode config) or the spec (mode model), or raises. */
static int sandbox_body(lua_State *L) {
  int req = 1;
  /* prelude(G, opts) -> run */
  lua_getfield(L, req, "prelude");
  size_t plen;
  const char *prelude = lua_tolstring(L, -1, &plen);
  if (!prelude) return luaL_error(L, "sandbox: no prelude in the request");
  if (luaL_loadbufferx(L, prelude, plen, "=lurn.config.prelude", "t") != LUA_OK)
    return lua_error(L);
  lua_pushglobaltable(L);
  lua_newtable(L); /* opts */
  lua_getfield(L, req, "env");
  lua_setfield(L, -2, "env");
  lua_getfield(L, req, "nn");
  lua_setfield(L, -2, "nn");
  lua_getfield(L, req, "max_string");
  lua_setfield(L, -2, "max_string");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "own_state");
  lua_pushcfunction(L, l_limit_check);
  lua_setfield(L, -2, "limit_check");
  lua_call(L, 2, 1); /* run */
  /* Nothing of the request but its text reaches the config: the prelude
   * holds what it needs in locals, and the config's globals are its own. */
  lua_getfield(L, req, "source");
  lua_getfield(L, req, "chunkname");
  lua_getfield(L, req, "mode");
  lua_getfield(L, req, "info");
  lua_call(L, 4, 2); /* ok, value | false, syntax message */
  return 2;
}

/* A fresh state with only the base, string, table and math libraries (no
 * io, os, package, debug, coroutine, utf8), less what a config never gets;
 * the prelude keeps `load` for the config's text, in "t" mode only. */
static lua_State *new_sandbox_state(limits *lim) {
  lua_State *L = lua_newstate(budget_alloc, lim);
  if (!L) return NULL;
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  lua_settop(L, 0);
  static const char *const drop[] = { "dofile", "loadfile", "collectgarbage", "xpcall",
                                      "print", "warn", "require", NULL };
  for (int i = 0; drop[i]; i++) {
    lua_pushnil(L);
    lua_setglobal(L, drop[i]);
  }
  lua_getglobal(L, "string");
  lua_pushnil(L);
  lua_setfield(L, -2, "dump");
  lua_pop(L, 1);
  return L;
}

/* The child process's own limits, the backstop for what runs in C without
 * a hook: CPU seconds (SIGXCPU at the limit rounded up, SIGKILL a second
 * later), no core files, no file written, and (not under AddressSanitizer,
 * which reserves terabytes of shadow) an address space of what is mapped
 * now plus twice the memory budget. */
static void set_process_limits(double seconds, size_t memory) {
  struct rlimit rl;
  rlim_t cpu = (rlim_t)ceil(seconds);
  rl.rlim_cur = cpu;
  rl.rlim_max = cpu + 1;
  setrlimit(RLIMIT_CPU, &rl);
  rl.rlim_cur = rl.rlim_max = 0;
  setrlimit(RLIMIT_CORE, &rl);
  setrlimit(RLIMIT_FSIZE, &rl);
#ifndef LURN_ASAN
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long pages = 0;
  if (f) {
    if (fscanf(f, "%lu", &pages) != 1) pages = 0;
    fclose(f);
  }
  if (pages) {
    rl.rlim_cur = rl.rlim_max =
        (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + 2 * (rlim_t)memory + (64u << 20);
    setrlimit(RLIMIT_AS, &rl);
  }
#else
  (void)memory;
#endif
}

/* The answer for how sandbox_body ended (status; its results on top). */
static void write_answer(lua_State *L, int status, int req, const limits *lim, buf *out) {
  char msg[200];
  if (lim->killed) {
    if (lim->killed == KILL_INSTRUCTIONS)
      snprintf(msg, sizeof msg, "instruction limit: stopped after %lld instructions (limit %lld)",
               lim->count, lim->max_count);
    else if (lim->killed == KILL_MEMORY)
      snprintf(msg, sizeof msg, "memory limit: the config's Lua state needed more than %zu bytes",
               lim->limit - lim->base);
    else
      snprintf(msg, sizeof msg, "time limit: still running after %g s", lim->seconds);
    answer_error(out, "limit", msg, strlen(msg));
  } else if (status != LUA_OK) {
    size_t n; /* on error the one result is the error object; never its __tostring */
    const char *e = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
    if (!e) {
      snprintf(msg, sizeof msg, "(error object is a %s value)", luaL_typename(L, -1));
      answer_error(out, "error", msg, strlen(msg));
    } else {
      answer_error(out, status == LUA_ERRMEM ? "limit" : "error", e, n);
    }
  } else if (!lua_toboolean(L, -2)) {
    size_t n = 0;
    const char *e = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : "?";
    answer_error(out, "syntax", e, n);
  } else {
    out->n = 0;
    buf_addc(out, 'O');
    lua_getfield(L, req, "mode");
    int allow_fn = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "config") == 0;
    lua_pop(L, 1);
    /* reading the answer allocates only the buffer (outside the state) */
    const char *err = encode_value(L, -1, out, allow_fn);
    if (err) {
      snprintf(msg, sizeof msg, "the config returned %s; a config holds only numbers, strings, "
               "booleans and tables of them (and a model.spec function)", err);
      answer_error(out, "error", msg, strlen(msg));
    }
  }
}

/* Evaluate the encoded request `rq` in a fresh state; the answer goes to out. */
static void run_request(const char *rq, size_t rqn, buf *out, int in_child) {
  limits lim = { 0 };
  lim.max_count = 1;
  lim.seconds = 1;
  lua_State *L = new_sandbox_state(&lim);
  if (!L) {
    answer_error(out, "crash", "cannot create a Lua state", 24);
    return;
  }
  reader r = { rq, rqn, 0, 0 };
  if (!decode(L, &r, 0) || r.pos != rqn || !lua_istable(L, -1)) {
    lua_close(L);
    answer_error(out, "crash", "malformed sandbox request", 25);
    return;
  }
  int req = lua_gettop(L);
  lim.max_count = (long long)field_int(L, req, "instructions", 20000000);
  lim.seconds = field_num(L, req, "seconds", 5);
  size_t memory = (size_t)field_int(L, req, "memory", 64 << 20);
  if (in_child) set_process_limits(lim.seconds, memory);

  lim.base = lim.used; /* the request itself is not the config's */
  lim.limit = lim.used + memory;
  lim.deadline = now() + lim.seconds;
  lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
  lua_pushcfunction(L, sandbox_body);
  lua_pushvalue(L, req);
  int status = lua_pcall(L, 1, 2, 0);
  lua_sethook(L, NULL, 0, 0);
  write_answer(L, status, req, &lim, out);
  lua_close(L);
}

/* ---- the child process: `lurn --config-sandbox` --------------------------------- */

int lurn_sandbox_main(void) {
  buf in = { 0 }, out = { 0 };
  char chunk[65536];
  ssize_t k;
  while ((k = read(0, chunk, sizeof chunk)) > 0) buf_add(&in, chunk, (size_t)k);
  if (in.full) return 3;
  run_request(in.p ? in.p : "", in.n, &out, 1);
  free(in.p);
  size_t off = 0;
  while (off < out.n) {
    k = write(1, out.p + off, out.n - off);
    if (k <= 0) {
      if (errno == EINTR) continue;
      return 4;
    }
    off += (size_t)k;
  }
  free(out.p);
  return out.full ? 5 : 0;
}

/* ---- the host: spawn the child, feed it, read it, bound it ------------------------ */

/* Start `exe --config-sandbox` with its stdin, stdout and stderr on the
 * pipes (the child's ends are fd[0], fd[3], fd[5]). Returns 0 or errno. */
static int spawn_child(const char *exe, const int fd[6], pid_t *pid) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd[0], 0);
  posix_spawn_file_actions_adddup2(&fa, fd[3], 1);
  posix_spawn_file_actions_adddup2(&fa, fd[5], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* no descriptor of the host leaks in */
#endif
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  /* the child's environment: only what the sanitizer runtime reads; the
   * variables a config may see travel in the request */
  char *envp[8];
  int ne = 0;
  static const char *const keep[] = { "ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", NULL };
  for (int i = 0; keep[i]; i++) {
    size_t kl = strlen(keep[i]);
    for (char **e = environ; *e && ne < 7; e++)
      if (strncmp(*e, keep[i], kl) == 0 && (*e)[kl] == '=') envp[ne++] = *e;
  }
  envp[ne] = NULL;
  char *argv[] = { (char *)exe, "--config-sandbox", NULL };
  int rc = posix_spawn(pid, exe, &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

enum { PUMP_DONE, PUMP_KILLED, PUMP_TOO_BIG };

/* Feed the request to fd[1], read fd[2] into out and fd[4] into err (its
 * first 4 KB), until the child closes both or the deadline passes (then
 * SIGKILL). Closes the host's ends it is done with. */
static int pump(pid_t pid, int fd[6], const char *rq, size_t rqn, double deadline, buf *out,
                buf *err) {
  size_t sent = 0;
  fcntl(fd[1], F_SETFL, O_NONBLOCK);
  while (fd[2] >= 0 || fd[4] >= 0) {
    struct pollfd p[3];
    int slot[3] = { 1, 2, 4 }, nf = 0, at[3];
    for (int j = 0; j < 3; j++) {
      at[j] = -1;
      if (fd[slot[j]] < 0) continue;
      p[nf] = (struct pollfd){ fd[slot[j]], j == 0 ? POLLOUT : POLLIN, 0 };
      at[j] = nf++;
    }
    double left = deadline - now();
    if (left <= 0) {
      kill(pid, SIGKILL);
      return PUMP_KILLED;
    }
    int pr = poll(p, (nfds_t)nf, (int)(left * 1000) + 1);
    if (pr < 0 && errno != EINTR) { /* cannot watch it: do not let it run on */
      kill(pid, SIGKILL);
      return PUMP_KILLED;
    }
    if (pr <= 0) continue;
    if (at[0] >= 0 && p[at[0]].revents) {
      ssize_t k = (p[at[0]].revents & POLLOUT) ? write(fd[1], rq + sent, rqn - sent) : -1;
      if (k > 0) sent += (size_t)k;
      if (k < 0 && errno == EAGAIN) k = 0;
      if (k < 0 || sent == rqn) {
        close(fd[1]);
        fd[1] = -1;
      }
    }
    for (int j = 1; j < 3; j++) {
      if (at[j] < 0 || !p[at[j]].revents) continue;
      char chunk[65536];
      buf *dst = j == 1 ? out : err;
      ssize_t k = read(fd[slot[j]], chunk, sizeof chunk);
      if (k > 0) {
        if (j == 2 && err->n > 4096) continue; /* keep the start of stderr only */
        buf_add(dst, chunk, (size_t)k);
        if (dst->full) {
          kill(pid, SIGKILL);
          return PUMP_TOO_BIG;
        }
      } else if (k == 0 || errno != EINTR) {
        close(fd[slot[j]]);
        fd[slot[j]] = -1;
      }
    }
  }
  return PUMP_DONE;
}

/* The error answer for a child that did not answer: how it ended. */
static void describe_end(int how, int status, double seconds, const buf *err, buf *out) {
  char msg[300];
  if (how == PUMP_KILLED) {
    snprintf(msg, sizeof msg, "wall-clock limit: the config's process was still running after "
             "%g s and was killed", 2 * seconds + 1.0);
    answer_error(out, "limit", msg, strlen(msg));
  } else if (how == PUMP_TOO_BIG) {
    snprintf(msg, sizeof msg, "the config's process wrote more than %u bytes", MAX_ANSWER);
    answer_error(out, "limit", msg, strlen(msg));
  } else if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    int cpu = sig == SIGXCPU || sig == SIGKILL; /* SIGKILL: the hard CPU limit */
    if (cpu)
      snprintf(msg, sizeof msg, "CPU-time limit: the config's process used more than %g s of "
               "CPU and was stopped (signal %d)", ceil(seconds), sig);
    else
      snprintf(msg, sizeof msg, "the config's Lua state crashed (signal %d, %s); lurn is "
               "unaffected", sig, strsignal(sig));
    answer_error(out, cpu ? "limit" : "crash", msg, strlen(msg));
  } else if (WEXITSTATUS(status) != 0 || out->n == 0) {
    /* e.g. an allocation refused by the address-space limit outside Lua:
     * the last line the child wrote on stderr says what */
    size_t n = err->n;
    while (n && err->p[n - 1] == '\n') n--;
    size_t start = n;
    while (start && err->p[start - 1] != '\n') start--;
    snprintf(msg, sizeof msg, "the config's process ended with status %d%s%.*s",
             WEXITSTATUS(status), n ? ": " : "", (int)(n - start > 160 ? 160 : n - start),
             n ? err->p + start : "");
    answer_error(out, "crash", msg, strlen(msg));
  }
}

/* Run exe --config-sandbox on the request; the answer in out, or an error
 * answer describing how the child ended. The in-state deadline fires
 * first, the child's CPU limit (ceil(seconds)) next, the host's wall clock
 * (2 seconds + 1) last. */
static void run_child(const char *exe, const char *rq, size_t rqn, double seconds, buf *out) {
  /* fd: stdin (child's read end, host's write end), stdout (r, w), stderr (r, w) */
  int fd[6] = { -1, -1, -1, -1, -1, -1 };
  char msg[300];
  int rc = 0;
  for (int j = 0; j < 3 && !rc; j++) rc = pipe2(fd + 2 * j, O_CLOEXEC) ? errno : 0;
  pid_t pid = 0;
  if (!rc) {
    rc = spawn_child(exe, fd, &pid);
    if (rc) {
      snprintf(msg, sizeof msg, "cannot start the sandbox process %s: %s", exe, strerror(rc));
      answer_error(out, "crash", msg, strlen(msg));
    }
  } else {
    snprintf(msg, sizeof msg, "cannot create pipes: %s", strerror(rc));
    answer_error(out, "crash", msg, strlen(msg));
  }
  if (!rc) {
    /* the host keeps the write end of stdin and the read ends of the others */
    close(fd[0]);
    close(fd[3]);
    close(fd[5]);
    fd[0] = fd[3] = fd[5] = -1;
    int host[6] = { -1, fd[1], fd[2], -1, fd[4], -1 };
    /* a child that dies early must not take the host with SIGPIPE */
    struct sigaction ign = { 0 }, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    buf err = { 0 };
    int how = pump(pid, host, rq, rqn, now() + 2 * seconds + 1.0, out, &err);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    sigaction(SIGPIPE, &old, NULL);
    describe_end(how, status, seconds, &err, out);
    free(err.p);
    fd[1] = host[1];
    fd[2] = host[2];
    fd[4] = host[4];
  }
  for (int j = 0; j < 6; j++)
    if (fd[j] >= 0) close(fd[j]);
}

/*** lurn.core.sandbox_eval(req, fn_marker) — evaluate a config's Lua text in a fresh, limited state (a child process when req.exe is set).
 * Internal: lurn.config calls it. req = {source, chunkname, mode = "config" or
 * "model", info, prelude, nn, env, instructions, memory, seconds, max_string,
 * exe}; the answer is plain data {ok = true, value =} or {ok = false, kind =,
 * message =}. docs/security.md says what it promises.
 * @function sandbox_eval
 * @tparam table req
 * @tparam function fn_marker builds a marker from a function's first line
 * @treturn table
 * @usage -- see lua/lurn/config/ (not called by scripts)
 */
static int l_sandbox_eval(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int fn_marker = lua_isnoneornil(L, 2) ? 0 : 2;
  if (fn_marker) luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_getfield(L, 1, "exe");
  const char *exe = lua_tostring(L, -1);
  double seconds = field_num(L, 1, "seconds", 5);

  buf rq = { 0 }, out = { 0 };
  const char *err = encode_value(L, 1, &rq, 0);
  if (err) {
    free(rq.p);
    return luaL_error(L, "sandbox_eval: the request holds %s", err);
  }
  if (exe) run_child(exe, rq.p, rq.n, seconds, &out);
  else run_request(rq.p, rq.n, &out, 0);
  free(rq.p);

  lua_newtable(L);
  int res = lua_gettop(L);
  reader r = { out.p, out.n, 1, fn_marker };
  if (out.n > 0 && out.p[0] == 'O') {
    lua_pushboolean(L, 1);
    lua_setfield(L, res, "ok");
    if (decode(L, &r, 0) && r.pos == out.n) {
      lua_setfield(L, res, "value");
      free(out.p);
      return 1;
    }
  } else if (out.n > 0 && out.p[0] == 'E' && decode(L, &r, 0)) {
    lua_setfield(L, res, "kind");
    if (decode(L, &r, 0)) {
      lua_setfield(L, res, "message");
      lua_pushboolean(L, 0);
      lua_setfield(L, res, "ok");
      free(out.p);
      return 1;
    }
  }
  free(out.p);
  lua_pushboolean(L, 0);
  lua_setfield(L, res, "ok");
  lua_pushliteral(L, "crash");
  lua_setfield(L, res, "kind");
  lua_pushliteral(L, "the sandbox's answer was malformed");
  lua_setfield(L, res, "message");
  return 1;
}

/* ---- files and paths ----------------------------------------------------------------- */

/*** lurn.core.sandbox_realpath(path) — the real path for the config loader, or nil and a reason.
 * @function sandbox_realpath
 * @tparam string path
 * @treturn string|nil
 * @usage print(lurn.core.sandbox_realpath("."))
 */
static int l_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char *real = realpath(path, NULL);
  if (!real) {
    luaL_pushfail(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushstring(L, real);
  free(real);
  return 1;
}

/*** lurn.core.sandbox_read_regular(path, max) — the text of a regular file of at most max bytes, or nil and a reason (no FIFO, device or directory).
 * @function sandbox_read_regular
 * @tparam string path
 * @tparam integer max
 * @treturn string|nil
 * @usage local text = lurn.core.sandbox_read_regular("configs/sentiment.lua", 1000000)
 */
static int l_read_regular(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer max = luaL_checkinteger(L, 2);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat sb;
  const char *why = NULL;
  char tmp[120];
  if (fd < 0) why = strerror(errno);
  else if (fstat(fd, &sb) != 0) why = strerror(errno);
  else if (!S_ISREG(sb.st_mode)) why = S_ISDIR(sb.st_mode) ? "is a directory" : "is not a regular file";
  else if (sb.st_size > max) {
    snprintf(tmp, sizeof tmp, "is %lld bytes, over the limit of %lld for a config",
             (long long)sb.st_size, (long long)max);
    why = tmp;
  }
  if (why) {
    if (fd >= 0) close(fd);
    luaL_pushfail(L);
    lua_pushstring(L, why);
    return 2;
  }
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, (size_t)sb.st_size + 1);
  size_t n = 0;
  ssize_t k;
  while (n <= (size_t)sb.st_size && (k = read(fd, p + n, (size_t)sb.st_size + 1 - n)) > 0)
    n += (size_t)k;
  close(fd);
  if (n > (size_t)sb.st_size) {
    luaL_pushfail(L);
    lua_pushliteral(L, "grew while it was read");
    return 2;
  }
  luaL_pushresultsize(&b, n);
  return 1;
}

/*** lurn.core.sandbox_file_kind(path) — "file", "directory" or "other", or nil and a reason.
 * @function sandbox_file_kind
 * @tparam string path
 * @treturn string|nil
 * @usage print(lurn.core.sandbox_file_kind("configs"))
 */
static int l_file_kind(lua_State *L) {
  struct stat sb;
  if (stat(luaL_checkstring(L, 1), &sb) != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  if (S_ISREG(sb.st_mode) && access(lua_tostring(L, 1), R_OK) != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushstring(L, S_ISREG(sb.st_mode) ? "file" : S_ISDIR(sb.st_mode) ? "directory" : "other");
  return 1;
}

/*** lurn.core.sandbox_env_names(prefix) — the names of the environment variables starting with prefix.
 * @function sandbox_env_names
 * @tparam string prefix
 * @treturn {string,...}
 * @usage print(table.concat(lurn.core.sandbox_env_names("LURN_"), " "))
 */
static int l_env_names(lua_State *L) {
  size_t pl;
  const char *prefix = luaL_checklstring(L, 1, &pl);
  lua_newtable(L);
  int i = 1;
  for (char **e = environ; *e; e++) {
    const char *eq = strchr(*e, '=');
    if (eq && strncmp(*e, prefix, pl) == 0) {
      lua_pushlstring(L, *e, (size_t)(eq - *e));
      lua_rawseti(L, -2, i++);
    }
  }
  return 1;
}

void lurn_open_sandbox(lua_State *L) {
  static const luaL_Reg fns[] = {
    { "sandbox_eval", l_sandbox_eval },       { "sandbox_realpath", l_realpath },
    { "sandbox_read_regular", l_read_regular }, { "sandbox_file_kind", l_file_kind },
    { "sandbox_env_names", l_env_names },     { NULL, NULL },
  };
  luaL_setfuncs(L, fns, 0);
}
