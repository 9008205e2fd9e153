/*
 * optim.c — Lua bindings of the optimizer update rules and gradient clipping
 * (src/core/optim.h). The library `lurn.optim` builds optimizer objects,
 * parameter groups and schedules on these.
 *
 * One regular shape for every optimizer: hyperparameters and state are two
 * separate tables, and one call updates one parameter tensor in place.
 *
 *   core.sgd_step(param, grad, state, hyper)     -> step
 *   core.adam_step(param, grad, state, hyper)    -> step
 *   core.adamw_step(param, grad, state, hyper)   -> step
 *   core.adam_step(param, grad, state, hyper, width) -> step, rows updated
 *       param a table of rows of `width` (an embedding): with hyper.lazy,
 *       rows whose gradient is all zero are left alone (LazyAdam; optim.h)
 *   core.rmsprop_step(param, grad, state, hyper) -> step
 *   core.adagrad_step(param, grad, state, hyper) -> step
 *
 *     param, grad  float32 contiguous tensors with the same shape
 *     state        a table owned by the caller, one per parameter. It holds
 *                  `step` (integer, 0 when absent) and the buffers as float32
 *                  tensors shaped like param, named as in PyTorch's
 *                  optimizer state_dict:
 *                    sgd      momentum_buffer                (momentum != 0)
 *                    adam(w)  exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad)
 *                    rmsprop  square_avg, grad_avg (centered),
 *                             momentum_buffer (momentum > 0)
 *                    adagrad  sum (starts at initial_accumulator_value)
 *                  Missing buffers are created on the first step; `step` is
 *                  incremented and also returned. Nothing in `hyper` lives in
 *                  `state`, so changing lr between steps never resets it.
 *     hyper        the hyperparameters; absent keys take PyTorch's defaults
 *                  (core.optim_defaults(name)), unknown keys are an error:
 *                    sgd      lr, momentum, dampening, weight_decay, nesterov, maximize
 *                    adam(w)  lr, betas = {b1, b2}, eps, weight_decay, amsgrad, maximize,
 *                             lazy (with a width only)
 *                    rmsprop  lr, alpha, eps, weight_decay, momentum, centered, maximize
 *                    adagrad  lr, lr_decay, weight_decay, initial_accumulator_value,
 *                             eps, maximize
 *
 *   core.optim_defaults(name) -> hyper table with every key at its default
 *
 *   core.clip_grad_norm({tensors}, max_norm [, norm_type = 2]) -> total_norm
 *       The global norm of all tensors together (norm_type a number > 0 or
 *       math.huge), computed in double in a fixed order; if it exceeds
 *       max_norm every tensor is scaled by max_norm / (total_norm + 1e-6).
 *       Returns the norm before clipping. A NaN/Inf norm leaves the tensors
 *       untouched (use check_finite to find where it came from).
 *   core.clip_grad_value({tensors}, clip)   clamp every element into [-clip, clip]
 *   core.average_update({averages}, {tensors}, decay)
 *       averages[k] = decay * averages[k] + (1 - decay) * tensors[k] (an
 *       exponential moving average of parameters; the lists pair up, each
 *       pair the same size)
 *   core.check_finite({tensors}) -> nil | i, element
 *       nil when every element is finite; otherwise the 1-based position in
 *       the list of the first tensor holding a NaN/Inf, and the 1-based
 *       element in that tensor (row-major).
 *
 * The clip/check functions take float32 contiguous tensors (gradients are).
 */
/***
 * @submodule lurn.core
 */

#include <math.h>
#include <string.h>

#include "bind.h"
#include "optim.h"

/* ---- argument helpers ------------------------------------------------------ */

/* A live float32 contiguous tensor at idx. */
static lurn_tensor *check_flat(lua_State *L, int idx, const char *fn, const char *what) {
  lurn_tensor *t = lurn_argtensor(L, idx, fn, what);
  if (t->dtype != LURN_FLOAT32)
    luaL_error(L, "%s: %s must be float32, got %s", fn, what, lurn_dtype_name(t->dtype));
  if (!lurn_is_contiguous(t)) {
    char sh[128];
    luaL_error(L, "%s: %s %s must be contiguous (call :contiguous())", fn, what,
               lurn_tensor_shape_str(t, sh, sizeof sh));
  }
  return t;
}

/* The data of a tensor checked earlier in this call, checked again: a Lua
 * call made since (a metamethod of `state` or `hyper`, a finalizer run by an
 * allocation) may have released it. Called after the binding's last Lua
 * call, so the pointer stays valid through the core update. */
static float *live_data(lua_State *L, const lurn_tensor *t, const char *fn, const char *what) {
  lurn_checklive(L, t, fn, what);
  return lurn_f32(t);
}

static void check_same_shape(lua_State *L, const lurn_tensor *p, const lurn_tensor *g,
                             const char *fn, const char *what) {
  if (!lurn_same_shape(p, g)) {
    char a[128], b[128];
    luaL_error(L, "%s: %s has shape %s but param has %s", fn, what,
               lurn_tensor_shape_str(g, a, sizeof a), lurn_tensor_shape_str(p, b, sizeof b));
  }
}

/* A hyperparameter table: its keys must all be in `known` (NULL-terminated). */
static void check_known_keys(lua_State *L, int idx, const char *fn, const char *const *known) {
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    int ok = 0;
    if (lua_type(L, -1) == LUA_TSTRING) {
      const char *k = lua_tostring(L, -1);
      for (int i = 0; known[i] && !ok; i++) ok = strcmp(k, known[i]) == 0;
    }
    if (!ok) {
      luaL_Buffer b;
      luaL_buffinit(L, &b);
      for (int i = 0; known[i]; i++) {
        if (i) luaL_addstring(&b, ", ");
        luaL_addstring(&b, known[i]);
      }
      luaL_pushresult(&b);
      const char *list = lua_tostring(L, -1);
      const char *key = luaL_tolstring(L, -2, NULL);
      luaL_error(L, "%s: unknown option '%s' (known: %s)", fn, key, list);
    }
  }
}

static double opt_number(lua_State *L, int idx, const char *key, double def, const char *fn) {
  double v = def;
  int t = lua_getfield(L, idx, key);
  if (t == LUA_TNUMBER) v = lua_tonumber(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "%s: option '%s' must be a number, got %s", fn, key, luaL_typename(L, -1));
  lua_pop(L, 1);
  return v;
}

static int opt_bool(lua_State *L, int idx, const char *key, int def, const char *fn) {
  int v = def;
  int t = lua_getfield(L, idx, key);
  if (t == LUA_TBOOLEAN) v = lua_toboolean(L, -1);
  else if (t != LUA_TNIL)
    luaL_error(L, "%s: option '%s' must be a boolean, got %s", fn, key, luaL_typename(L, -1));
  lua_pop(L, 1);
  return v;
}

static int64_t get_step(lua_State *L, int state, const char *fn) {
  int t = lua_getfield(L, state, "step");
  int ok = 1;
  lua_Integer s = t == LUA_TNIL ? 0 : lua_tointegerx(L, -1, &ok);
  if (!ok || s < 0) luaL_error(L, "%s: state.step must be a non-negative integer", fn);
  lua_pop(L, 1);
  return (int64_t)s;
}

static void set_step(lua_State *L, int state, int64_t step) {
  lua_pushinteger(L, (lua_Integer)step);
  lua_setfield(L, state, "step");
}

/* state[name] as a float32 buffer shaped like param: checked if present,
 * created (zero-filled) when absent and `create`. *fresh says it was created.
 * The buffer is left on the stack (so it outlives any change to `state`
 * during the call); returns NULL, with nothing pushed, when absent and not
 * created. */
static lurn_tensor *state_buffer(lua_State *L, int state, const char *name,
                                 const lurn_tensor *param, int create, int *fresh,
                                 const char *fn) {
  if (fresh) *fresh = 0;
  int t = lua_getfield(L, state, name);
  if (t == LUA_TNIL) {
    lua_pop(L, 1);
    if (!create) return NULL;
    lurn_tensor *b = lurn_newtensor(L);
    lurn_status st = {0};
    if (lurn_tensor_new(b, LURN_FLOAT32, param->ndim, param->size, &st)) lurn_raise(L, &st);
    lua_pushvalue(L, -1);
    lua_setfield(L, state, name);  // the state table owns it from now on
    if (fresh) *fresh = 1;
    return b;
  }
  char what[64];
  snprintf(what, sizeof what, "state.%s", name);
  lurn_tensor *b = check_flat(L, -1, fn, what);
  check_same_shape(L, param, b, fn, what);
  return b;
}

/* The common head of every *_step: param, grad, state, hyper. */
static void step_args(lua_State *L, const char *fn, const char *const *known, lurn_tensor **p,
                      lurn_tensor **g) {
  *p = check_flat(L, 1, fn, "param");
  *g = check_flat(L, 2, fn, "grad");
  check_same_shape(L, *p, *g, fn, "grad");
  luaL_checktype(L, 3, LUA_TTABLE);
  if (lua_isnoneornil(L, 4)) {
    lua_settop(L, 3);
    lua_newtable(L);
  }
  check_known_keys(L, 4, fn, known);
}

/* ---- SGD ---------------------------------------------------------------------- */

static const char *const SGD_KEYS[] = {"lr", "momentum", "dampening", "weight_decay", "nesterov",
                                       "maximize", NULL};

static lurn_sgd_config sgd_hyper(lua_State *L, int idx, const char *fn) {
  lurn_sgd_config c = lurn_sgd_defaults();
  c.lr = opt_number(L, idx, "lr", c.lr, fn);
  c.momentum = opt_number(L, idx, "momentum", c.momentum, fn);
  c.dampening = opt_number(L, idx, "dampening", c.dampening, fn);
  c.weight_decay = opt_number(L, idx, "weight_decay", c.weight_decay, fn);
  c.nesterov = opt_bool(L, idx, "nesterov", c.nesterov, fn);
  c.maximize = opt_bool(L, idx, "maximize", c.maximize, fn);
  return c;
}

/*** lurn.core.sgd_step(param, grad, state, hyper) — one SGD update of one parameter in place (PyTorch 1.13's formulas); returns the new step count.
 * The same shape for every optimizer: adam_step, adamw_step, rmsprop_step and
 * adagrad_step take (param, grad, state, hyper) too. state is the caller's
 * table for this parameter: `step` and the buffers named as in PyTorch's
 * state_dict (momentum_buffer; exp_avg, exp_avg_sq, max_exp_avg_sq;
 * square_avg, grad_avg; sum), created on the first step. hyper holds the
 * hyperparameters only (missing keys: optim_defaults(name); unknown keys are
 * errors), so changing lr never resets the state. lurn.optim builds on these.
 * @function sgd_step
 * @also adam_step adamw_step rmsprop_step adagrad_step
 * @tparam Tensor param float32, contiguous
 * @tparam Tensor grad param's shape
 * @tparam table state
 * @tparam table hyper
 * @treturn integer step
 * @usage local w, g, s = lurn.ones(3), lurn.ones(3), {}
 * lurn.core.adam_step(w, g, s, {lr = 0.1})   -- s.exp_avg, s.exp_avg_sq, s.step == 1
 */
static int l_sgd_step(lua_State *L) {
  const char *fn = "sgd_step";
  lurn_tensor *p, *g;
  step_args(L, fn, SGD_KEYS, &p, &g);
  lurn_sgd_config c = sgd_hyper(L, 4, fn);
  lurn_status st = {0};
  if (lurn_sgd_check(&c, &st)) lurn_raise(L, &st);  // before any buffer is made
  lurn_sgd_state s = {get_step(L, 3, fn), NULL, 1};
  int fresh = 0;
  lurn_tensor *mb = NULL;
  if (c.momentum != 0) {
    mb = state_buffer(L, 3, "momentum_buffer", p, 1, &fresh, fn);
    s.momentum_buffer_set = !fresh;
  }
  // no Lua calls from here to the update
  float *pd = live_data(L, p, fn, "param"), *gd = live_data(L, g, fn, "grad");
  if (mb) s.momentum_buffer = live_data(L, mb, fn, "state.momentum_buffer");
  if (lurn_sgd_step(pd, gd, &s, lurn_numel(p), &c, &st)) lurn_raise(L, &st);
  set_step(L, 3, s.step);
  lua_pushinteger(L, (lua_Integer)s.step);
  return 1;
}

/* ---- Adam / AdamW ------------------------------------------------------------- */

static const char *const ADAM_KEYS[] = {"lr", "betas", "eps", "weight_decay", "amsgrad",
                                        "maximize", "lazy", NULL};

static lurn_adam_config adam_hyper(lua_State *L, int idx, lurn_adam_config c, const char *fn) {
  c.lr = opt_number(L, idx, "lr", c.lr, fn);
  c.eps = opt_number(L, idx, "eps", c.eps, fn);
  c.weight_decay = opt_number(L, idx, "weight_decay", c.weight_decay, fn);
  c.amsgrad = opt_bool(L, idx, "amsgrad", c.amsgrad, fn);
  c.maximize = opt_bool(L, idx, "maximize", c.maximize, fn);
  c.lazy = opt_bool(L, idx, "lazy", c.lazy, fn);
  int t = lua_getfield(L, idx, "betas");
  if (t != LUA_TNIL) {
    if (t != LUA_TTABLE || luaL_len(L, -1) != 2)
      luaL_error(L, "%s: option 'betas' must be a table {beta1, beta2}", fn);
    lua_geti(L, -1, 1);
    lua_geti(L, -2, 2);
    if (!lua_isnumber(L, -2) || !lua_isnumber(L, -1))
      luaL_error(L, "%s: option 'betas' must hold two numbers", fn);
    c.beta1 = lua_tonumber(L, -2);
    c.beta2 = lua_tonumber(L, -1);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return c;
}

static int adam_common(lua_State *L, int decoupled) {
  const char *fn = decoupled ? "adamw_step" : "adam_step";
  lurn_tensor *p, *g;
  step_args(L, fn, ADAM_KEYS, &p, &g);
  lurn_adam_config c =
      adam_hyper(L, 4, decoupled ? lurn_adamw_defaults() : lurn_adam_defaults(), fn);
  lurn_status st = {0};
  int bad = decoupled ? lurn_adamw_check(&c, &st) : lurn_adam_check(&c, &st);
  if (bad) lurn_raise(L, &st);
  /* a table of rows of `width` (5th argument): the *_rows step */
  const int64_t n = lurn_numel(p);
  int64_t width = 0;
  if (!lua_isnoneornil(L, 5)) {
    width = (int64_t)luaL_checkinteger(L, 5);
    if (width <= 0 || n % width)
      return luaL_error(L, "%s: width %I does not divide the parameter's %I elements into rows",
                        fn, (lua_Integer)width, (lua_Integer)n);
  }
  lurn_adam_state s = {get_step(L, 3, fn), NULL, NULL, NULL};
  lurn_tensor *m1 = state_buffer(L, 3, "exp_avg", p, 1, NULL, fn);
  lurn_tensor *m2 = state_buffer(L, 3, "exp_avg_sq", p, 1, NULL, fn);
  lurn_tensor *mx = c.amsgrad ? state_buffer(L, 3, "max_exp_avg_sq", p, 1, NULL, fn) : NULL;
  // no Lua calls from here to the update
  float *pd = live_data(L, p, fn, "param"), *gd = live_data(L, g, fn, "grad");
  s.exp_avg = live_data(L, m1, fn, "state.exp_avg");
  s.exp_avg_sq = live_data(L, m2, fn, "state.exp_avg_sq");
  if (mx) s.max_exp_avg_sq = live_data(L, mx, fn, "state.max_exp_avg_sq");
  int64_t rows = 0;
  int rc;
  if (width)
    rc = decoupled ? lurn_adamw_step_rows(pd, gd, &s, n / width, width, &c, &rows, &st)
                   : lurn_adam_step_rows(pd, gd, &s, n / width, width, &c, &rows, &st);
  else
    rc = decoupled ? lurn_adamw_step(pd, gd, &s, n, &c, &st) : lurn_adam_step(pd, gd, &s, n, &c, &st);
  if (rc) lurn_raise(L, &st);
  set_step(L, 3, s.step);
  lua_pushinteger(L, (lua_Integer)s.step);
  if (!width) return 1;
  lua_pushinteger(L, (lua_Integer)rows);
  return 2;
}

static int l_adam_step(lua_State *L) { return adam_common(L, 0); }
static int l_adamw_step(lua_State *L) { return adam_common(L, 1); }

/* ---- RMSprop ------------------------------------------------------------------ */

static const char *const RMSPROP_KEYS[] = {"lr", "alpha", "eps", "weight_decay", "momentum",
                                           "centered", "maximize", NULL};

static lurn_rmsprop_config rmsprop_hyper(lua_State *L, int idx, const char *fn) {
  lurn_rmsprop_config c = lurn_rmsprop_defaults();
  c.lr = opt_number(L, idx, "lr", c.lr, fn);
  c.alpha = opt_number(L, idx, "alpha", c.alpha, fn);
  c.eps = opt_number(L, idx, "eps", c.eps, fn);
  c.weight_decay = opt_number(L, idx, "weight_decay", c.weight_decay, fn);
  c.momentum = opt_number(L, idx, "momentum", c.momentum, fn);
  c.centered = opt_bool(L, idx, "centered", c.centered, fn);
  c.maximize = opt_bool(L, idx, "maximize", c.maximize, fn);
  return c;
}

static int l_rmsprop_step(lua_State *L) {
  const char *fn = "rmsprop_step";
  lurn_tensor *p, *g;
  step_args(L, fn, RMSPROP_KEYS, &p, &g);
  lurn_rmsprop_config c = rmsprop_hyper(L, 4, fn);
  lurn_status st = {0};
  if (lurn_rmsprop_check(&c, &st)) lurn_raise(L, &st);
  lurn_rmsprop_state s = {get_step(L, 3, fn), NULL, NULL, NULL};
  lurn_tensor *sq = state_buffer(L, 3, "square_avg", p, 1, NULL, fn);
  lurn_tensor *ga = c.centered ? state_buffer(L, 3, "grad_avg", p, 1, NULL, fn) : NULL;
  lurn_tensor *mb = c.momentum > 0 ? state_buffer(L, 3, "momentum_buffer", p, 1, NULL, fn) : NULL;
  // no Lua calls from here to the update
  float *pd = live_data(L, p, fn, "param"), *gd = live_data(L, g, fn, "grad");
  s.square_avg = live_data(L, sq, fn, "state.square_avg");
  if (ga) s.grad_avg = live_data(L, ga, fn, "state.grad_avg");
  if (mb) s.momentum_buffer = live_data(L, mb, fn, "state.momentum_buffer");
  if (lurn_rmsprop_step(pd, gd, &s, lurn_numel(p), &c, &st)) lurn_raise(L, &st);
  set_step(L, 3, s.step);
  lua_pushinteger(L, (lua_Integer)s.step);
  return 1;
}

/* ---- Adagrad ------------------------------------------------------------------ */

static const char *const ADAGRAD_KEYS[] = {"lr", "lr_decay", "weight_decay",
                                           "initial_accumulator_value", "eps", "maximize", NULL};

static lurn_adagrad_config adagrad_hyper(lua_State *L, int idx, const char *fn) {
  lurn_adagrad_config c = lurn_adagrad_defaults();
  c.lr = opt_number(L, idx, "lr", c.lr, fn);
  c.lr_decay = opt_number(L, idx, "lr_decay", c.lr_decay, fn);
  c.weight_decay = opt_number(L, idx, "weight_decay", c.weight_decay, fn);
  c.initial_accumulator_value =
      opt_number(L, idx, "initial_accumulator_value", c.initial_accumulator_value, fn);
  c.eps = opt_number(L, idx, "eps", c.eps, fn);
  c.maximize = opt_bool(L, idx, "maximize", c.maximize, fn);
  return c;
}

static int l_adagrad_step(lua_State *L) {
  const char *fn = "adagrad_step";
  lurn_tensor *p, *g;
  step_args(L, fn, ADAGRAD_KEYS, &p, &g);
  lurn_adagrad_config c = adagrad_hyper(L, 4, fn);
  lurn_status st = {0};
  if (lurn_adagrad_check(&c, &st)) lurn_raise(L, &st);
  lurn_adagrad_state s = {get_step(L, 3, fn), NULL};
  int fresh = 0;
  lurn_tensor *sum = state_buffer(L, 3, "sum", p, 1, &fresh, fn);
  // no Lua calls from here to the update
  float *pd = live_data(L, p, fn, "param"), *gd = live_data(L, g, fn, "grad");
  s.sum = live_data(L, sum, fn, "state.sum");
  if (fresh) lurn_adagrad_init(s.sum, lurn_numel(p), &c);
  if (lurn_adagrad_step(pd, gd, &s, lurn_numel(p), &c, &st)) lurn_raise(L, &st);
  set_step(L, 3, s.step);
  lua_pushinteger(L, (lua_Integer)s.step);
  return 1;
}

/* ---- defaults ------------------------------------------------------------------- */

static void set_num(lua_State *L, const char *k, double v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, k);
}

static void set_bool(lua_State *L, const char *k, int v) {
  lua_pushboolean(L, v);
  lua_setfield(L, -2, k);
}

/*** lurn.core.optim_defaults(name) — every hyperparameter of an optimizer at its default (PyTorch's).
 * @function optim_defaults
 * @tparam string name "sgd", "adam", "adamw", "rmsprop" or "adagrad"
 * @treturn table
 * @usage print(lurn.core.optim_defaults("adamw").weight_decay)   -- 0.01
 */
static int l_optim_defaults(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_newtable(L);
  if (strcmp(name, "sgd") == 0) {
    lurn_sgd_config c = lurn_sgd_defaults();
    set_num(L, "lr", c.lr), set_num(L, "momentum", c.momentum);
    set_num(L, "dampening", c.dampening), set_num(L, "weight_decay", c.weight_decay);
    set_bool(L, "nesterov", c.nesterov), set_bool(L, "maximize", c.maximize);
  } else if (strcmp(name, "adam") == 0 || strcmp(name, "adamw") == 0) {
    lurn_adam_config c = name[4] ? lurn_adamw_defaults() : lurn_adam_defaults();
    set_num(L, "lr", c.lr);
    lua_createtable(L, 2, 0);
    lua_pushnumber(L, c.beta1), lua_rawseti(L, -2, 1);
    lua_pushnumber(L, c.beta2), lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "betas");
    set_num(L, "eps", c.eps), set_num(L, "weight_decay", c.weight_decay);
    set_bool(L, "amsgrad", c.amsgrad), set_bool(L, "maximize", c.maximize);
    set_bool(L, "lazy", c.lazy);
  } else if (strcmp(name, "rmsprop") == 0) {
    lurn_rmsprop_config c = lurn_rmsprop_defaults();
    set_num(L, "lr", c.lr), set_num(L, "alpha", c.alpha), set_num(L, "eps", c.eps);
    set_num(L, "weight_decay", c.weight_decay), set_num(L, "momentum", c.momentum);
    set_bool(L, "centered", c.centered), set_bool(L, "maximize", c.maximize);
  } else if (strcmp(name, "adagrad") == 0) {
    lurn_adagrad_config c = lurn_adagrad_defaults();
    set_num(L, "lr", c.lr), set_num(L, "lr_decay", c.lr_decay);
    set_num(L, "weight_decay", c.weight_decay);
    set_num(L, "initial_accumulator_value", c.initial_accumulator_value);
    set_num(L, "eps", c.eps), set_bool(L, "maximize", c.maximize);
  } else {
    return luaL_argerror(L, 1, lua_pushfstring(L, "unknown optimizer '%s' (sgd, adam, adamw, "
                                               "rmsprop, adagrad)", name));
  }
  return 1;
}

/* ---- clipping ------------------------------------------------------------------- */

/* The list {t1, t2, ...} at idx as pointer and size arrays in a userdata
 * (collected by the GC, so raising later leaks nothing). Returns count.
 * Two passes: the first reads the list (lua_geti may run an __index
 * metamethod) and anchors each tensor in a fresh table; the second, with no
 * Lua call left, checks each is still alive and takes its data pointer. */
static int tensor_list(lua_State *L, int idx, const char *fn, float ***xs, int64_t **ns) {
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer n = luaL_len(L, idx);
  if (n < 0 || n > 1000000)
    luaL_error(L, "%s: the tensor list has length %I (0 to 1000000)", fn, n);
  size_t cap = (size_t)(n ? n : 1);
  char *mem = lua_newuserdatauv(L, cap * (sizeof(float *) + sizeof(int64_t) + sizeof(lurn_tensor *)), 0);
  *ns = (int64_t *)mem;
  *xs = (float **)(mem + cap * sizeof(int64_t));
  lurn_tensor **ts = (lurn_tensor **)(mem + cap * (sizeof(int64_t) + sizeof(float *)));
  lua_createtable(L, (int)n, 0);   // anchors the tensors until the call returns
  int anchor = lua_gettop(L);
  char what[48];
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, idx, i);
    snprintf(what, sizeof what, "tensor %lld of the list", (long long)i);
    ts[i - 1] = check_flat(L, -1, fn, what);
    lua_rawseti(L, anchor, i);
  }
  for (lua_Integer i = 1; i <= n; i++) {
    snprintf(what, sizeof what, "tensor %lld of the list", (long long)i);
    (*xs)[i - 1] = live_data(L, ts[i - 1], fn, what);
    (*ns)[i - 1] = lurn_numel(ts[i - 1]);
  }
  return (int)n;
}

/*** lurn.core.clip_grad_norm(tensors, max_norm [, norm_type]) — scale the tensors together so that their global norm is at most max_norm; returns the norm before.
 * The norm is computed in double in a fixed order; above max_norm every tensor
 * is scaled by max_norm / (norm + 1e-6). A NaN/Inf norm leaves them untouched.
 * optim.clip_grad_norm takes parameter records.
 * @function clip_grad_norm
 * @tparam {Tensor,...} tensors float32, contiguous
 * @tparam number max_norm
 * @tparam[opt] number norm_type > 0 or math.huge, default 2
 * @treturn number
 * @usage local norm = lurn.core.clip_grad_norm({lurn.full({4}, 3)}, 1)   -- 6
 */
static int l_clip_grad_norm(lua_State *L) {
  double max_norm = luaL_checknumber(L, 2);
  double norm_type = luaL_optnumber(L, 3, 2.0);
  float **xs;
  int64_t *ns;
  int n = tensor_list(L, 1, "clip_grad_norm", &xs, &ns);  // pushes past the arguments
  double total = 0;
  lurn_status st = {0};
  if (lurn_clip_grad_norm(xs, ns, n, max_norm, norm_type, &total, &st)) lurn_raise(L, &st);
  lua_pushnumber(L, total);
  return 1;
}

/*** lurn.core.clip_grad_value(tensors, clip) — clamp every element of the tensors into [-clip, clip] in place.
 * @function clip_grad_value
 * @tparam {Tensor,...} tensors float32, contiguous
 * @tparam number clip
 * @usage lurn.core.clip_grad_value({lurn.randn(5)}, 0.5)
 */
static int l_clip_grad_value(lua_State *L) {
  double clip = luaL_checknumber(L, 2);
  float **xs;
  int64_t *ns;
  int n = tensor_list(L, 1, "clip_grad_value", &xs, &ns);
  lurn_status st = {0};
  if (lurn_clip_grad_value(xs, ns, n, clip, &st)) lurn_raise(L, &st);
  return 0;
}

/*** lurn.core.check_finite(tensors) — nil when every element is finite, else the 1-based position in the list of the first tensor with a NaN/Inf and the 1-based element in it.
 * @function check_finite
 * @tparam {Tensor,...} tensors float32, contiguous
 * @treturn integer|nil i
 * @treturn integer|nil element
 * @usage local i, e = lurn.core.check_finite({lurn.ones(2), lurn.tensor {1, 0/0}})   -- 2, 2
 */
static int l_check_finite(lua_State *L) {
  float **xs;
  int64_t *ns;
  int n = tensor_list(L, 1, "check_finite", &xs, &ns);
  int which = 0;
  int64_t elem = 0;
  if (!lurn_find_nonfinite((const float *const *)xs, ns, n, &which, &elem)) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushinteger(L, which + 1);
  lua_pushinteger(L, (lua_Integer)elem + 1);
  return 2;
}

/*** lurn.core.average_update(averages, tensors, decay) — averages[k] = decay * averages[k] + (1 - decay) * tensors[k], in place.
 * The exponential moving average of parameters behind train.fit's `average`
 * (Polyak averaging). The two lists pair up by position; each pair holds the
 * same number of elements.
 * @function average_update
 * @tparam {Tensor,...} averages float32, contiguous; updated
 * @tparam {Tensor,...} tensors float32, contiguous
 * @tparam number decay in [0, 1]
 * @usage local a = lurn.zeros(3)
 * lurn.core.average_update({a}, {lurn.ones(3)}, 0.9)   -- a = {0.1, 0.1, 0.1}
 */
static int l_average_update(lua_State *L) {
  double decay = luaL_checknumber(L, 3);
  float **as, **xs;
  int64_t *nas, *nxs;
  int na = tensor_list(L, 1, "average_update", &as, &nas);
  int nx = tensor_list(L, 2, "average_update", &xs, &nxs);
  if (na != nx) luaL_error(L, "average_update: %d averages for %d tensors", na, nx);
  for (int k = 0; k < na; k++)
    if (nas[k] != nxs[k])
      luaL_error(L, "average_update: average %d holds %I elements, tensor %d holds %I", k + 1,
                 (lua_Integer)nas[k], k + 1, (lua_Integer)nxs[k]);
  lurn_status st = {0};
  if (lurn_average_update(as, (const float *const *)xs, nxs, na, decay, &st)) lurn_raise(L, &st);
  return 0;
}

static const luaL_Reg optim_funcs[] = {
    {"sgd_step", l_sgd_step},
    {"adam_step", l_adam_step},
    {"adamw_step", l_adamw_step},
    {"rmsprop_step", l_rmsprop_step},
    {"adagrad_step", l_adagrad_step},
    {"optim_defaults", l_optim_defaults},
    {"clip_grad_norm", l_clip_grad_norm},
    {"clip_grad_value", l_clip_grad_value},
    {"check_finite", l_check_finite},
    {"average_update", l_average_update},
    {NULL, NULL},
};

void lurn_open_optim(lua_State *L) { luaL_setfuncs(L, optim_funcs, 0); }
