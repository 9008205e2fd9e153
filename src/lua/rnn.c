/*
 * rnn.c — Lua binding of the recurrent kernels (src/core/rnn.h): one layer,
 * one direction, the whole sequence. The nn.RNN/LSTM/GRU modules in
 * lua/lurn/nn/ compose layers, directions and dropout on top of it.
 *
 *   core.rnn_forward{kind=, x=, w_ih=, w_hh= [, b_ih=, b_hh=, lengths=, h0=, c0=,
 *                    reverse=false, training=true, y=]} -> y, hn, cn, state
 *       kind     "lstm" | "gru" | "rnn_tanh" | "rnn_relu" ("rnn" = "rnn_tanh")
 *       x        float32 [T, B, I];  w_ih [G*H, I], w_hh [G*H, H], b_ih/b_hh [G*H]
 *       lengths  int32 [B] (0 <= len <= T) or nil;  h0, c0 [B, H] or nil (zeros)
 *       y        optional output view [T, B, H] (e.g. one half of a [T, B, 2H]
 *                bidirectional output, via narrow); a fresh tensor otherwise
 *       returns  y, hn [B, H], cn [B, H] (nil unless lstm), and in training
 *                mode a lurn.RNNState for rnn_backward (nil otherwise)
 *   core.rnn_backward(state, {dy=, dhn=, dcn=, dx=, dw_ih=, dw_hh=, db_ih=, db_hh=})
 *       -> dx, dh0, dc0
 *       dy [T, B, H] (any view), dhn/dcn [B, H]: nil means zero
 *       dx       a view [T, B, I] to write into, false to skip, nil for fresh
 *       dw_*, db_*  contiguous float32 gradients, ACCUMULATED (+=); nil skips
 *       returns  dx (nil if skipped), dh0 [B, H], dc0 [B, H] (nil unless lstm)
 *
 * A state feeds exactly one backward (the kernel overwrites its cache with
 * gate gradients); a second one is an error. The state holds references to
 * x, w_ih and w_hh as they were at forward time (update the weights only
 * after backward). state:free() (also __close / __gc, all idempotent)
 * returns its memory at once.
 *
 * Memory: the caches and workspaces come from a small per-lua_State pool of
 * buffers, so a training loop reuses the same blocks step after step instead
 * of mapping (and page-faulting) tens of MB per call. Backward gives the
 * cache back to the pool as soon as it is done.
 *
 * Non-contiguous inputs are copied to contiguous ones; x, y, dx and dy only
 * need rows of one stride (a [T, B, D] view with unit last stride, such as
 * a narrow of the last dim), which the kernels take as they are.
 */
/***
 * @submodule lurn.core
 */

#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "rnn.h"

#define RNN_STATE_MT "lurn.RNNState"
#define RNN_POOL_MT "lurn.RNNPool"

/* ---- the buffer pool ------------------------------------------------------ */

#define POOL_SLOTS 6

typedef struct {
  float *buf[POOL_SLOTS];
  size_t n[POOL_SLOTS];   /* floats */
} rnn_pool;

static int pool_gc(lua_State *L) {
  rnn_pool *p = luaL_checkudata(L, 1, RNN_POOL_MT);
  for (int i = 0; i < POOL_SLOTS; i++) {
    free(p->buf[i]);
    p->buf[i] = NULL;
    p->n[i] = 0;
  }
  return 0;
}

/* The pool lives in the registry under this address. It is created when
 * the module opens, before any state, so at lua_close (which finalises the
 * newest objects first) every state returns its buffers before the pool
 * itself goes. */
static const char pool_key = 'p';

static rnn_pool *getpool(lua_State *L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &pool_key);
  rnn_pool *p = luaL_checkudata(L, -1, RNN_POOL_MT);
  lua_pop(L, 1);
  return p;
}

/* A buffer of at least n floats: the smallest pooled one that fits, else a
 * fresh 64-byte aligned one. NULL on out-of-memory. */
static float *pool_take(rnn_pool *p, size_t n, size_t *got) {
  int best = -1;
  for (int i = 0; i < POOL_SLOTS; i++)
    if (p->buf[i] && p->n[i] >= n && (best < 0 || p->n[i] < p->n[best])) best = i;
  if (best >= 0) {
    float *b = p->buf[best];
    *got = p->n[best];
    p->buf[best] = NULL;
    p->n[best] = 0;
    return b;
  }
  size_t bytes = ((n ? n : 1) * sizeof(float) + 63) / 64 * 64;
  *got = n;
  return aligned_alloc(64, bytes);
}

/* Give a buffer back: into an empty slot, or in place of the smallest
 * pooled buffer if it is smaller, else freed. */
static void pool_give(rnn_pool *p, float *b, size_t n) {
  if (!b) return;
  int slot = -1;
  for (int i = 0; i < POOL_SLOTS; i++)
    if (!p->buf[i]) { slot = i; break; }
  if (slot < 0) {
    slot = 0;
    for (int i = 1; i < POOL_SLOTS; i++)
      if (p->n[i] < p->n[slot]) slot = i;
    if (p->n[slot] >= n) { free(b); return; }
    free(p->buf[slot]);
  }
  p->buf[slot] = b;
  p->n[slot] = n;
}

/* A scratch buffer for the length of one call: a userdata whose __gc gives
 * the block back to the pool, so a Lua error half-way leaks nothing. */
typedef struct {
  rnn_pool *pool;
  float *buf;
  size_t n;
} rnn_scratch;

#define RNN_SCRATCH_MT "lurn.RNNScratch"

static void scratch_release(rnn_scratch *s) {
  if (s->buf) pool_give(s->pool, s->buf, s->n);
  s->buf = NULL;
}

static int scratch_gc(lua_State *L) {
  scratch_release(luaL_checkudata(L, 1, RNN_SCRATCH_MT));
  return 0;
}

static rnn_scratch *push_scratch(lua_State *L, size_t n, const char *fname) {
  rnn_scratch *s = lua_newuserdatauv(L, sizeof *s, 1);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, RNN_SCRATCH_MT);
  /* keep the pool reachable from the scratch (see pool_key) */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &pool_key);
  lua_setiuservalue(L, -2, 1);
  s->pool = getpool(L);
  s->buf = pool_take(s->pool, n, &s->n);
  if (!s->buf) luaL_error(L, "%s: out of memory (%I floats of workspace)", fname, (lua_Integer)n);
  return s;
}

/* ---- the state ------------------------------------------------------------ */

typedef struct {
  lurn_rnn_desc d;
  int32_t *lengths;        /* [B] own copy, or NULL */
  float *cache;            /* lurn_rnn_cache_floats(d) floats from the pool, or NULL */
  size_t ncache;
  rnn_pool *pool;
  lurn_tensor x, w_ih, w_hh;   /* references held for backward */
  int64_t ldx;
  int used;                /* 1 once a backward consumed the cache */
} rnn_state;

static void state_release(rnn_state *s) {
  if (s->cache && s->pool) pool_give(s->pool, s->cache, s->ncache);
  s->cache = NULL;
  free(s->lengths);
  s->lengths = NULL;
  s->d.lengths = NULL;
  lurn_tensor_release(&s->x);
  lurn_tensor_release(&s->w_ih);
  lurn_tensor_release(&s->w_hh);
}

static rnn_state *checkstate(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, RNN_STATE_MT);
}

static int state_gc(lua_State *L) {
  state_release(checkstate(L, 1));
  return 0;
}

static int state_tostring(lua_State *L) {
  rnn_state *s = checkstate(L, 1);
  const char *what = s->cache ? "ready" : (s->used ? "used" : "freed");
  lua_pushfstring(L, "lurn.RNNState(%s%s, T=%I, B=%I, I=%I, H=%I, %s)",
                  lurn_cell_name(s->d.cell), s->d.reverse ? " reverse" : "",
                  (lua_Integer)s->d.T, (lua_Integer)s->d.B, (lua_Integer)s->d.I,
                  (lua_Integer)s->d.H, what);
  return 1;
}

/* state:bytes() -> bytes of cache held */
static int state_bytes(lua_State *L) {
  rnn_state *s = checkstate(L, 1);
  lua_pushinteger(L, s->cache ? (lua_Integer)(lurn_rnn_cache_floats(&s->d) * sizeof(float)) : 0);
  return 1;
}

/* ---- argument helpers ----------------------------------------------------- */

/* Every key of the table at idx must be one of `known`. */
static void checkkeys(lua_State *L, int idx, const char *fname, const char *const *known,
                      const char *list) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "%s: option keys must be strings (known: %s)", fname, list);
    const char *k = lua_tostring(L, -1);
    int ok = 0;
    for (int i = 0; known[i]; i++)
      if (!strcmp(k, known[i])) { ok = 1; break; }
    if (!ok) luaL_error(L, "%s: unknown option '%s' (known: %s)", fname, k, list);
  }
}

/* Field `name` of the table at idx as a tensor of dtype `dt`, or NULL if
 * nil. The value stays on the stack (pushed), keeping it alive. */
static lurn_tensor *field_tensor(lua_State *L, int idx, const char *name, lurn_dtype dt,
                                 const char *fname) {
  lua_getfield(L, idx, name);
  if (lua_isnil(L, -1)) return NULL;
  lurn_tensor *t = lurn_argtensor(L, -1, fname, name);
  if (t->dtype != dt)
    luaL_error(L, "%s: %s must be %s, got %s", fname, name, lurn_dtype_name(dt),
               lurn_dtype_name(t->dtype));
  return t;
}

static int field_bool(lua_State *L, int idx, const char *name, int def) {
  lua_getfield(L, idx, name);
  int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* t must have exactly the shape `size` (ndim dims); error names both. */
static void checkshape(lua_State *L, const lurn_tensor *t, int ndim, const int64_t *size,
                       const char *fname, const char *name) {
  int ok = t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++) ok = t->size[i] == size[i];
  if (!ok) {
    char want[96], got[96];
    lurn_shape_str(want, sizeof want, ndim, size);
    lurn_tensor_shape_str(t, got, sizeof got);
    luaL_error(L, "%s: %s must be %s, got %s", fname, name, want, got);
  }
}

/* Can [T, B, D] view t be read as T*B rows of D floats, one stride apart?
 * Then *ld is that stride. */
static int uniform_rows(const lurn_tensor *t, int64_t *ld) {
  int64_t T = t->size[0], B = t->size[1], D = t->size[2];
  if (D > 1 && t->stride[2] != 1) return 0;
  if (T > 1 && B > 1 && t->stride[0] != B * t->stride[1]) return 0;
  int64_t l = B > 1 ? t->stride[1] : (T > 1 ? t->stride[0] : D);
  if (l < D) return 0;   /* overlapping (or expanded) rows */
  *ld = l;
  return 1;
}

/* A contiguous version of t: t itself, or a copy pushed on the stack (GC
 * owned). */
static lurn_tensor *contiguous(lua_State *L, lurn_tensor *t) {
  if (lurn_is_contiguous(t)) return t;
  lurn_status st = {0};
  lurn_tensor *c = lurn_newtensor(L);
  if (lurn_contiguous(c, t, &st)) lurn_raise(L, &st);
  return c;
}

/* Rows of one stride: t itself, or a contiguous copy. */
static lurn_tensor *rows_of(lua_State *L, lurn_tensor *t, int64_t *ld) {
  if (uniform_rows(t, ld)) return t;
  lurn_tensor *c = contiguous(L, t);
  *ld = c->size[2];
  return c;
}

/* A fresh float32 output. Not zero-filled: the kernels write every element of
 * each one they return (y: every (t, b) row, padded ones as zeros; h_n, c_n,
 * dh0, dc0: every sample's row; dx: every row), so zeros first would be a
 * wasted pass over memory (6.5 MB of y at (64,100,128,256)). */
static lurn_tensor *new_f32(lua_State *L, int ndim, const int64_t *size) {
  lurn_status st = {0};
  lurn_tensor *t = lurn_newtensor(L);
  if (lurn_tensor_new_uninit(t, LURN_FLOAT32, ndim, size, &st)) lurn_raise(L, &st);
  return t;
}

static const char *const fwd_keys[] = {"kind", "x", "w_ih", "w_hh", "b_ih", "b_hh", "lengths",
                                       "h0", "c0", "reverse", "training", "y", NULL};

/* ---- rnn_forward ---------------------------------------------------------- */

/*** lurn.core.rnn_forward(args) — one recurrent layer in one direction over a whole sequence (the kernel under nn.LSTM/GRU/RNN).
 * Fields of args (default first):
 *   kind                  "lstm", "gru", "rnn_tanh" or "rnn_relu"
 *   x                     float32 [T, B, I]
 *   w_ih, w_hh            [G*H, I], [G*H, H] (G = 4, 3, 1 gate blocks; PyTorch's order)
 *   b_ih, b_hh = nil      [G*H]
 *   lengths = nil         int32 [B], each in 0..T: padded steps keep the state
 *   h0, c0 = nil          [B, H] initial states (zeros)
 *   reverse = false       run from each sample's last valid step back
 *   training = true       keep what rnn_backward needs
 *   y = nil               an output view [T, B, H] to write into (e.g. half of a
 *                         bidirectional [T, B, 2H] output, via narrow)
 * Returns y [T, B, H], hn [B, H], cn [B, H] (LSTM only, else nil) and, in
 * training, a state for rnn_backward.
 * @function rnn_forward
 * @tparam table args the fields above
 * @treturn Tensor y
 * @treturn Tensor hn
 * @treturn Tensor|nil cn
 * @treturn userdata|nil state
 * @usage local H = 4
 * local y, hn, cn, st = lurn.core.rnn_forward { kind = "lstm", x = lurn.randn(5, 2, 3),
 *   w_ih = lurn.randn(4 * H, 3), w_hh = lurn.randn(4 * H, H) }
 */
static int l_rnn_forward(lua_State *L) {
  const char *fn = "rnn_forward";
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  checkkeys(L, 1, fn, fwd_keys,
            "kind, x, w_ih, w_hh, b_ih, b_hh, lengths, h0, c0, reverse, training, y");
  lua_getfield(L, 1, "kind");
  const char *kind = lua_tostring(L, -1);
  int cell = lurn_cell_parse(kind);
  if (cell < 0)
    luaL_error(L, "%s: kind must be \"lstm\", \"gru\", \"rnn_tanh\" or \"rnn_relu\", got %s", fn,
               kind ? kind : luaL_typename(L, -1));
  lua_pop(L, 1);
  const int lstm = cell == LURN_LSTM;
  const char *nm = lurn_cell_name((lurn_cell)cell);

  /* stack slots 2.. hold the fields (keeping them alive) */
  lurn_tensor *x = field_tensor(L, 1, "x", LURN_FLOAT32, fn);
  lurn_tensor *w_ih = field_tensor(L, 1, "w_ih", LURN_FLOAT32, fn);
  lurn_tensor *w_hh = field_tensor(L, 1, "w_hh", LURN_FLOAT32, fn);
  lurn_tensor *b_ih = field_tensor(L, 1, "b_ih", LURN_FLOAT32, fn);
  lurn_tensor *b_hh = field_tensor(L, 1, "b_hh", LURN_FLOAT32, fn);
  lurn_tensor *len = field_tensor(L, 1, "lengths", LURN_INT32, fn);
  lurn_tensor *h0 = field_tensor(L, 1, "h0", LURN_FLOAT32, fn);
  lurn_tensor *c0 = field_tensor(L, 1, "c0", LURN_FLOAT32, fn);
  lurn_tensor *y = field_tensor(L, 1, "y", LURN_FLOAT32, fn);
  const int reverse = field_bool(L, 1, "reverse", 0);
  const int training = field_bool(L, 1, "training", 1);
  if (!x || !w_ih || !w_hh) luaL_error(L, "%s: x, w_ih and w_hh are required", fn);
  if (c0 && !lstm) luaL_error(L, "%s: c0 given, but only lstm has a cell state (kind %s)", fn, nm);

  /* shapes: T, B, I from x, H from w_ih's G*H rows; the rest must agree */
  char got[96];
  const int G = lurn_cell_gates((lurn_cell)cell);
  if (x->ndim != 3)
    luaL_error(L, "%s: x must be [T,B,I], got %s", fn, lurn_tensor_shape_str(x, got, sizeof got));
  if (w_ih->ndim != 2 || w_ih->size[0] % G != 0 || w_ih->size[0] == 0)
    luaL_error(L, "%s: w_ih must be [%d*H,I] for %s, got %s", fn, G, nm,
               lurn_tensor_shape_str(w_ih, got, sizeof got));
  const int64_t T = x->size[0], B = x->size[1], I = x->size[2], H = w_ih->size[0] / G;
  const int64_t GH = G * H;
  checkshape(L, w_ih, 2, (int64_t[]){GH, I}, fn, "w_ih");
  checkshape(L, w_hh, 2, (int64_t[]){GH, H}, fn, "w_hh");
  if (b_ih) checkshape(L, b_ih, 1, (int64_t[]){GH}, fn, "b_ih");
  if (b_hh) checkshape(L, b_hh, 1, (int64_t[]){GH}, fn, "b_hh");
  if (h0) checkshape(L, h0, 2, (int64_t[]){B, H}, fn, "h0");
  if (c0) checkshape(L, c0, 2, (int64_t[]){B, H}, fn, "c0");
  if (len) checkshape(L, len, 1, (int64_t[]){B}, fn, "lengths");
  int64_t ldy = H;
  if (y) {
    checkshape(L, y, 3, (int64_t[]){T, B, H}, fn, "y");
    if (!uniform_rows(y, &ldy))
      luaL_error(L, "%s: y must be a view whose [T,B] rows have one stride and unit last stride",
                 fn);
  }

  /* the descriptor, with its own copy of the lengths */
  int32_t *lengths = NULL;
  if (len) {
    lengths = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(B ? B : 1), 0);
    lurn_checklive(L, len, fn, "lengths");   // the allocation may have run a finalizer
    for (int64_t b = 0; b < B; b++) lengths[b] = lurn_i32(len)[b * len->stride[0]];
  }
  lurn_rnn_desc d = {(lurn_cell)cell, T, B, I, H, lengths, reverse};
  lurn_status st = {0};
  if (lurn_rnn_check(&d, &st)) luaL_error(L, "%s: %s", fn, st.msg);

  int64_t ldx;
  x = rows_of(L, x, &ldx);
  w_ih = contiguous(L, w_ih);
  w_hh = contiguous(L, w_hh);
  if (b_ih) b_ih = contiguous(L, b_ih);
  if (b_hh) b_hh = contiguous(L, b_hh);
  if (h0) h0 = contiguous(L, h0);
  if (c0) c0 = contiguous(L, c0);

  /* outputs y, hn, cn, state: pushed in this order, returned from the top */
  lurn_tensor *yt = y;
  if (y) lua_getfield(L, 1, "y");
  else yt = new_f32(L, 3, (int64_t[]){T, B, H});
  lurn_tensor *hn = new_f32(L, 2, (int64_t[]){B, H});
  lurn_tensor *cn = NULL;
  if (lstm) cn = new_f32(L, 2, (int64_t[]){B, H});
  else lua_pushnil(L);

  rnn_state *s = NULL;
  if (training) {
    s = lua_newuserdatauv(L, sizeof *s, 1);
    memset(s, 0, sizeof *s);
    luaL_setmetatable(L, RNN_STATE_MT);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &pool_key);
    lua_setiuservalue(L, -2, 1);
    s->pool = getpool(L);
    s->d = d;
    if (lengths) {
      s->lengths = malloc(sizeof(int32_t) * (size_t)(B ? B : 1));
      if (!s->lengths) luaL_error(L, "%s: out of memory", fn);
      memcpy(s->lengths, lengths, sizeof(int32_t) * (size_t)B);
      s->d.lengths = s->lengths;
    }
    s->cache = pool_take(s->pool, lurn_rnn_cache_floats(&d), &s->ncache);
    if (!s->cache) luaL_error(L, "%s: out of memory (%I floats of cache)", fn,
                              (lua_Integer)lurn_rnn_cache_floats(&d));
    lurn_tensor_share(&s->x, x);
    lurn_tensor_share(&s->w_ih, w_ih);
    lurn_tensor_share(&s->w_hh, w_hh);
    s->ldx = ldx;
  } else {
    lua_pushnil(L);
  }
  rnn_scratch *work = push_scratch(L, lurn_rnn_work_floats(&d, training), fn);
  /* The fields were read through lua_getfield (an __index metamethod may
   * run) and outputs allocated since (a finalizer may run): either could
   * have released a tensor checked above. No Lua call from here on. */
  const lurn_tensor *fwd_live[] = {yt, x, w_ih, w_hh, b_ih, b_hh, h0, c0};
  const char *fwd_names[] = {"y", "x", "w_ih", "w_hh", "b_ih", "b_hh", "h0", "c0"};
  for (int i = 0; i < 8; i++)
    if (fwd_live[i]) lurn_checklive(L, fwd_live[i], fn, fwd_names[i]);

  if (lurn_rnn_forward(&d, lurn_f32(yt), ldy, lurn_f32(hn), cn ? lurn_f32(cn) : NULL,
                       lurn_f32(x), ldx, h0 ? lurn_f32(h0) : NULL, c0 ? lurn_f32(c0) : NULL,
                       lurn_f32(w_ih), lurn_f32(w_hh), b_ih ? lurn_f32(b_ih) : NULL,
                       b_hh ? lurn_f32(b_hh) : NULL, s ? s->cache : NULL, work->buf, &st))
    luaL_error(L, "%s: %s", fn, st.msg);
  scratch_release(work);
  lua_pop(L, 1);
  return 4;
}

/* ---- rnn_backward --------------------------------------------------------- */

static const char *const bwd_keys[] = {"dy", "dhn", "dcn", "dx", "dw_ih", "dw_hh",
                                       "db_ih", "db_hh", NULL};

/* A parameter gradient: nil, or a contiguous float32 tensor of that shape. */
static lurn_tensor *grad_field(lua_State *L, const char *name, int ndim, const int64_t *size,
                               const char *fn) {
  lurn_tensor *g = field_tensor(L, 2, name, LURN_FLOAT32, fn);
  if (!g) return NULL;
  checkshape(L, g, ndim, size, fn, name);
  if (!lurn_is_contiguous(g))
    luaL_error(L, "%s: %s must be contiguous (it is accumulated in place)", fn, name);
  return g;
}

/*** lurn.core.rnn_backward(state, grads) — backpropagation through time for one rnn_forward; returns dx, dh0, dc0.
 * A state feeds exactly one backward; it holds x and the weights as they were
 * (update them only after backward). state:free() returns its memory at once.
 * Fields of grads (nil means zero or skipped):
 *   dy                    [T, B, H] gradient of y (any view)
 *   dhn, dcn              [B, H] gradients of the final states
 *   dx                    a view [T, B, I] to write into, false to skip, nil for fresh
 *   dw_ih, dw_hh, db_ih, db_hh  contiguous gradients, ACCUMULATED (+=)
 * @function rnn_backward
 * @tparam userdata state from rnn_forward in training
 * @tparam table grads the fields above
 * @treturn Tensor|nil dx
 * @treturn Tensor dh0 [B, H]
 * @treturn Tensor|nil dc0 (LSTM only)
 * @usage local H = 4
 * local y, hn, cn, st = lurn.core.rnn_forward { kind = "lstm", x = lurn.randn(5, 2, 3),
 *   w_ih = lurn.randn(4 * H, 3), w_hh = lurn.randn(4 * H, H) }
 * local dw_ih, dw_hh = lurn.zeros(4 * H, 3), lurn.zeros(4 * H, H)
 * local dx, dh0 = lurn.core.rnn_backward(st, { dy = lurn.ones(5, 2, H), dw_ih = dw_ih, dw_hh = dw_hh })
 */
static int l_rnn_backward(lua_State *L) {
  const char *fn = "rnn_backward";
  rnn_state *s = checkstate(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_settop(L, 1);
    lua_newtable(L);
  }
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  if (!s->cache)
    luaL_error(L, "%s: %s", fn, s->used ? "this state was already used by a backward (run "
                                          "forward again)" : "this state has been freed");
  checkkeys(L, 2, fn, bwd_keys, "dy, dhn, dcn, dx, dw_ih, dw_hh, db_ih, db_hh");
  const lurn_rnn_desc *d = &s->d;
  const int64_t T = d->T, B = d->B, I = d->I, H = d->H;
  const int64_t GH = lurn_cell_gates(d->cell) * H;
  const int lstm = d->cell == LURN_LSTM;

  int64_t lddy = H, lddx = I;
  lurn_tensor *dy = field_tensor(L, 2, "dy", LURN_FLOAT32, fn);
  if (dy) {
    checkshape(L, dy, 3, (int64_t[]){T, B, H}, fn, "dy");
    dy = rows_of(L, dy, &lddy);
  }
  lurn_tensor *dhn = field_tensor(L, 2, "dhn", LURN_FLOAT32, fn);
  if (dhn) {
    checkshape(L, dhn, 2, (int64_t[]){B, H}, fn, "dhn");
    dhn = contiguous(L, dhn);
  }
  lurn_tensor *dcn = field_tensor(L, 2, "dcn", LURN_FLOAT32, fn);
  if (dcn) {
    if (!lstm)
      luaL_error(L, "%s: dcn given, but only lstm has a cell state (kind %s)", fn,
                 lurn_cell_name(d->cell));
    checkshape(L, dcn, 2, (int64_t[]){B, H}, fn, "dcn");
    dcn = contiguous(L, dcn);
  }
  lurn_tensor *dw_ih = grad_field(L, "dw_ih", 2, (int64_t[]){GH, I}, fn);
  lurn_tensor *dw_hh = grad_field(L, "dw_hh", 2, (int64_t[]){GH, H}, fn);
  lurn_tensor *db_ih = grad_field(L, "db_ih", 1, (int64_t[]){GH}, fn);
  lurn_tensor *db_hh = grad_field(L, "db_hh", 1, (int64_t[]){GH}, fn);

  /* dx: false skips it, a tensor is written into, nil gets a fresh one */
  lua_getfield(L, 2, "dx");
  int dx_idx = lua_gettop(L), want_dx = !(lua_isboolean(L, -1) && !lua_toboolean(L, -1));
  lurn_tensor *dx = NULL;
  if (want_dx && !lua_isnil(L, -1)) {
    lua_pop(L, 1);
    dx = field_tensor(L, 2, "dx", LURN_FLOAT32, fn);
    dx_idx = lua_gettop(L);
    checkshape(L, dx, 3, (int64_t[]){T, B, I}, fn, "dx");
    if (!uniform_rows(dx, &lddx))
      luaL_error(L, "%s: dx must be a view whose [T,B] rows have one stride and unit last "
                 "stride", fn);
  }

  /* outputs dx, dh0, dc0 */
  if (dx) lua_pushvalue(L, dx_idx);
  else if (want_dx) dx = new_f32(L, 3, (int64_t[]){T, B, I});
  else lua_pushnil(L);
  lurn_tensor *dh0 = new_f32(L, 2, (int64_t[]){B, H});
  lurn_tensor *dc0 = NULL;
  if (lstm) dc0 = new_f32(L, 2, (int64_t[]){B, H});
  else lua_pushnil(L);

  rnn_scratch *work = push_scratch(L, lurn_rnn_bwd_work_floats(d), fn);
  /* as in rnn_forward: fields read and outputs allocated since the checks */
  const lurn_tensor *bwd_live[] = {dx, dw_ih, dw_hh, db_ih, db_hh, dy, dhn, dcn};
  const char *bwd_names[] = {"dx", "dw_ih", "dw_hh", "db_ih", "db_hh", "dy", "dhn", "dcn"};
  for (int i = 0; i < 8; i++)
    if (bwd_live[i]) lurn_checklive(L, bwd_live[i], fn, bwd_names[i]);
  lurn_status st = {0};
  int rc = lurn_rnn_backward(d, dx ? lurn_f32(dx) : NULL, lddx, lurn_f32(dh0),
                             dc0 ? lurn_f32(dc0) : NULL, dw_ih ? lurn_f32(dw_ih) : NULL,
                             dw_hh ? lurn_f32(dw_hh) : NULL, db_ih ? lurn_f32(db_ih) : NULL,
                             db_hh ? lurn_f32(db_hh) : NULL, dy ? lurn_f32(dy) : NULL, lddy,
                             dhn ? lurn_f32(dhn) : NULL, dcn ? lurn_f32(dcn) : NULL,
                             lurn_f32(&s->x), s->ldx, lurn_f32(&s->w_ih), lurn_f32(&s->w_hh),
                             s->cache, work->buf, &st);
  scratch_release(work);
  /* the cache now holds gate gradients: it cannot feed another backward */
  s->used = 1;
  state_release(s);
  if (rc) luaL_error(L, "%s: %s", fn, st.msg);
  lua_pop(L, 1);
  return 3;
}

/* ---- registration --------------------------------------------------------- */

static int state_free(lua_State *L) {
  state_release(checkstate(L, 1));
  return 0;
}

void lurn_open_rnn(lua_State *L) {
  static const luaL_Reg state_methods[] = {{"free", state_free}, {"bytes", state_bytes},
                                           {NULL, NULL}};
  static const luaL_Reg state_meta[] = {{"__gc", state_gc}, {"__close", state_gc},
                                        {"__tostring", state_tostring}, {NULL, NULL}};
  static const luaL_Reg scratch_meta[] = {{"__gc", scratch_gc}, {NULL, NULL}};
  static const luaL_Reg pool_meta[] = {{"__gc", pool_gc}, {NULL, NULL}};
  static const luaL_Reg funcs[] = {{"rnn_forward", l_rnn_forward},
                                   {"rnn_backward", l_rnn_backward}, {NULL, NULL}};
  lurn_createmeta(L, RNN_STATE_MT, state_methods, state_meta);
  lurn_createmeta(L, RNN_SCRATCH_MT, NULL, scratch_meta);
  lurn_createmeta(L, RNN_POOL_MT, NULL, pool_meta);
  /* one pool per lua_State; opening the module twice keeps the first */
  lua_rawgetp(L, LUA_REGISTRYINDEX, &pool_key);
  int have = !lua_isnil(L, -1);
  lua_pop(L, 1);
  if (!have) {
    rnn_pool *p = lua_newuserdatauv(L, sizeof *p, 0);
    memset(p, 0, sizeof *p);
    luaL_setmetatable(L, RNN_POOL_MT);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &pool_key);
  }
  luaL_setfuncs(L, funcs, 0);
}
