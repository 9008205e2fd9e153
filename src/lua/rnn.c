/*
 * rnn.c — Lua binding of the recurrent kernels (src/core/rnn.h): one layer,
 * one direction, the whole sequence. nn.RNN/LSTM/GRU (lua/lurn/nn/
 * Recurrent.lua) compose layers and directions on top of it.
 *
 *   y, hn, cn, state = core.rnn_forward{
 *       kind = "lstm" | "gru" | "rnn_tanh" | "rnn_relu",
 *       x = [T, B, I], lengths = int32 [B] | nil, reverse = false,
 *       h0 = [B, H] | nil, c0 = [B, H] | nil (LSTM),
 *       w_ih = [G*H, I], w_hh = [G*H, H], b_ih = [G*H] | nil, b_hh = [G*H] | nil,
 *       training = true,     -- false: no cache, no state, minimal memory
 *       y = [T, B, H] view | nil }   -- write y into it (e.g. one half of a
 *                                     -- [T, B, 2H] bidirectional output)
 *     cn is nil for cells other than LSTM; state is nil when not training.
 *
 *   dx, dh0, dc0 = core.rnn_backward(state, {
 *       dy = [T, B, H] | nil, dhn = [B, H] | nil, dcn = [B, H] | nil,
 *       dw_ih =, dw_hh =, db_ih =, db_hh =   -- gradients, ACCUMULATED (+=)
 *       dx = [T, B, I] view | nil })          -- write dx into it
 *     A state feeds one backward (the kernel reuses its cache).
 *
 * Sequences go to the kernel as a pointer and a row stride, so a view whose
 * rows (t, b) are evenly spaced with unit element stride is used in place
 * (a narrow of a wider [T, B, W] tensor is); anything else is copied once.
 * Weights and gradient accumulators must be contiguous float32.
 */
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "rnn.h"

#define RNN_STATE_MT "lurn.RNNState"

/* What one backward needs from its forward. Every tensor holds one ref. */
typedef struct rnn_state {
  lurn_rnn_desc d;
  int consumed;
  lurn_tensor x, lengths, w_ih, w_hh, cache;
  int64_t ldx;
} rnn_state;

static int state_gc(lua_State *L) {
  rnn_state *s = luaL_checkudata(L, 1, RNN_STATE_MT);
  lurn_tensor_release(&s->x);
  lurn_tensor_release(&s->lengths);
  lurn_tensor_release(&s->w_ih);
  lurn_tensor_release(&s->w_hh);
  lurn_tensor_release(&s->cache);
  s->consumed = 1;
  return 0;
}

static int state_tostring(lua_State *L) {
  rnn_state *s = luaL_checkudata(L, 1, RNN_STATE_MT);
  lua_pushfstring(L, "lurn.RNNState(%s, T=%I, B=%I, H=%I%s)", lurn_cell_name(s->d.cell),
                  (lua_Integer)s->d.T, (lua_Integer)s->d.B, (lua_Integer)s->d.H,
                  s->consumed ? ", used" : "");
  return 1;
}

/* Row stride of a [T, B, W] view whose rows (t, b) are evenly spaced with
 * unit element stride, or -1 when it is not laid out that way. */
static int64_t row_stride(const lurn_tensor *t) {
  if (t->ndim != 3) return -1;
  if (t->size[2] > 1 && t->stride[2] != 1) return -1;
  int64_t ld = t->size[1] > 1 ? t->stride[1] : (t->size[0] > 1 ? t->stride[0] : t->size[2]);
  if (t->size[1] > 1 && t->size[0] > 1 && t->stride[0] != t->size[1] * ld) return -1;
  if (ld < t->size[2]) return -1;
  return ld;
}

static void shape_error(lua_State *L, const char *fn, const char *what, const lurn_tensor *t,
                        int ndim, const int64_t *want) {
  char a[96], b[96];
  lurn_shape_str(a, sizeof a, ndim, want);
  luaL_error(L, "%s: %s must be float32 %s, got %s %s", fn, what, a,
             lurn_tensor_shape_str(t, b, sizeof b), lurn_dtype_name(t->dtype));
}

/* The tensor field `k` of the table at idx, or NULL when absent. */
static lurn_tensor *field_tensor(lua_State *L, int idx, const char *k, const char *fn) {
  lua_getfield(L, idx, k);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return NULL;
  }
  lurn_tensor *t = lurn_totensor(L, -1);
  if (!t || !t->storage) luaL_error(L, "%s: field '%s' must be a tensor", fn, k);
  lua_pop(L, 1);  /* the table keeps it alive */
  return t;
}

/* A contiguous float32 tensor of exactly `want` shape (or an error). */
static void check_exact(lua_State *L, const char *fn, const char *what, const lurn_tensor *t,
                        int ndim, const int64_t *want, int need_contiguous) {
  int ok = t->dtype == LURN_FLOAT32 && t->ndim == ndim;
  for (int i = 0; ok && i < ndim; i++) ok = t->size[i] == want[i];
  if (!ok) shape_error(L, fn, what, t, ndim, want);
  if (need_contiguous && !lurn_is_contiguous(t))
    luaL_error(L, "%s: %s must be contiguous", fn, what);
}

/* Contiguous version of t in *out (a shared ref or a copy). */
static void contig(lua_State *L, lurn_tensor *out, const lurn_tensor *t) {
  lurn_status st;
  if (lurn_contiguous(out, t, &st)) lurn_raise(L, &st);
}

static const char *known_fwd[] = {"kind", "x", "lengths", "reverse", "h0", "c0", "w_ih",
                                  "w_hh", "b_ih", "b_hh", "training", "y", NULL};
static const char *known_bwd[] = {"dy", "dhn", "dcn", "dw_ih", "dw_hh", "db_ih", "db_hh", "dx",
                                  NULL};

/* A misspelt option must not silently fall back to a default. */
static void check_keys(lua_State *L, int idx, const char **known, const char *fn) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    int ok = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (const char **k = known; *k && !ok; k++) ok = !strcmp(*k, lua_tostring(L, -1));
    if (!ok) luaL_error(L, "%s: unknown field '%s'", fn, luaL_tolstring(L, -1, NULL));
  }
}

static int l_rnn_forward(lua_State *L) {
  const char *fn = "rnn_forward";
  luaL_checktype(L, 1, LUA_TTABLE);
  check_keys(L, 1, known_fwd, fn);
  lua_getfield(L, 1, "kind");
  const char *kind = luaL_optstring(L, -1, "lstm");
  int cell = lurn_cell_parse(kind);
  if (cell < 0) luaL_error(L, "%s: unknown kind '%s' (lstm, gru, rnn_tanh, rnn_relu)", fn, kind);
  lua_pop(L, 1);
  lua_getfield(L, 1, "reverse");
  int reverse = lua_toboolean(L, -1);
  lua_getfield(L, 1, "training");
  int training = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  lua_pop(L, 2);

  lurn_tensor *x = field_tensor(L, 1, "x", fn);
  lurn_tensor *w_ih = field_tensor(L, 1, "w_ih", fn), *w_hh = field_tensor(L, 1, "w_hh", fn);
  if (!x || !w_ih || !w_hh) luaL_error(L, "%s: x, w_ih and w_hh are required", fn);
  if (x->dtype != LURN_FLOAT32 || x->ndim != 3) {
    char b[96];
    luaL_error(L, "%s: x must be float32 [T, B, I], got %s %s", fn,
               lurn_tensor_shape_str(x, b, sizeof b), lurn_dtype_name(x->dtype));
  }
  int64_t G = lurn_cell_gates(cell);
  int64_t T = x->size[0], B = x->size[1], I = x->size[2];
  if (w_hh->ndim != 2 || w_hh->size[0] % G || w_hh->size[0] != G * w_hh->size[1]) {
    char b[96];
    luaL_error(L, "%s: w_hh must be float32 [%I*H, H] for %s, got %s", fn, (lua_Integer)G,
               lurn_cell_name(cell), lurn_tensor_shape_str(w_hh, b, sizeof b));
  }
  int64_t H = w_hh->size[1];
  int64_t s_ih[2] = {G * H, I}, s_hh[2] = {G * H, H}, s_b[1] = {G * H}, s_h[2] = {B, H};
  check_exact(L, fn, "w_ih", w_ih, 2, s_ih, 0);
  check_exact(L, fn, "w_hh", w_hh, 2, s_hh, 0);
  lurn_tensor *b_ih = field_tensor(L, 1, "b_ih", fn), *b_hh = field_tensor(L, 1, "b_hh", fn);
  if (b_ih) check_exact(L, fn, "b_ih", b_ih, 1, s_b, 0);
  if (b_hh) check_exact(L, fn, "b_hh", b_hh, 1, s_b, 0);
  lurn_tensor *h0 = field_tensor(L, 1, "h0", fn), *c0 = field_tensor(L, 1, "c0", fn);
  if (h0) check_exact(L, fn, "h0", h0, 2, s_h, 0);
  if (c0) check_exact(L, fn, "c0", c0, 2, s_h, 0);
  lurn_tensor *len = field_tensor(L, 1, "lengths", fn);
  if (len && (len->dtype != LURN_INT32 || len->ndim != 1 || len->size[0] != B)) {
    char b[96];
    luaL_error(L, "%s: lengths must be int32 [%I], got %s %s", fn, (lua_Integer)B,
               lurn_tensor_shape_str(len, b, sizeof b), lurn_dtype_name(len->dtype));
  }
  lurn_tensor *yv = field_tensor(L, 1, "y", fn);
  int64_t s_y[3] = {T, B, H};
  if (yv) check_exact(L, fn, "y", yv, 3, s_y, 0);

  /* The state userdata first: it owns every ref taken below, so an error
   * anywhere after this point leaks nothing. */
  rnn_state *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, RNN_STATE_MT);
  int state_idx = lua_gettop(L);
  lurn_status st;

  int64_t ldx = row_stride(x);
  if (ldx < 0) {
    contig(L, &s->x, x);
    ldx = I;
  } else {
    lurn_tensor_share(&s->x, x);
  }
  s->ldx = ldx;
  contig(L, &s->w_ih, w_ih);
  contig(L, &s->w_hh, w_hh);
  if (len) contig(L, &s->lengths, len);
  s->d.cell = (lurn_cell)cell;
  s->d.T = T, s->d.B = B, s->d.I = I, s->d.H = H;
  s->d.lengths = len ? lurn_i32(&s->lengths) : NULL;
  s->d.reverse = reverse;
  if (lurn_rnn_check(&s->d, &st)) return lurn_raise(L, &st);

  /* outputs: y (given view or new), hn, cn */
  lurn_tensor *y;
  int64_t ldy = yv ? row_stride(yv) : -1;
  int y_in_place = ldy >= 0;
  if (y_in_place) {
    lurn_pushshare(L, yv);
    y = lurn_checktensor(L, -1);
  } else {
    y = lurn_newtensor(L);
    if (lurn_tensor_new(y, LURN_FLOAT32, 3, s_y, &st)) return lurn_raise(L, &st);
    ldy = H;
  }
  int y_idx = lua_gettop(L);
  lurn_tensor *hn = lurn_newtensor(L);
  if (lurn_tensor_new(hn, LURN_FLOAT32, 2, s_h, &st)) return lurn_raise(L, &st);
  lurn_tensor *cn = NULL;
  if (cell == LURN_LSTM) {
    cn = lurn_newtensor(L);
    if (lurn_tensor_new(cn, LURN_FLOAT32, 2, s_h, &st)) return lurn_raise(L, &st);
  } else {
    lua_pushnil(L);
  }

  /* scratch: contiguous small inputs and the workspace, held in a table of
   * tensors so the GC frees them whatever happens */
  lurn_tensor *h0c = NULL, *c0c = NULL, *bic = NULL, *bhc = NULL;
  lua_createtable(L, 6, 0);
  int scratch = lua_gettop(L);
  const lurn_tensor *srcs[4] = {h0, c0, b_ih, b_hh};
  lurn_tensor **dsts[4] = {&h0c, &c0c, &bic, &bhc};
  for (int i = 0; i < 4; i++) {
    if (!srcs[i]) continue;
    lurn_tensor *t = lurn_newtensor(L);
    contig(L, t, srcs[i]);
    *dsts[i] = t;
    lua_rawseti(L, scratch, i + 1);
  }
  int64_t nwork = (int64_t)lurn_rnn_work_floats(&s->d, training);
  lurn_tensor *work = lurn_newtensor(L);
  if (lurn_tensor_new(work, LURN_FLOAT32, 1, &nwork, &st)) return lurn_raise(L, &st);
  lua_rawseti(L, scratch, 5);
  if (training) {
    int64_t ncache = (int64_t)lurn_rnn_cache_floats(&s->d);
    if (lurn_tensor_new(&s->cache, LURN_FLOAT32, 1, &ncache, &st)) return lurn_raise(L, &st);
  }

  if (lurn_rnn_forward(&s->d, lurn_f32(y), ldy, lurn_f32(hn), cn ? lurn_f32(cn) : NULL,
                       lurn_f32(&s->x), ldx, h0c ? lurn_f32(h0c) : NULL,
                       c0c ? lurn_f32(c0c) : NULL, lurn_f32(&s->w_ih), lurn_f32(&s->w_hh),
                       bic ? lurn_f32(bic) : NULL, bhc ? lurn_f32(bhc) : NULL,
                       training ? lurn_f32(&s->cache) : NULL, lurn_f32(work), &st))
    return lurn_raise(L, &st);

  /* a y view that is not laid out as rows got a fresh tensor: copy it in */
  if (yv && !y_in_place) {
    if (lurn_copy(yv, y, &st)) return lurn_raise(L, &st);
    lurn_pushshare(L, yv);
    lua_replace(L, y_idx);
  }
  lua_settop(L, scratch - 1);   /* ..., state, y, hn, cn */
  if (training) {
    lua_pushvalue(L, state_idx);
  } else {
    lua_pushcfunction(L, state_gc);   /* inference: drop the refs now */
    lua_pushvalue(L, state_idx);
    lua_call(L, 1, 0);
    lua_pushnil(L);
  }
  return 4;
}

static int l_rnn_backward(lua_State *L) {
  const char *fn = "rnn_backward";
  rnn_state *s = luaL_checkudata(L, 1, RNN_STATE_MT);
  if (s->consumed || !s->cache.storage)
    luaL_error(L, "%s: this state was already used by a backward (one forward feeds one "
                  "backward)", fn);
  if (lua_isnoneornil(L, 2)) lua_newtable(L), lua_replace(L, 2);
  luaL_checktype(L, 2, LUA_TTABLE);
  check_keys(L, 2, known_bwd, fn);
  const lurn_rnn_desc *d = &s->d;
  int64_t G = lurn_cell_gates(d->cell), T = d->T, B = d->B, I = d->I, H = d->H;
  int64_t s_ih[2] = {G * H, I}, s_hh[2] = {G * H, H}, s_b[1] = {G * H}, s_h[2] = {B, H};
  int64_t s_y[3] = {T, B, H}, s_x[3] = {T, B, I};

  lurn_tensor *dy = field_tensor(L, 2, "dy", fn);
  lurn_tensor *dhn = field_tensor(L, 2, "dhn", fn), *dcn = field_tensor(L, 2, "dcn", fn);
  lurn_tensor *dw_ih = field_tensor(L, 2, "dw_ih", fn), *dw_hh = field_tensor(L, 2, "dw_hh", fn);
  lurn_tensor *db_ih = field_tensor(L, 2, "db_ih", fn), *db_hh = field_tensor(L, 2, "db_hh", fn);
  lurn_tensor *dxv = field_tensor(L, 2, "dx", fn);
  if (dy) check_exact(L, fn, "dy", dy, 3, s_y, 0);
  if (dhn) check_exact(L, fn, "dhn", dhn, 2, s_h, 0);
  if (dcn) check_exact(L, fn, "dcn", dcn, 2, s_h, 0);
  if (dw_ih) check_exact(L, fn, "dw_ih", dw_ih, 2, s_ih, 1);
  if (dw_hh) check_exact(L, fn, "dw_hh", dw_hh, 2, s_hh, 1);
  if (db_ih) check_exact(L, fn, "db_ih", db_ih, 1, s_b, 1);
  if (db_hh) check_exact(L, fn, "db_hh", db_hh, 1, s_b, 1);
  if (dxv) check_exact(L, fn, "dx", dxv, 3, s_x, 0);

  lurn_status st;
  lua_createtable(L, 4, 0);
  int scratch = lua_gettop(L);
  /* dy as rows, dhn/dcn contiguous */
  int64_t lddy = H;
  lurn_tensor *dyc = NULL, *dhnc = NULL, *dcnc = NULL;
  if (dy) {
    dyc = lurn_newtensor(L);
    if ((lddy = row_stride(dy)) >= 0) lurn_tensor_share(dyc, dy);
    else contig(L, dyc, dy), lddy = H;
    lua_rawseti(L, scratch, 1);
  }
  if (dhn) {
    dhnc = lurn_newtensor(L);
    contig(L, dhnc, dhn);
    lua_rawseti(L, scratch, 2);
  }
  if (dcn) {
    dcnc = lurn_newtensor(L);
    contig(L, dcnc, dcn);
    lua_rawseti(L, scratch, 3);
  }
  int64_t nwork = (int64_t)lurn_rnn_bwd_work_floats(d);
  lurn_tensor *work = lurn_newtensor(L);
  if (lurn_tensor_new(work, LURN_FLOAT32, 1, &nwork, &st)) return lurn_raise(L, &st);
  lua_rawseti(L, scratch, 4);

  /* outputs: dx (into the given view when it is laid out as rows), dh0, dc0 */
  lurn_tensor *dx;
  int64_t lddx;
  int into_view = dxv && (lddx = row_stride(dxv)) >= 0;
  if (into_view) {
    dx = lurn_pushshare(L, dxv);
  } else {
    dx = lurn_newtensor(L);
    if (lurn_tensor_new(dx, LURN_FLOAT32, 3, s_x, &st)) return lurn_raise(L, &st);
    lddx = I;
  }
  int dx_idx = lua_gettop(L);
  lurn_tensor *dh0 = lurn_newtensor(L);
  if (lurn_tensor_new(dh0, LURN_FLOAT32, 2, s_h, &st)) return lurn_raise(L, &st);
  lurn_tensor *dc0 = NULL;
  if (d->cell == LURN_LSTM) {
    dc0 = lurn_newtensor(L);
    if (lurn_tensor_new(dc0, LURN_FLOAT32, 2, s_h, &st)) return lurn_raise(L, &st);
  } else {
    lua_pushnil(L);
  }

  s->consumed = 1;
  if (lurn_rnn_backward(d, lurn_f32(dx), lddx, lurn_f32(dh0), dc0 ? lurn_f32(dc0) : NULL,
                        dw_ih ? lurn_f32(dw_ih) : NULL, dw_hh ? lurn_f32(dw_hh) : NULL,
                        db_ih ? lurn_f32(db_ih) : NULL, db_hh ? lurn_f32(db_hh) : NULL,
                        dyc ? lurn_f32(dyc) : NULL, lddy, dhnc ? lurn_f32(dhnc) : NULL,
                        dcnc ? lurn_f32(dcnc) : NULL, lurn_f32(&s->x), s->ldx,
                        lurn_f32(&s->w_ih), lurn_f32(&s->w_hh), lurn_f32(&s->cache),
                        lurn_f32(work), &st))
    return lurn_raise(L, &st);
  if (dxv && !into_view) {
    if (lurn_copy(dxv, dx, &st)) return lurn_raise(L, &st);
    lurn_pushshare(L, dxv);
    lua_replace(L, dx_idx);
  }
  /* the cache is spent: let it go now rather than at the next GC */
  lurn_tensor_release(&s->cache);
  return 3;
}

static const luaL_Reg state_meta[] = {
  {"__gc", state_gc}, {"__close", state_gc}, {"__tostring", state_tostring}, {NULL, NULL}
};

void lurn_open_rnn(lua_State *L) {
  luaL_newmetatable(L, RNN_STATE_MT);
  luaL_setfuncs(L, state_meta, 0);
  lua_pop(L, 1);
  lua_pushcfunction(L, l_rnn_forward);
  lua_setfield(L, -2, "rnn_forward");
  lua_pushcfunction(L, l_rnn_backward);
  lua_setfield(L, -2, "rnn_backward");
}
