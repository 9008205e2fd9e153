/*
 * layers.c — Lua binding of the non-recurrent layers and losses
 * (src/core/layers.h). Plain functions on the module table; the nn library
 * (lua/lurn/nn/) wraps them into modules. Tensors in, fresh tensors out;
 * parameter gradients (dw, db) are existing tensors that are added to.
 * Ids, targets, argmax and lengths are int32 and 0-based, like PyTorch's.
 *
 * Each function is documented where it is defined below (`lurn doc
 * linear_forward`, docs/layers.md has the table).
 *
 * Losses return the loss as a Lua number and its gradient for an upstream
 * gradient of 1 (nil when opts.grad == false). An unknown option key is an
 * error naming the known ones, so a typo never silently falls back to a
 * default. Shape and value errors come from the core and name the layer and
 * the shapes ("linear: input [4,7] does not match weight [5,8] (expected
 * last dim 8)"); argument type errors are Lua's usual "bad argument #n to
 * 'linear_forward'".
 */
/***
 * @submodule lurn.core
 */

#include <string.h>

#include "bind.h"
#include "layers.h"

#define CHECK_ST(call) do { if ((call) != LURN_OK) return lurn_raise(L, &st); } while (0)

/* ---- argument helpers ------------------------------------------------------- */

/* A tensor at idx, or NULL when the argument is nil/absent. */
static lurn_tensor *opttensor(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : lurn_checktensor(L, idx);
}

/* A padding index at idx: nil or a negative number means none (-1). */
static int64_t optpadding(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx)) return -1;
  lua_Integer p = luaL_checkinteger(L, idx);
  return p < 0 ? -1 : (int64_t)p;
}

static lurn_pool checkpool(lua_State *L, int idx) {
  static const char *const names[] = {"mean", "max", "last", NULL};
  return (lurn_pool)luaL_checkoption(L, idx, NULL, names);
}

static lurn_activation checkact(lua_State *L, int idx) {
  static const char *const names[] = {"relu", "tanh", "sigmoid", NULL};
  return (lurn_activation)luaL_checkoption(L, idx, NULL, names);
}

/* The options table at idx (or nil): every key must be in `known`
 * (a NULL-terminated list); `fname` names the function in the error. */
static void checkopts(lua_State *L, int idx, const char *fname, const char *const *known) {
  if (lua_isnoneornil(L, idx)) return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);   // the value; keep the key for lua_next
    int ok = 0;
    if (lua_type(L, -1) == LUA_TSTRING)
      for (const char *const *k = known; *k && !ok; k++) ok = !strcmp(*k, lua_tostring(L, -1));
    if (!ok) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (const char *const *k = known; *k; k++) {
        if (k != known) luaL_addstring(&b, ", ");
        luaL_addstring(&b, *k);
      }
      luaL_pushresult(&b);                              // [key, known]
      const char *key = luaL_tolstring(L, -2, NULL);    // [key, known, key string]
      luaL_error(L, "%s: unknown option '%s' (known: %s)", fname, key, lua_tostring(L, -2));
    }
  }
}

/* opts[key] pushed on the stack (nil when opts is absent). */
static int getopt_(lua_State *L, int idx, const char *key) {
  if (lua_isnoneornil(L, idx)) { lua_pushnil(L); return LUA_TNIL; }
  return lua_getfield(L, idx, key);
}

/* opts[key] as a tensor, or NULL. Left on the stack (keeps it alive). */
static lurn_tensor *opt_tensor_field(lua_State *L, int idx, const char *key, const char *fname) {
  getopt_(L, idx, key);
  if (lua_isnil(L, -1)) return NULL;
  char what[64];
  snprintf(what, sizeof what, "option '%s'", key);
  return lurn_argtensor(L, -1, fname, what);
}

static lurn_reduction opt_reduction(lua_State *L, int idx, const char *fname) {
  getopt_(L, idx, "reduction");
  lurn_reduction r = LURN_REDUCE_MEAN;
  if (!lua_isnil(L, -1)) {
    const char *s = lua_tostring(L, -1);
    if (s && !strcmp(s, "mean")) r = LURN_REDUCE_MEAN;
    else if (s && !strcmp(s, "sum")) r = LURN_REDUCE_SUM;
    else luaL_error(L, "%s: reduction must be 'mean' or 'sum', got '%s'", fname,
                    luaL_tolstring(L, -1, NULL));
  }
  lua_pop(L, 1);
  return r;
}

static int opt_grad(lua_State *L, int idx) {
  getopt_(L, idx, "grad");
  int g = lua_isnil(L, -1) ? 1 : lua_toboolean(L, -1);
  lua_pop(L, 1);
  return g;
}

/* ---- Linear ------------------------------------------------------------------- */

/*** lurn.core.linear_forward(x, w [, b]) — y = x w^T + b over the last dim (the kernel under nn.Linear).
 * Strided views of x go to BLIS as they are.
 * @function linear_forward
 * @tparam Tensor x float32 [..., I]
 * @tparam Tensor w [O, I]
 * @tparam[opt] Tensor b [O]
 * @treturn Tensor y [..., O]
 * @usage local y = lurn.core.linear_forward(lurn.randn(4, 3), lurn.randn(2, 3), lurn.zeros(2))   -- [4,2]
 */
static int l_linear_forward(lua_State *L) {
  lurn_tensor *x = lurn_checktensor(L, 1), *w = lurn_checktensor(L, 2), *b = opttensor(L, 3);
  lurn_status st;
  lurn_tensor *y = lurn_newtensor(L);
  CHECK_ST(lurn_linear_forward(y, x, w, b, &st));
  return 1;
}

/*** lurn.core.linear_backward(x, w, dy [, dw [, db]]) — dx = dy w; adds dy^T x to dw and the column sums of dy to db.
 * dw and db are existing gradient tensors, added to (never overwritten); nil skips one.
 * @function linear_backward
 * @tparam Tensor x [N, I] (the forward's input)
 * @tparam Tensor w [O, I]
 * @tparam Tensor dy [N, O]
 * @tparam[opt] Tensor dw [O, I]
 * @tparam[opt] Tensor db [O]
 * @treturn Tensor dx [N, I]
 * @usage local dw = lurn.zeros(2, 3)
 * local dx = lurn.core.linear_backward(lurn.randn(4, 3), lurn.randn(2, 3), lurn.ones(4, 2), dw)
 */
static int l_linear_backward(lua_State *L) {
  lurn_tensor *x = lurn_checktensor(L, 1), *w = lurn_checktensor(L, 2);
  lurn_tensor *dy = lurn_checktensor(L, 3), *dw = opttensor(L, 4), *db = opttensor(L, 5);
  lurn_status st;
  lurn_tensor *dx = lurn_newtensor(L);
  CHECK_ST(lurn_linear_backward(dx, dw, db, dy, x, w, &st));
  return 1;
}

/* ---- Embedding ---------------------------------------------------------------- */

/*** lurn.core.embedding_forward(ids, w [, padding]) — the rows of w for each id: [...] -> [..., D] (under nn.Embedding).
 * Ids are int32 and 0-based; the padding id (nil or -1: none) gives a zero row.
 * An id outside [0, V) is an error naming its 1-based position.
 * @function embedding_forward
 * @tparam Tensor ids int32 [...]
 * @tparam Tensor w [V, D]
 * @tparam[opt] integer padding
 * @treturn Tensor [..., D]
 * @usage local e = lurn.core.embedding_forward(lurn.tensor({{1, 0}}, "int32"), lurn.randn(5, 4), 0)   -- [1,2,4]
 */
static int l_embedding_forward(lua_State *L) {
  lurn_tensor *ids = lurn_checktensor(L, 1), *w = lurn_checktensor(L, 2);
  int64_t pad = optpadding(L, 3);
  lurn_status st;
  lurn_tensor *out = lurn_newtensor(L);
  CHECK_ST(lurn_embedding_forward(out, ids, w, pad, &st));
  return 1;
}

/*** lurn.core.embedding_backward(ids, dout, dw [, padding]) — add dout to the rows of dw its ids name (repeated ids accumulate; the padding row gets nothing).
 * @function embedding_backward
 * @tparam Tensor ids int32 [...]
 * @tparam Tensor dout [..., D]
 * @tparam Tensor dw [V, D], added to
 * @tparam[opt] integer padding
 * @usage local dw = lurn.zeros(5, 4)
 * lurn.core.embedding_backward(lurn.tensor({{1, 1}}, "int32"), lurn.ones(1, 2, 4), dw)   -- row 1 gets 2s
 */
static int l_embedding_backward(lua_State *L) {
  lurn_tensor *ids = lurn_checktensor(L, 1), *dout = lurn_checktensor(L, 2);
  lurn_tensor *dw = lurn_checktensor(L, 3);
  int64_t pad = optpadding(L, 4);
  lurn_status st;
  CHECK_ST(lurn_embedding_backward(dw, dout, ids, pad, &st));
  return 0;
}

/*** lurn.core.embedding_rows(ids, vocab [, padding]) — the distinct ids but the padding id, ascending: the rows of dw embedding_backward writes (lurn.dist sends only these).
 * @function embedding_rows
 * @tparam Tensor ids int32 [...]
 * @tparam integer vocab V, the rows of the weight
 * @tparam[opt] integer padding
 * @treturn Tensor int32 [k]
 * @usage lurn.core.embedding_rows(lurn.tensor({{4, 1}, {0, 4}}, "int32"), 5, 0)   -- {1, 4}
 */
static int l_embedding_rows(lua_State *L) {
  lurn_tensor *ids = lurn_checktensor(L, 1);
  lua_Integer V = luaL_checkinteger(L, 2);
  int64_t pad = optpadding(L, 3);
  lurn_status st;
  lurn_tensor *out = lurn_newtensor(L);
  CHECK_ST(lurn_embedding_rows(out, ids, (int64_t)V, pad, &st));
  return 1;
}

/* ---- Dropout ------------------------------------------------------------------ */

/*** lurn.core.dropout_mask(shape, p) — a float32 mask: 0 with probability p, else 1/(1-p) (drawn from the global generator).
 * shape is {d0, d1, ...} or the sizes d0, d1, ... followed by p.
 * @function dropout_mask
 * @tparam table shape
 * @tparam number p in [0, 1)
 * @treturn Tensor
 * @usage local mask = lurn.core.dropout_mask({1, 4, 8}, 0.3)   -- one mask per sequence over [T, 4, 8]
 */
static int l_dropout_mask(lua_State *L) {
  int64_t size[LURN_MAXDIM];
  int ndim, top = lua_gettop(L);
  if (lua_istable(L, 1)) {
    ndim = lurn_checkshape(L, 1, size, "dropout_mask");
    if (top != 2) luaL_error(L, "dropout_mask: expected (shape, p), got %d arguments", top);
  } else {
    /* dropout_mask(d0, d1, ..., p): every argument a number, the last one p */
    for (int i = 1; i <= top; i++) luaL_checknumber(L, i);
    if (top < 1) luaL_error(L, "dropout_mask: expected (shape, p)");
    if (top - 1 > LURN_MAXDIM) luaL_error(L, "dropout_mask: at most %d dims", LURN_MAXDIM);
    ndim = top - 1;
    for (int i = 0; i < ndim; i++) size[i] = (int64_t)luaL_checkinteger(L, i + 1);
  }
  double p = luaL_checknumber(L, top);
  lurn_status st;
  lurn_tensor *m = lurn_newtensor(L);
  CHECK_ST(lurn_dropout_mask(m, lurn_rng_global(), ndim, size, p, &st));
  return 1;
}

/*** lurn.core.dropout_forward(x, mask) — x * mask, the mask broadcast (a [1, B, D] mask over [T, B, D] is variational dropout); dropout_backward(dy, mask) likewise.
 * @function dropout_forward
 * @also dropout_backward
 * @tparam Tensor x
 * @tparam Tensor mask broadcastable to x
 * @treturn Tensor
 * @usage local y = lurn.core.dropout_forward(lurn.randn(5, 4, 8), lurn.core.dropout_mask({1, 4, 8}, 0.3))
 */
static int l_dropout_forward(lua_State *L) {
  lurn_tensor *x = lurn_checktensor(L, 1), *mask = lurn_checktensor(L, 2);
  lurn_status st;
  lurn_tensor *y = lurn_newtensor(L);
  CHECK_ST(lurn_dropout_forward(y, x, mask, &st));
  return 1;
}

static int l_dropout_backward(lua_State *L) {
  lurn_tensor *dy = lurn_checktensor(L, 1), *mask = lurn_checktensor(L, 2);
  lurn_status st;
  lurn_tensor *dx = lurn_newtensor(L);
  CHECK_ST(lurn_dropout_backward(dx, dy, mask, &st));
  return 1;
}

/* ---- Activations and softmax -------------------------------------------------- */

/*** lurn.core.activation_forward(kind, x) — relu, tanh or sigmoid of every element; activation_backward(kind, dy, y) is its gradient from the output y.
 * @function activation_forward
 * @also activation_backward
 * @tparam string kind "relu", "tanh" or "sigmoid"
 * @tparam Tensor x float32
 * @treturn Tensor
 * @usage local y = lurn.core.activation_forward("tanh", lurn.randn(3))
 * local dx = lurn.core.activation_backward("tanh", lurn.ones(3), y)
 */
static int l_activation_forward(lua_State *L) {
  lurn_activation act = checkact(L, 1);
  lurn_tensor *x = lurn_checktensor(L, 2);
  lurn_status st;
  lurn_tensor *y = lurn_newtensor(L);
  CHECK_ST(lurn_activation_forward(y, act, x, &st));
  return 1;
}

static int l_activation_backward(lua_State *L) {
  lurn_activation act = checkact(L, 1);
  lurn_tensor *dy = lurn_checktensor(L, 2), *y = lurn_checktensor(L, 3);
  lurn_status st;
  lurn_tensor *dx = lurn_newtensor(L);
  CHECK_ST(lurn_activation_backward(dx, act, dy, y, &st));
  return 1;
}

/*** lurn.core.softmax(x) — softmax over the last dim (the max subtracted first); softmax_backward(dy, y) is its gradient from the output y.
 * @function softmax
 * @also softmax_backward
 * @tparam Tensor x float32
 * @treturn Tensor
 * @usage local p = lurn.core.softmax(lurn.randn(2, 5))   -- rows sum to 1
 */
static int l_softmax(lua_State *L) {
  lurn_tensor *x = lurn_checktensor(L, 1);
  lurn_status st;
  lurn_tensor *y = lurn_newtensor(L);
  CHECK_ST(lurn_softmax_forward(y, x, &st));
  return 1;
}

/*** lurn.core.log_softmax(x) — log softmax over the last dim; log_softmax_backward(dy, y) is its gradient from the output y.
 * @function log_softmax
 * @also log_softmax_backward
 * @tparam Tensor x float32
 * @treturn Tensor
 * @usage local lp = lurn.core.log_softmax(lurn.randn(2, 5))
 */
static int l_log_softmax(lua_State *L) {
  lurn_tensor *x = lurn_checktensor(L, 1);
  lurn_status st;
  lurn_tensor *y = lurn_newtensor(L);
  CHECK_ST(lurn_log_softmax_forward(y, x, &st));
  return 1;
}

static int l_softmax_backward(lua_State *L) {
  lurn_tensor *dy = lurn_checktensor(L, 1), *y = lurn_checktensor(L, 2);
  lurn_status st;
  lurn_tensor *dx = lurn_newtensor(L);
  CHECK_ST(lurn_softmax_backward(dx, dy, y, &st));
  return 1;
}

static int l_log_softmax_backward(lua_State *L) {
  lurn_tensor *dy = lurn_checktensor(L, 1), *y = lurn_checktensor(L, 2);
  lurn_status st;
  lurn_tensor *dx = lurn_newtensor(L);
  CHECK_ST(lurn_log_softmax_backward(dx, dy, y, &st));
  return 1;
}

/* ---- Pool --------------------------------------------------------------------- */

/*** lurn.core.pool_forward(kind, x [, lengths]) — [T, B, D] pooled over each sample's valid steps to [B, D] (under nn.Pool).
 * kind "mean", "max" or "last"; for max, aux holds the argmax steps (int32
 * [B, D]) that pool_backward needs, else nil. A length of 0 pools to zeros.
 * @function pool_forward
 * @tparam string kind
 * @tparam Tensor x float32 [T, B, D]
 * @tparam[opt] Tensor lengths int32 [B], each in 0..T
 * @treturn Tensor y [B, D]
 * @treturn Tensor|nil aux
 * @usage local y, aux = lurn.core.pool_forward("max", lurn.randn(5, 2, 3), lurn.tensor({5, 2}, "int32"))
 */
static int l_pool_forward(lua_State *L) {
  lurn_pool kind = checkpool(L, 1);
  lurn_tensor *x = lurn_checktensor(L, 2), *lengths = opttensor(L, 3);
  lurn_status st;
  lurn_tensor *y = lurn_newtensor(L);
  lurn_tensor *am = NULL;
  if (kind == LURN_POOL_MAX) am = lurn_newtensor(L);
  else lua_pushnil(L);
  CHECK_ST(lurn_pool_forward(y, am, kind, x, lengths, &st));
  return 2;
}

/*** lurn.core.pool_backward(kind, dy, lengths, aux, T) — the gradient of pool_forward: [B, D] -> [T, B, D], zero at padded steps.
 * @function pool_backward
 * @tparam string kind
 * @tparam Tensor dy [B, D]
 * @tparam Tensor|nil lengths
 * @tparam Tensor|nil aux pool_forward's second result
 * @tparam integer T steps of the input
 * @treturn Tensor dx [T, B, D]
 * @usage local lengths = lurn.tensor({5, 2}, "int32")
 * local y, aux = lurn.core.pool_forward("max", lurn.randn(5, 2, 3), lengths)
 * local dx = lurn.core.pool_backward("max", lurn.ones(2, 3), lengths, aux, 5)   -- [5,2,3]
 */
static int l_pool_backward(lua_State *L) {
  lurn_pool kind = checkpool(L, 1);
  lurn_tensor *dy = lurn_checktensor(L, 2), *lengths = opttensor(L, 3), *am = opttensor(L, 4);
  lua_Integer T = luaL_checkinteger(L, 5);
  lurn_status st;
  lurn_tensor *dx = lurn_newtensor(L);
  CHECK_ST(lurn_pool_backward(dx, kind, dy, lengths, am, (int64_t)T, &st));
  return 1;
}

/* ---- Losses ------------------------------------------------------------------- */

/* Return loss, grad: the gradient userdata (if wanted) is on top already. */
static int push_loss(lua_State *L, double loss, int want_grad) {
  lua_pushnumber(L, loss);
  if (want_grad) lua_insert(L, -2);   // [grad, loss] -> [loss, grad]
  else lua_pushnil(L);
  return 2;
}

/*** lurn.core.cross_entropy(logits, targets [, opts]) — softmax cross-entropy and its gradient (under nn.CrossEntropy).
 * logits [N, C] with int32 targets [N] (0-based), or [T, B, C] with [T, B].
 * The mean is weighted: sum w[t]*nll / sum w[t]; 0 when no target counts.
 * Options (default first):
 *   reduction = "mean"    or "sum"
 *   weight = nil          class weights [C]
 *   ignore_index = -100
 *   lengths = nil         int32 [B], per-step form only: steps past a length are not read
 *   grad = true           false: no gradient (evaluation)
 * @function cross_entropy
 * @tparam Tensor logits
 * @tparam Tensor targets int32
 * @tparam[opt] table opts the options above
 * @treturn number loss
 * @treturn Tensor|nil dlogits for an upstream gradient of 1
 * @usage local loss, d = lurn.core.cross_entropy(lurn.randn(4, 3), lurn.tensor({0, 2, 1, 1}, "int32"))
 */
static int l_cross_entropy(lua_State *L) {
  static const char *const known[] = {"weight", "ignore_index", "reduction", "lengths", "grad",
                                      NULL};
  lurn_tensor *logits = lurn_checktensor(L, 1), *targets = lurn_checktensor(L, 2);
  checkopts(L, 3, "cross_entropy", known);
  lurn_ce_opts o;
  lurn_ce_opts_init(&o);
  o.weight = opt_tensor_field(L, 3, "weight", "cross_entropy");
  o.lengths = opt_tensor_field(L, 3, "lengths", "cross_entropy");
  getopt_(L, 3, "ignore_index");
  if (!lua_isnil(L, -1)) {
    int ok;
    lua_Integer ii = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "cross_entropy: ignore_index must be an integer, got %s",
                        luaL_typename(L, -1));
    o.ignore_index = (int64_t)ii;
  }
  lua_pop(L, 1);
  o.reduction = opt_reduction(L, 3, "cross_entropy");
  int want_grad = opt_grad(L, 3);
  lurn_status st;
  double loss = 0;
  lurn_tensor *g = want_grad ? lurn_newtensor(L) : NULL;
  CHECK_ST(lurn_cross_entropy(&loss, g, logits, targets, &o, &st));
  return push_loss(L, loss, want_grad);
}

/*** lurn.core.bce_with_logits(x, target [, opts]) — sigmoid + binary cross-entropy and its gradient (under nn.BCEWithLogits).
 * Targets in [0, 1], x's shape. Options: reduction = "mean" (over all
 * elements) or "sum", pos_weight = [C] (over the last dim), grad = true.
 * @function bce_with_logits
 * @tparam Tensor x
 * @tparam Tensor target
 * @tparam[opt] table opts
 * @treturn number loss
 * @treturn Tensor|nil dx
 * @usage local loss, dx = lurn.core.bce_with_logits(lurn.randn(3), lurn.tensor {1, 0, 1})
 */
static int l_bce_with_logits(lua_State *L) {
  static const char *const known[] = {"pos_weight", "reduction", "grad", NULL};
  lurn_tensor *x = lurn_checktensor(L, 1), *t = lurn_checktensor(L, 2);
  checkopts(L, 3, "bce_with_logits", known);
  lurn_tensor *pw = opt_tensor_field(L, 3, "pos_weight", "bce_with_logits");
  lurn_reduction red = opt_reduction(L, 3, "bce_with_logits");
  int want_grad = opt_grad(L, 3);
  lurn_status st;
  double loss = 0;
  lurn_tensor *g = want_grad ? lurn_newtensor(L) : NULL;
  CHECK_ST(lurn_bce_with_logits(&loss, g, x, t, pw, red, &st));
  return push_loss(L, loss, want_grad);
}

/*** lurn.core.mse(x, target [, opts]) — mean (or sum) of (x - target)^2 and its gradient (under nn.MSE).
 * Options: reduction = "mean" or "sum", grad = true.
 * @function mse
 * @tparam Tensor x
 * @tparam Tensor target x's shape
 * @tparam[opt] table opts
 * @treturn number loss
 * @treturn Tensor|nil dx
 * @usage local loss = lurn.core.mse(lurn.zeros(3), lurn.ones(3))   -- 1
 */
static int l_mse(lua_State *L) {
  static const char *const known[] = {"reduction", "grad", NULL};
  lurn_tensor *x = lurn_checktensor(L, 1), *t = lurn_checktensor(L, 2);
  checkopts(L, 3, "mse", known);
  lurn_reduction red = opt_reduction(L, 3, "mse");
  int want_grad = opt_grad(L, 3);
  lurn_status st;
  double loss = 0;
  lurn_tensor *g = want_grad ? lurn_newtensor(L) : NULL;
  CHECK_ST(lurn_mse(&loss, g, x, t, red, &st));
  return push_loss(L, loss, want_grad);
}

/* ---- registration --------------------------------------------------------------- */

static const luaL_Reg layer_funcs[] = {
  {"linear_forward", l_linear_forward},         {"linear_backward", l_linear_backward},
  {"embedding_forward", l_embedding_forward},   {"embedding_backward", l_embedding_backward},
  {"embedding_rows", l_embedding_rows},
  {"dropout_mask", l_dropout_mask},             {"dropout_forward", l_dropout_forward},
  {"dropout_backward", l_dropout_backward},
  {"activation_forward", l_activation_forward}, {"activation_backward", l_activation_backward},
  {"softmax", l_softmax},                       {"softmax_backward", l_softmax_backward},
  {"log_softmax", l_log_softmax},               {"log_softmax_backward", l_log_softmax_backward},
  {"pool_forward", l_pool_forward},             {"pool_backward", l_pool_backward},
  {"cross_entropy", l_cross_entropy},           {"bce_with_logits", l_bce_with_logits},
  {"mse", l_mse},
  {NULL, NULL}
};

void lurn_open_layers(lua_State *L) { luaL_setfuncs(L, layer_funcs, 0); }
