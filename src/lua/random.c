/*
 * random.c — lurn's random numbers for Lua, on the core generator (rng.h).
 *
 *   lurn.seed(n)                  reseed the global generator
 *   lurn.rng_state() -> string    the generator's state (56 bytes)
 *   lurn.set_rng_state(s)         restore it; the stream continues exactly
 *   lurn.rand(shape [, lo, hi])   uniform in [lo, hi), default [0, 1)
 *   lurn.randn(shape [, mean, std])
 *   lurn.bernoulli(shape, p)      0/1 float32 with P(1) = p
 *   lurn.randperm(n)              int32, a permutation of 0..n-1
 *   lurn.multinomial(probs, n [, replacement]) -> int32 0-based indices
 *   t:uniform_(lo, hi), t:normal_(mean, std), t:bernoulli_(p)   in place
 *
 * Shapes are a table {d0, d1, ...} or integers. Everything is drawn in one
 * thread, so a seed gives the same numbers at every thread count.
 */
/***
 * @submodule lurn.core
 */

#include <string.h>

#include "bind.h"
#include "rng.h"

/*** lurn.seed(n) — reseed the global generator (xoshiro256**); the same seed gives the same numbers at every thread count.
 * @function seed
 * @tparam integer n
 * @usage lurn.seed(42); local w = lurn.randn(3, 3)
 */
static int l_seed(lua_State *L) {
  lua_Integer s = luaL_checkinteger(L, 1);
  lurn_rng_seed(lurn_rng_global(), (uint64_t)s);
  return 0;
}

/*** lurn.rng_state() — the generator's state as a 56-byte string (checkpoints save it).
 * @function rng_state
 * @treturn string
 * @usage local s = lurn.rng_state(); local a = lurn.rand(2); lurn.set_rng_state(s)   -- rand(2) again equals a
 */
static int l_rng_state(lua_State *L) {
  unsigned char buf[LURN_RNG_STATE_BYTES];
  lurn_rng_get_state(lurn_rng_global(), buf);
  lua_pushlstring(L, (const char *)buf, sizeof buf);
  return 1;
}

/*** lurn.set_rng_state(s) — restore a state from lurn.rng_state(): the stream continues exactly.
 * @function set_rng_state
 * @tparam string s 56 bytes
 * @usage local saved = lurn.rng_state()
 * local a = lurn.randn(3)
 * lurn.set_rng_state(saved)   -- lurn.randn(3) gives a again
 */
static int l_set_rng_state(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  if (n != LURN_RNG_STATE_BYTES)
    luaL_error(L, "set_rng_state: state must be %d bytes, got %I", LURN_RNG_STATE_BYTES,
               (lua_Integer)n);
  lurn_status st;
  if (lurn_rng_set_state(lurn_rng_global(), (const unsigned char *)s, &st))
    return lurn_raise(L, &st);
  return 0;
}

/* A new float32 tensor of the shape at arg 1; returns the index after it. */
static lurn_tensor *new_shaped(lua_State *L, const char *fname, int *next) {
  int64_t size[LURN_MAXDIM];
  int ndim;
  if (lua_istable(L, 1)) {
    ndim = lurn_checkshape(L, 1, size, fname);
    *next = 2;
  } else {
    /* integers up to the first non-integer; rand(3, 4) is a [3,4] shape */
    ndim = lurn_checkshape(L, 1, size, fname);
    *next = ndim + 1;
  }
  for (int i = 0; i < ndim; i++)
    if (size[i] < 0) luaL_error(L, "%s: negative size %I", fname, (lua_Integer)size[i]);
  lurn_status st;
  lurn_tensor *t = lurn_newtensor(L);
  if (lurn_tensor_new(t, LURN_FLOAT32, ndim, size, &st)) lurn_raise(L, &st);
  return t;
}

/*** lurn.rand(d1, d2, ...) or lurn.rand(shape [, lo, hi]) — float32 uniform in [lo, hi) (default [0, 1)).
 * Bounds need the table form of the shape.
 * @function rand
 * @tparam table|integer shape {d1, ...} or the sizes
 * @tparam[opt] number lo
 * @tparam[opt] number hi
 * @treturn Tensor
 * @usage local w = lurn.rand({4, 3}, -0.1, 0.1)
 */
static int l_rand(lua_State *L) {
  int next;
  if (!lua_istable(L, 1)) {
    /* rand(3, 4) means a shape; bounds need the table form: rand({3,4}, lo, hi) */
    lurn_tensor *t = new_shaped(L, "rand", &next);
    lurn_fill_uniform(t, lurn_rng_global(), 0.0, 1.0);
    return 1;
  }
  double lo = luaL_optnumber(L, 2, 0.0), hi = luaL_optnumber(L, 3, 1.0);
  lurn_tensor *t = new_shaped(L, "rand", &next);
  lurn_fill_uniform(t, lurn_rng_global(), lo, hi);
  return 1;
}

/*** lurn.randn(d1, d2, ...) or lurn.randn(shape [, mean, std]) — float32 normal (default mean 0, std 1).
 * @function randn
 * @tparam table|integer shape {d1, ...} or the sizes
 * @tparam[opt] number mean
 * @tparam[opt] number std >= 0
 * @treturn Tensor
 * @usage local x = lurn.randn(5, 2, 3)
 */
static int l_randn(lua_State *L) {
  int next;
  if (!lua_istable(L, 1)) {
    lurn_tensor *t = new_shaped(L, "randn", &next);
    lurn_fill_normal(t, lurn_rng_global(), 0.0, 1.0);
    return 1;
  }
  double mean = luaL_optnumber(L, 2, 0.0), sd = luaL_optnumber(L, 3, 1.0);
  if (sd < 0) luaL_error(L, "randn: std must be >= 0, got %f", sd);
  lurn_tensor *t = new_shaped(L, "randn", &next);
  lurn_fill_normal(t, lurn_rng_global(), mean, sd);
  return 1;
}

/*** lurn.bernoulli(shape, p) — float32 0/1 values, 1 with probability p.
 * @function bernoulli
 * @tparam table shape {d1, ...}
 * @tparam number p in [0, 1]
 * @treturn Tensor
 * @usage local keep = lurn.bernoulli({3, 4}, 0.9)
 */
static int l_bernoulli(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  double p = luaL_checknumber(L, 2);
  int next;
  lurn_tensor *t = new_shaped(L, "bernoulli", &next);
  lurn_status st;
  if (lurn_fill_bernoulli(t, lurn_rng_global(), p, &st)) return lurn_raise(L, &st);
  return 1;
}

/*** lurn.randperm(n) — a random permutation of 0 .. n-1 (int32).
 * @function randperm
 * @tparam integer n
 * @treturn Tensor int32 [n]
 * @usage local order = lurn.randperm(10)
 */
static int l_randperm(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  lurn_status st;
  lurn_tensor *t = lurn_newtensor(L);
  if (lurn_randperm(t, lurn_rng_global(), n, &st)) return lurn_raise(L, &st);
  return 1;
}

/*** lurn.multinomial(probs [, n [, replacement]]) — n 0-based draws from weights [K] (or per row of [N, K]).
 * Weights need not sum to 1. Without replacement (default) n is at most the
 * number of nonzero weights.
 * @function multinomial
 * @tparam Tensor probs float32 [K] or [N, K], non-negative
 * @tparam[opt] integer n draws per row, default 1
 * @tparam[opt] boolean replacement default false
 * @treturn Tensor int32 [n] or [N, n]
 * @usage local next_char = lurn.multinomial(lurn.tensor {0.1, 0.7, 0.2})   -- most often 1
 */
static int l_multinomial(lua_State *L) {
  lurn_tensor *p = lurn_checktensor(L, 1);
  lua_Integer n = luaL_optinteger(L, 2, 1);
  int repl = lua_isnoneornil(L, 3) ? 0 : lua_toboolean(L, 3);
  lurn_status st;
  lurn_tensor *t = lurn_newtensor(L);
  if (lurn_multinomial(t, lurn_rng_global(), p, n, repl, &st)) return lurn_raise(L, &st);
  return 1;
}

/*** t:uniform_([lo, hi]) — fill t in place from U[lo, hi) (default [0, 1)).
 * @function Tensor:uniform_
 * @tparam[opt] number lo
 * @tparam[opt] number hi
 * @treturn Tensor t
 * @usage local w = lurn.zeros(3, 3):uniform_(-0.5, 0.5)
 */
static int m_uniform_(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  double lo = luaL_optnumber(L, 2, 0.0), hi = luaL_optnumber(L, 3, 1.0);
  lurn_fill_uniform(t, lurn_rng_global(), lo, hi);
  lua_settop(L, 1);
  return 1;
}

/*** t:normal_([mean, std]) — fill t in place from N(mean, std^2) (default 0, 1).
 * @function Tensor:normal_
 * @tparam[opt] number mean
 * @tparam[opt] number std
 * @treturn Tensor t
 * @usage local w = lurn.zeros(3, 3):normal_(0, 0.02)
 */
static int m_normal_(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  double mean = luaL_optnumber(L, 2, 0.0), sd = luaL_optnumber(L, 3, 1.0);
  if (sd < 0) luaL_error(L, "normal_: std must be >= 0, got %f", sd);
  lurn_fill_normal(t, lurn_rng_global(), mean, sd);
  lua_settop(L, 1);
  return 1;
}

/*** t:bernoulli_(p) — fill t in place with 0/1, 1 with probability p.
 * @function Tensor:bernoulli_
 * @tparam number p
 * @treturn Tensor t
 * @usage local mask = lurn.zeros(4):bernoulli_(0.5)
 */
static int m_bernoulli_(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  lurn_status st;
  if (lurn_fill_bernoulli(t, lurn_rng_global(), luaL_checknumber(L, 2), &st))
    return lurn_raise(L, &st);
  lua_settop(L, 1);
  return 1;
}

static const luaL_Reg random_funcs[] = {
  {"seed", l_seed}, {"rng_state", l_rng_state}, {"set_rng_state", l_set_rng_state},
  {"rand", l_rand}, {"randn", l_randn}, {"bernoulli", l_bernoulli},
  {"randperm", l_randperm}, {"multinomial", l_multinomial},
  {NULL, NULL}
};

static const luaL_Reg random_methods[] = {
  {"uniform_", m_uniform_}, {"normal_", m_normal_}, {"bernoulli_", m_bernoulli_},
  {NULL, NULL}
};

void lurn_open_random(lua_State *L) {
  luaL_setfuncs(L, random_funcs, 0);
  /* add the in-place fillers to the tensor methods (core.Tensor) */
  lua_getfield(L, -1, "Tensor");
  luaL_setfuncs(L, random_methods, 0);
  lua_pop(L, 1);
}
