/*
 * tensor.c — the `lurn.Tensor` userdata: constructors, views, arithmetic,
 * reductions and matrix products, on top of src/core/tensor.h.
 *
 * Indexing rule for the Lua side: *positions* in calls (dims, get/set
 * indices, narrow starts, select indices) are 1-based like Lua tables, and a
 * negative position counts from the end (-1 is the last). *Values* stored in
 * tensors that index something (token ids, class labels, argmax results,
 * randperm, multinomial) are 0-based like PyTorch's, so they line up with
 * weight rows and with data saved by PyTorch.
 *
 * Every function allocates its output userdata before calling the core, so
 * a failing core call leaves only a released tensor for the GC to collect.
 */
/***
 * @submodule lurn.core
 */

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bind.h"
#include "rng.h"

/* ---- shared helpers (declared in bind.h) ---------------------------------- */

/*** t:free() — release the tensor's storage now instead of at garbage collection.
 * Freeing twice is harmless; using a freed tensor is an error naming it. A
 * `local x <close> = ...` variable frees at the end of its scope.
 * @function Tensor:free
 * @usage local big = lurn.zeros(1000, 1000); big:free()
 */
static int tensor_gc(lua_State *L) {
  lurn_tensor *t = luaL_checkudata(L, 1, LURN_TENSOR_MT);
  lurn_tensor_release(t);
  return 0;
}

lurn_tensor *lurn_totensor(lua_State *L, int idx) {
  return luaL_testudata(L, idx, LURN_TENSOR_MT);
}

lurn_tensor *lurn_checktensor(lua_State *L, int idx) {
  lurn_tensor *t = luaL_checkudata(L, idx, LURN_TENSOR_MT);
  if (!t->storage) luaL_argerror(L, idx, "tensor has been released");
  return t;
}

lurn_tensor *lurn_argtensor(lua_State *L, int idx, const char *fname, const char *what) {
  lurn_tensor *t = luaL_testudata(L, idx, LURN_TENSOR_MT);
  if (!t) luaL_error(L, "%s: %s must be a tensor, got %s", fname, what, luaL_typename(L, idx));
  if (!t->storage) luaL_error(L, "%s: %s has been released", fname, what);
  return t;
}

void lurn_checklive(lua_State *L, const lurn_tensor *t, const char *fname, const char *what) {
  if (!t->storage) luaL_error(L, "%s: %s has been released", fname, what);
}

lurn_tensor *lurn_checkf32(lua_State *L, int idx, const char *what) {
  lurn_tensor *t = lurn_checktensor(L, idx);
  if (t->dtype != LURN_FLOAT32)
    luaL_error(L, "%s: expected a float32 tensor, got %s", what, lurn_dtype_name(t->dtype));
  return t;
}

/* Lua's collector sees ~100-byte userdata, not the megabytes of storage
 * behind them, so left alone it lets dead tensors pile up and a training
 * loop's memory grow. Collect whenever tensor memory has grown by a quarter
 * of what survived the last collection plus 16 MiB: a collection of lurn's
 * small Lua heaps costs well under a millisecond, and a training step at
 * H=512 allocates tens of MiB. Peak RSS of a GRU step there (bench/): 242 MB
 * at 1.5x + 16 MiB, 217 MB at this setting; speed unchanged. */
static int64_t g_gc_baseline = 0;
static int g_gc_young = 0;   /* 1: the state runs Lua's generational collector */

void lurn_gc_generational(lua_State *L) {
  lua_gc(L, LUA_GCGEN, 0, 0);
  g_gc_young = 1;
}

static void gc_pressure(lua_State *L) {
  const int64_t base = g_gc_baseline;
  if (lurn_storage_bytes() <= base + base / 4 + ((int64_t)16 << 20)) return;
  if (g_gc_young) {
    lua_gc(L, LUA_GCSTEP, 0);   /* generational: a young collection */
    if (lurn_storage_bytes() <= base + base / 8 + ((int64_t)8 << 20)) return;
  }
  lua_gc(L, LUA_GCCOLLECT);
  g_gc_baseline = lurn_storage_bytes();
}

lurn_tensor *lurn_newtensor(lua_State *L) {
  gc_pressure(L);
  lurn_tensor *t = lua_newuserdatauv(L, sizeof *t, 0);
  memset(t, 0, sizeof *t);
  luaL_setmetatable(L, LURN_TENSOR_MT);
  return t;
}

lurn_tensor *lurn_pushshare(lua_State *L, const lurn_tensor *src) {
  lurn_tensor *t = lurn_newtensor(L);
  lurn_tensor_share(t, src);
  return t;
}

int lurn_raise(lua_State *L, const lurn_status *st) {
  return luaL_error(L, "%s", st->msg);
}

void lurn_createmeta(lua_State *L, const char *name, const luaL_Reg *methods,
                     const luaL_Reg *metamethods) {
  luaL_newmetatable(L, name);
  if (metamethods) luaL_setfuncs(L, metamethods, 0);
  if (methods) {
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
  }
  lua_pop(L, 1);
}

/* A shape given as a table {d0, d1, ...} at idx, or as integers idx..top. */
int lurn_checkshape(lua_State *L, int idx, int64_t *size, const char *fname) {
  int ndim = 0;
  if (lua_istable(L, idx)) {
    ndim = (int)luaL_len(L, idx);
    if (ndim > LURN_MAXDIM) luaL_error(L, "%s: at most %d dims, got %d", fname, LURN_MAXDIM, ndim);
    for (int i = 0; i < ndim; i++) {
      lua_geti(L, idx, i + 1);
      int ok;
      lua_Integer v = lua_tointegerx(L, -1, &ok);
      if (!ok) luaL_error(L, "%s: shape entry %d is not an integer", fname, i + 1);
      size[i] = v;
      lua_pop(L, 1);
    }
  } else {
    int top = lua_gettop(L), i;
    for (i = idx; i <= top && lua_type(L, i) == LUA_TNUMBER; i++) {
      if (ndim == LURN_MAXDIM) luaL_error(L, "%s: at most %d dims", fname, LURN_MAXDIM);
      int ok;
      lua_Integer v = lua_tointegerx(L, i, &ok);
      if (!ok) luaL_error(L, "%s: size %d is not an integer", fname, ndim + 1);
      size[ndim++] = v;
    }
    /* the sizes end at nothing, nil or a string (a dtype): anything else
     * (a tensor, a boolean) is a mistake, never an empty shape */
    if (i <= top && !lua_isnil(L, i) && lua_type(L, i) != LUA_TSTRING)
      luaL_typeerror(L, i, "an integer size");
  }
  for (int i = 0; i < ndim; i++)
    if (size[i] < 0 && !(size[i] == -1))
      luaL_error(L, "%s: negative size %I in shape", fname, (lua_Integer)size[i]);
  return ndim;
}

/* ---- local helpers ---------------------------------------------------------- */

#define CHECK_ST(call) do { if ((call) != LURN_OK) return lurn_raise(L, &st); } while (0)

static lurn_dtype checkdtype(lua_State *L, int idx, lurn_dtype def) {
  if (lua_isnoneornil(L, idx)) return def;
  const char *s = luaL_checkstring(L, idx);
  if (!strcmp(s, "float32") || !strcmp(s, "float")) return LURN_FLOAT32;
  if (!strcmp(s, "int32") || !strcmp(s, "int")) return LURN_INT32;
  luaL_argerror(L, idx, lua_pushfstring(L, "unknown dtype '%s' (float32 or int32)", s));
  return def;
}

/* A 1-based (or negative) dim at idx -> 0-based, checked against ndim. */
static int checkdim(lua_State *L, int idx, int ndim, const char *fname) {
  lua_Integer d = luaL_checkinteger(L, idx);
  lua_Integer z = d < 0 ? ndim + d : d - 1;
  if (z < 0 || z >= ndim)
    luaL_error(L, "%s: dim %I out of range for a %d-d tensor", fname, d, ndim);
  return (int)z;
}

/* Trailing dtype string after a shape, if any. */
static int shape_and_dtype(lua_State *L, int64_t *size, lurn_dtype *dtype, const char *fname) {
  int ndim = lurn_checkshape(L, 1, size, fname);
  int top = lua_gettop(L);
  *dtype = LURN_FLOAT32;
  if (top >= 1 && lua_type(L, top) == LUA_TSTRING) *dtype = checkdtype(L, top, LURN_FLOAT32);
  for (int i = 0; i < ndim; i++)
    if (size[i] < 0) luaL_error(L, "%s: negative size %I", fname, (lua_Integer)size[i]);
  return ndim;
}

/* ---- constructors ----------------------------------------------------------- */

/*** lurn.zeros(d1, d2, ... [, dtype]) — a tensor of zeros.
 * The shape is given as sizes or as one table {d1, d2, ...}; dtype "float32"
 * (default) or "int32". At most 8 dims and 2^40 elements.
 * @function zeros
 * @also ones
 * @tparam integer ... the sizes (or a table of them)
 * @tparam[opt] string dtype "float32" or "int32"
 * @treturn Tensor
 * @usage local x = lurn.zeros(2, 3)              -- also lurn.zeros {2, 3}, lurn.ones(2, 3, "int32")
 */
/* A new tensor of the shape and dtype in the arguments: zero-filled, or (zero
 * == 0) with its memory as it comes (lurn.empty). */
static int new_shaped(lua_State *L, const char *fname, int zero) {
  int64_t size[LURN_MAXDIM];
  lurn_dtype dt;
  int ndim = shape_and_dtype(L, size, &dt, fname);
  lurn_status st;
  lurn_tensor *t = lurn_newtensor(L);
  CHECK_ST(zero ? lurn_tensor_new(t, dt, ndim, size, &st)
                : lurn_tensor_new_uninit(t, dt, ndim, size, &st));
  return 1;
}

static int l_zeros(lua_State *L) { return new_shaped(L, "zeros", 1); }

/*** lurn.empty(d1, d2, ... [, dtype]) — a tensor whose contents are undefined.
 * For an output that is then written in full (a recurrent layer's y): it saves
 * the pass over memory that the zeros of `lurn.zeros` cost. Reading an element
 * before writing it gives whatever the memory held. Arguments as `lurn.zeros`.
 * @function empty
 * @tparam integer ... the sizes (or a table of them)
 * @tparam[opt] string dtype "float32" or "int32"
 * @treturn Tensor
 * @usage local y = lurn.empty(2, 3):fill(0.5)   -- written before it is read
 */
static int l_empty(lua_State *L) { return new_shaped(L, "empty", 0); }

static int l_ones(lua_State *L) {
  l_zeros(L);
  lurn_fill(lurn_checktensor(L, -1), 1.0);
  return 1;
}

/*** lurn.full(shape, value [, dtype]) — a tensor filled with one value.
 * @function full
 * @tparam table shape {d1, d2, ...}
 * @tparam number value
 * @tparam[opt] string dtype "float32" (default) or "int32"
 * @treturn Tensor
 * @usage local x = lurn.full({2, 3}, 7)
 */
static int l_full(lua_State *L) {
  int64_t size[LURN_MAXDIM];
  luaL_checktype(L, 1, LUA_TTABLE);
  int ndim = lurn_checkshape(L, 1, size, "full");
  double v = luaL_checknumber(L, 2);
  lurn_dtype dt = checkdtype(L, 3, LURN_FLOAT32);
  lurn_status st;
  lurn_tensor *t = lurn_newtensor(L);
  CHECK_ST(lurn_tensor_new(t, dt, ndim, size, &st));
  lurn_fill(t, v);
  return 1;
}

/* Nested tables: find the shape by walking first elements, then fill. */
static void table_shape(lua_State *L, int idx, int *ndim, int64_t *size) {
  *ndim = 0;
  lua_pushvalue(L, idx);
  while (lua_istable(L, -1)) {
    if (*ndim == LURN_MAXDIM) luaL_error(L, "tensor: nesting deeper than %d", LURN_MAXDIM);
    size[(*ndim)++] = (int64_t)luaL_len(L, -1);
    if (size[*ndim - 1] == 0) break;
    lua_geti(L, -1, 1);
    lua_remove(L, -2);
  }
  lua_pop(L, 1);
}

static void table_fill(lua_State *L, int idx, int depth, int ndim, const int64_t *size,
                       lurn_tensor *t, int64_t *pos, int64_t *path) {
  if (depth == ndim) {
    int isnum;
    lua_Number v = lua_tonumberx(L, idx, &isnum);
    if (!isnum) {
      char buf[128];
      int n = 0;
      for (int i = 0; i < ndim; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "[%lld]", (long long)path[i] + 1);
      luaL_error(L, "tensor: element %s is a %s, not a number", buf, luaL_typename(L, idx));
    }
    if (t->dtype == LURN_FLOAT32) ((float *)t->storage->data)[*pos] = (float)v;
    else ((int32_t *)t->storage->data)[*pos] = (int32_t)v;
    (*pos)++;
    return;
  }
  if (!lua_istable(L, idx) || (int64_t)luaL_len(L, idx) != size[depth]) {
    char buf[128];
    int n = 0;
    for (int i = 0; i < depth; i++)
      n += snprintf(buf + n, sizeof buf - (size_t)n, "[%lld]", (long long)path[i] + 1);
    luaL_error(L, "tensor: ragged nested table at %s (expected %I elements)",
               depth ? buf : "top level", (lua_Integer)size[depth]);
  }
  for (int64_t i = 0; i < size[depth]; i++) {
    path[depth] = i;
    lua_geti(L, idx, i + 1);
    table_fill(L, lua_gettop(L), depth + 1, ndim, size, t, pos, path);
    lua_pop(L, 1);
  }
}

/*** lurn.tensor(data [, dtype]) — a tensor from nested tables (or a 0-d one from a number).
 * Every row must have the same length; elements must be numbers.
 * @function tensor
 * @tparam table|number data nested lists of numbers
 * @tparam[opt] string dtype "float32" (default) or "int32" (truncates toward zero)
 * @treturn Tensor
 * @usage local x = lurn.tensor {{1, 2}, {3, 4}}
 * local ids = lurn.tensor({3, 0, 2}, "int32")
 */
static int l_tensor(lua_State *L) {
  lurn_dtype dt = checkdtype(L, 2, LURN_FLOAT32);
  lurn_status st;
  if (lua_type(L, 1) == LUA_TNUMBER) {
    lurn_tensor *t = lurn_newtensor(L);
    CHECK_ST(lurn_tensor_new(t, dt, 0, NULL, &st));
    lurn_fill(t, lua_tonumber(L, 1));
    return 1;
  }
  luaL_checktype(L, 1, LUA_TTABLE);
  int ndim;
  int64_t size[LURN_MAXDIM], path[LURN_MAXDIM];
  table_shape(L, 1, &ndim, size);
  lurn_tensor *t = lurn_newtensor(L);
  CHECK_ST(lurn_tensor_new(t, dt, ndim, size, &st));
  int64_t pos = 0;
  table_fill(L, 1, 0, ndim, size, t, &pos, path);
  return 1;
}

/*** lurn.arange(n) or lurn.arange(start, stop [, step]) [, dtype] — evenly spaced values, like Python's range.
 * The values start, start+step, ... below stop (above it for a negative step);
 * float32 by default.
 * @function arange
 * @tparam number start (or n: 0 .. n-1)
 * @tparam[opt] number stop
 * @tparam[opt] number step default 1, not 0
 * @treturn Tensor a 1-d tensor
 * @usage lurn.arange(5)               -- 0 1 2 3 4
 * lurn.arange(1, 2, 0.25, "float32")
 */
static int l_arange(lua_State *L) {
  int top = lua_gettop(L);
  lurn_dtype dt = LURN_FLOAT32;
  if (top >= 1 && lua_type(L, top) == LUA_TSTRING) dt = checkdtype(L, top--, LURN_FLOAT32);
  double start = 0, stop, step = 1;
  if (top == 1) stop = luaL_checknumber(L, 1);
  else {
    start = luaL_checknumber(L, 1);
    stop = luaL_checknumber(L, 2);
    if (top >= 3) step = luaL_checknumber(L, 3);
  }
  if (step == 0) luaL_error(L, "arange: step must not be 0");
  if (!isfinite(start) || !isfinite(stop) || !isfinite(step))
    luaL_error(L, "arange: start %f, stop %f and step %f must be finite", start, stop, step);
  double n = ceil((stop - start) / step);
  if (n < 0) n = 0;
  /* checked as a double: a larger count would not convert to int64 */
  if (!(n <= (double)LURN_MAX_NUMEL))
    luaL_error(L, "arange: %f elements is too many (at most 2^40)", n);
  lurn_status st;
  lurn_tensor *t = lurn_newtensor(L);
  CHECK_ST(lurn_arange(t, dt, start, step, (int64_t)n, &st));
  return 1;
}

/*** lurn.eye(n [, m]) — the identity matrix [n, m] (m = n by default), float32.
 * @function eye
 * @tparam integer n rows
 * @tparam[opt] integer m columns
 * @treturn Tensor
 * @usage local i = lurn.eye(3)
 */
static int l_eye(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  lua_Integer m = luaL_optinteger(L, 2, n);
  lurn_status st;
  lurn_tensor *t = lurn_newtensor(L);
  CHECK_ST(lurn_eye(t, n, m, &st));
  return 1;
}

/* ---- queries ---------------------------------------------------------------- */

static void push_shape(lua_State *L, const lurn_tensor *t) {
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, t->size[i]);
    lua_seti(L, -2, i + 1);
  }
  luaL_setmetatable(L, "lurn.Shape");
}

/*** t:shape() — the sizes as a table that prints as [2,3] and compares with ==.
 * @function Tensor:shape
 * @treturn table {d1, d2, ...}
 * @usage print(lurn.zeros(2, 3):shape() == lurn.ones(2, 3):shape())   --> true
 */
static int m_shape(lua_State *L) {
  push_shape(L, lurn_checktensor(L, 1));
  return 1;
}

/*** t:size([dim]) — the size of one dim (1-based, negative from the end), or the shape.
 * @function Tensor:size
 * @tparam[opt] integer dim
 * @treturn integer|table
 * @usage local x = lurn.zeros(5, 2, 3); local T, B = x:size(1), x:size(2)
 */
static int m_size(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  if (lua_isnoneornil(L, 2)) {
    push_shape(L, t);
    return 1;
  }
  lua_pushinteger(L, t->size[checkdim(L, 2, t->ndim, "size")]);
  return 1;
}

/*** t:stride([dim]) — the stride of one dim in elements, or all strides as a table.
 * @function Tensor:stride
 * @tparam[opt] integer dim
 * @treturn integer|table
 * @usage print(lurn.zeros(2, 3):t():stride(1))   -- 1
 */
static int m_stride(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  if (!lua_isnoneornil(L, 2)) {
    lua_pushinteger(L, t->stride[checkdim(L, 2, t->ndim, "stride")]);
    return 1;
  }
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, t->stride[i]);
    lua_seti(L, -2, i + 1);
  }
  return 1;
}

/*** t:dim() — the number of dims (0 for a scalar tensor).
 * @function Tensor:dim
 * @treturn integer
 * @usage assert(lurn.zeros(2, 3):dim() == 2)
 */
static int m_dim(lua_State *L) {
  lua_pushinteger(L, lurn_checktensor(L, 1)->ndim);
  return 1;
}

/*** t:numel() — the number of elements.
 * @function Tensor:numel
 * @treturn integer
 * @usage print(lurn.zeros(2, 3):numel())   -- 6
 */
static int m_numel(lua_State *L) {
  lua_pushinteger(L, lurn_numel(lurn_checktensor(L, 1)));
  return 1;
}

/*** t:dtype() — "float32" or "int32" (t:type() is the same).
 * @function Tensor:dtype
 * @treturn string
 * @usage print(lurn.zeros(2):dtype(), lurn.zeros(2, "int32"):dtype())   --> float32 int32
 */
static int m_dtype(lua_State *L) {
  lua_pushstring(L, lurn_dtype_name(lurn_checktensor(L, 1)->dtype));
  return 1;
}

/*** t:is_contiguous() — true when the elements are row-major without gaps.
 * @function Tensor:is_contiguous
 * @treturn boolean
 * @usage print(lurn.zeros(2, 3):t():is_contiguous())   -- false
 */
static int m_is_contiguous(lua_State *L) {
  lua_pushboolean(L, lurn_is_contiguous(lurn_checktensor(L, 1)));
  return 1;
}

/*** t:shares_storage(u) — true when t and u view the same storage (views do, copies do not).
 * @function Tensor:shares_storage
 * @tparam Tensor u
 * @treturn boolean
 * @usage local x = lurn.zeros(4); print(x:narrow(1, 1, 2):shares_storage(x))   -- true
 */
static int m_shares_storage(lua_State *L) {
  lurn_tensor *a = lurn_checktensor(L, 1), *b = lurn_checktensor(L, 2);
  lua_pushboolean(L, a->storage == b->storage);
  return 1;
}

/* ---- element access ----------------------------------------------------------- */

/* Read 1-based indices idx..idx+ndim-1 into a 0-based multi-index. */
static void checkindex(lua_State *L, const lurn_tensor *t, int idx, int64_t *out,
                       const char *fname) {
  int nargs = lua_gettop(L) - idx + 1;
  if (nargs < t->ndim) {
    char sb[96];
    luaL_error(L, "%s: %d indices given for a %d-d tensor %s", fname, nargs < 0 ? 0 : nargs,
               t->ndim, lurn_tensor_shape_str(t, sb, sizeof sb));
  }
  for (int d = 0; d < t->ndim; d++) {
    lua_Integer i = luaL_checkinteger(L, idx + d);
    lua_Integer z = i < 0 ? t->size[d] + i : i - 1;
    if (z < 0 || z >= t->size[d]) {
      char sb[96];
      luaL_error(L, "%s: index %I out of range for dim %d of %s", fname, i, d + 1,
                 lurn_tensor_shape_str(t, sb, sizeof sb));
    }
    out[d] = z;
  }
}

static void push_elem(lua_State *L, const lurn_tensor *t, const int64_t *idx) {
  double v = lurn_get(t, idx);
  if (t->dtype == LURN_INT32) lua_pushinteger(L, (lua_Integer)v);
  else lua_pushnumber(L, v);
}

/*** t:get(i, j, ...) — one element, by 1-based indices (one per dim; negative from the end).
 * @function Tensor:get
 * @tparam integer ... the indices
 * @treturn number
 * @usage local x = lurn.tensor {{1, 2}, {3, 4}}; print(x:get(2, 1))   -- 3
 */
static int m_get(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  int64_t idx[LURN_MAXDIM];
  checkindex(L, t, 2, idx, "get");
  push_elem(L, t, idx);
  return 1;
}

/*** t:set(i, j, ..., value) — write one element, by 1-based indices.
 * @function Tensor:set
 * @tparam integer ... the indices, then the value
 * @usage local x = lurn.zeros(2, 2); x:set(1, 2, 5)
 */
static int m_set(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  int top = lua_gettop(L);
  if (top != t->ndim + 2)
    luaL_error(L, "set: expected %d indices and a value, got %d arguments", t->ndim, top - 1);
  int64_t idx[LURN_MAXDIM];
  lua_Number v = luaL_checknumber(L, top);
  lua_settop(L, top - 1);
  checkindex(L, t, 2, idx, "set");
  lurn_set(t, idx, v);
  lua_settop(L, 1);
  return 1;
}

/*** t:item() — the value of a one-element tensor (any shape).
 * @function Tensor:item
 * @treturn number
 * @usage local loss = lurn.tensor({2.5}):item()
 */
static int m_item(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  if (lurn_numel(t) != 1) {
    char sb[96];
    luaL_error(L, "item: tensor %s has %I elements, not 1", lurn_tensor_shape_str(t, sb, sizeof sb),
               (lua_Integer)lurn_numel(t));
  }
  int64_t idx[LURN_MAXDIM] = {0};
  push_elem(L, t, idx);
  return 1;
}

static void totable_rec(lua_State *L, const lurn_tensor *t, int d, int64_t *idx) {
  if (d == t->ndim) {
    push_elem(L, t, idx);
    return;
  }
  lua_createtable(L, (int)t->size[d], 0);
  for (int64_t i = 0; i < t->size[d]; i++) {
    idx[d] = i;
    totable_rec(L, t, d + 1, idx);
    lua_seti(L, -2, i + 1);
  }
}

/* A reference to the tensor at idx that Lua code cannot release: a new
 * userdata sharing its storage, on the stack, reachable from nowhere else.
 * For bindings that allocate while they read elements (each allocation may
 * run a finalizer, and a finalizer may release the argument). */
static lurn_tensor *pin(lua_State *L, int idx, const char *fname) {
  lurn_tensor *t = lurn_pushshare(L, lurn_checktensor(L, idx));
  lurn_checklive(L, t, fname, "the tensor");   // released while the pin was allocated
  return t;
}

/*** t:totable() — the values as nested Lua tables (a number for a 0-d tensor).
 * @function Tensor:totable
 * @treturn table|number
 * @usage local rows = lurn.eye(2):totable()   -- {{1, 0}, {0, 1}}
 */
static int m_totable(lua_State *L) {
  lurn_tensor *t = pin(L, 1, "totable");
  int64_t idx[LURN_MAXDIM] = {0};
  luaL_checkstack(L, t->ndim + 4, "totable");
  totable_rec(L, t, 0, idx);
  return 1;
}

/* ---- views -------------------------------------------------------------------- */

static int view_common(lua_State *L, int copy) {
  const char *fname = copy ? "reshape" : "view";
  lurn_tensor *t = lurn_checktensor(L, 1);
  int64_t size[LURN_MAXDIM];
  int ndim = lurn_checkshape(L, 2, size, fname);
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(copy ? lurn_reshape(o, t, ndim, size, &st) : lurn_view(o, t, ndim, size, &st));
  return 1;
}
/*** t:view(d1, d2, ...) — the same elements under another shape, without copying.
 * Sizes or one table; one size may be -1 (inferred). An error when the strides
 * do not allow a view (use reshape or contiguous()).
 * @function Tensor:view
 * @tparam integer ... the new sizes
 * @treturn Tensor a view
 * @usage local y = lurn.arange(6):view(2, -1)   -- [2,3]
 */
static int m_view(lua_State *L) { return view_common(L, 0); }
/*** t:reshape(d1, d2, ...) — like view, but copies when a view is impossible.
 * @function Tensor:reshape
 * @tparam integer ... the new sizes (one may be -1)
 * @treturn Tensor
 * @usage local flat = lurn.randn(2, 3):t():reshape(-1)   -- a copy: the view is not contiguous
 */
static int m_reshape(lua_State *L) { return view_common(L, 1); }

/*** t:narrow(dim, start, length) — a view of `length` positions of dim from `start` (1-based).
 * @function Tensor:narrow
 * @tparam integer dim
 * @tparam integer start 1-based (negative from the end)
 * @tparam integer length
 * @treturn Tensor a view
 * @usage local first_two = lurn.arange(5):narrow(1, 1, 2)   -- 0 1
 */
static int m_narrow(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  int d = checkdim(L, 2, t->ndim, "narrow");
  lua_Integer s = luaL_checkinteger(L, 3);
  lua_Integer n = luaL_checkinteger(L, 4);
  lua_Integer z = s < 0 ? t->size[d] + s : s - 1;
  if (z < 0 || z > t->size[d] || n < 0 || n > t->size[d] - z) {
    /* checked here so the message speaks Lua's 1-based positions */
    char sb[96];
    luaL_error(L, "narrow: %I elements from position %I do not fit dim %d of %s", (lua_Integer)n,
               (lua_Integer)s, d + 1, lurn_tensor_shape_str(t, sb, sizeof sb));
  }
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_narrow(o, t, d, z, n, &st));
  return 1;
}

/*** t:select(dim, index) — a view of one position of dim, with that dim removed.
 * @function Tensor:select
 * @tparam integer dim
 * @tparam integer index 1-based (negative from the end)
 * @treturn Tensor a view
 * @usage local last_step = lurn.randn(5, 2, 3):select(1, -1)   -- [2,3]
 */
static int m_select(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  int d = checkdim(L, 2, t->ndim, "select");
  lua_Integer i = luaL_checkinteger(L, 3);
  lua_Integer z = i < 0 ? t->size[d] + i : i - 1;
  if (z < 0 || z >= t->size[d]) {
    char sb[96];
    luaL_error(L, "select: index %I out of range for dim %d of %s", (lua_Integer)i, d + 1,
               lurn_tensor_shape_str(t, sb, sizeof sb));
  }
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_select(o, t, d, z, &st));
  return 1;
}

/*** t:transpose([d1, d2]) — a view with two dims swapped (default the last two); t:t() is transpose().
 * @function Tensor:transpose
 * @also t
 * @tparam[opt] integer d1
 * @tparam[opt] integer d2
 * @treturn Tensor a view
 * @usage local wt = lurn.randn(3, 4):t()   -- [4,3], no copy
 */
static int m_transpose(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  int d0, d1;
  if (lua_isnoneornil(L, 2)) {
    if (t->ndim < 2) luaL_error(L, "transpose: needs at least 2 dims, got %d", t->ndim);
    d0 = t->ndim - 2, d1 = t->ndim - 1;
  } else {
    d0 = checkdim(L, 2, t->ndim, "transpose");
    d1 = checkdim(L, 3, t->ndim, "transpose");
  }
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_transpose(o, t, d0, d1, &st));
  return 1;
}

/*** t:permute(d1, d2, ...) — a view with the dims reordered (1-based; or one table).
 * @function Tensor:permute
 * @tparam integer ... the new order of the dims
 * @treturn Tensor a view
 * @usage local btd = lurn.randn(5, 2, 3):permute(2, 1, 3)   -- [2,5,3]
 */
static int m_permute(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  int64_t p64[LURN_MAXDIM];
  int n = lurn_checkshape(L, 2, p64, "permute");
  if (n != t->ndim) luaL_error(L, "permute: %d dims given for a %d-d tensor", n, t->ndim);
  int perm[LURN_MAXDIM], seen[LURN_MAXDIM] = {0};
  for (int i = 0; i < n; i++) {
    int64_t z = p64[i] < 0 ? t->ndim + p64[i] : p64[i] - 1;
    if (z < 0 || z >= n || seen[z]++) {
      char sb[96];
      luaL_error(L, "permute: dims must be a permutation of 1..%d for %s (dim %I at position %d)",
                 n, lurn_tensor_shape_str(t, sb, sizeof sb), (lua_Integer)p64[i], i + 1);
    }
    perm[i] = (int)z;
  }
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_permute(o, t, perm, &st));
  return 1;
}

/*** t:expand(d1, d2, ...) — a view where size-1 dims repeat (stride 0) to the given sizes.
 * @function Tensor:expand
 * @tparam integer ... the sizes (-1 keeps one)
 * @treturn Tensor a view
 * @usage local m = lurn.tensor({{1}, {2}}):expand(2, 3)   -- [2,3]
 */
static int m_expand(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  int64_t size[LURN_MAXDIM];
  int ndim = lurn_checkshape(L, 2, size, "expand");
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_expand(o, t, ndim, size, &st));
  return 1;
}

/*** t:contiguous() — t itself when contiguous, else a row-major copy.
 * @function Tensor:contiguous
 * @treturn Tensor
 * @usage local c = lurn.randn(2, 3):t():contiguous()
 */
static int m_contiguous(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_contiguous(o, t, &st));
  return 1;
}

/*** t:clone([dtype]) — a contiguous copy (converted to dtype when given).
 * @function Tensor:clone
 * @tparam[opt] string dtype "float32" or "int32"
 * @treturn Tensor
 * @usage local w = lurn.randn(2, 3); local backup = w:clone()
 */
static int m_clone(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  lurn_dtype dt = checkdtype(L, 2, t->dtype);
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_clone(o, t, dt, &st));
  return 1;
}

/*** t:float() — a float32 copy (t itself when already float32).
 * @function Tensor:float
 * @treturn Tensor
 * @usage local mask = lurn.tensor({3, 0}, "int32"):ne(0):float()
 */
static int m_float(lua_State *L) {
  lua_settop(L, 1);
  lua_pushliteral(L, "float32");
  return m_clone(L);
}

/*** t:int() — an int32 copy, truncating toward zero (t itself when already int32).
 * @function Tensor:int
 * @treturn Tensor
 * @usage local ids = lurn.tensor {1.7, -1.7}; print(ids:int())   -- 1 -1
 */
static int m_int(lua_State *L) {
  lua_settop(L, 1);
  lua_pushliteral(L, "int32");
  return m_clone(L);
}

/*** t:copy(src) — copy src's values into t in place (src broadcast to t's shape).
 * @function Tensor:copy
 * @tparam Tensor src
 * @treturn Tensor t
 * @usage local w = lurn.randn(2, 3); w:copy(lurn.tensor {1, 2, 3})   -- each row 1 2 3
 */
static int m_copy(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  lurn_tensor *s = lurn_checktensor(L, 2);
  lurn_status st;
  CHECK_ST(lurn_copy(t, s, &st));
  lua_settop(L, 1);
  return 1;
}

/*** t:fill(value) — set every element in place.
 * @function Tensor:fill
 * @tparam number value
 * @treturn Tensor t
 * @usage local x = lurn.zeros(3):fill(0.5)
 */
static int m_fill(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  lurn_fill(t, luaL_checknumber(L, 2));
  lua_settop(L, 1);
  return 1;
}

/*** t:zero() — set every element to 0 in place.
 * @function Tensor:zero
 * @treturn Tensor t
 * @usage local g = lurn.ones(3):zero()
 */
static int m_zero(lua_State *L) {
  lurn_fill(lurn_checktensor(L, 1), 0.0);
  lua_settop(L, 1);
  return 1;
}

/* ---- arithmetic ----------------------------------------------------------------- */

static const char *binop_name(lurn_binop op) {
  static const char *names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                "eq", "ne", "lt", "le", "gt", "ge"};
  return names[op];
}

/* a op b where either may be a number; inplace writes into a (arg 1). */
static int binop(lua_State *L, lurn_binop op, int inplace) {
  lurn_tensor *a = lurn_totensor(L, 1), *b = lurn_totensor(L, 2);
  lurn_status st;
  if (!a && !b)
    luaL_error(L, "%s: expected a tensor operand", binop_name(op));
  if (a) lurn_checktensor(L, 1);
  if (b) lurn_checktensor(L, 2);
  if (inplace) {
    if (!a) luaL_error(L, "%s_: self must be a tensor", binop_name(op));
    /* every argument is read before `out` holds a reference: a Lua error
     * between the two would skip its release (a leaked storage) */
    double s = b ? 0 : luaL_checknumber(L, 2);
    lurn_tensor out = {0};
    lurn_tensor_share(&out, a);
    int rc = b ? lurn_binary(&out, op, a, b, &st)
               : lurn_binary_scalar(&out, op, a, s, 0, &st);
    lurn_tensor_release(&out);
    if (rc) return lurn_raise(L, &st);
    lua_settop(L, 1);
    return 1;
  }
  lurn_tensor *o = lurn_newtensor(L);
  if (a && b) CHECK_ST(lurn_binary(o, op, a, b, &st));
  else if (a) CHECK_ST(lurn_binary_scalar(o, op, a, luaL_checknumber(L, 2), 0, &st));
  else CHECK_ST(lurn_binary_scalar(o, op, b, luaL_checknumber(L, 1), 1, &st));
  return 1;
}

#define BINOP(name, op)                                               \
  static int m_##name(lua_State *L) { return binop(L, op, 0); }      \
  static int m_##name##_(lua_State *L) { return binop(L, op, 1); }
/*** t:add(u) — elementwise sum with NumPy broadcasting; u a tensor or a number.
 * Also t + u. The forms with a trailing underscore work in place on t and
 * return t (its shape must be the broadcast shape): t:add_(u). sub, mul, div
 * (t - u, t * u, t / u), maximum and minimum work the same. Integer tensors
 * give integer results for + - *; division gives float32.
 * @function Tensor:add
 * @also add_ sub sub_ mul mul_ div div_ maximum maximum_ minimum minimum_
 * @tparam Tensor|number u
 * @treturn Tensor
 * @usage local y = lurn.ones(2, 3):add(lurn.tensor {1, 2, 3})   -- rows broadcast
 * y:mul_(2); local z = y:maximum(3)
 */
BINOP(add, LURN_ADD)
BINOP(sub, LURN_SUB)
BINOP(mul, LURN_MUL)
BINOP(div, LURN_DIV)
BINOP(maximum, LURN_MAXIMUM)
BINOP(minimum, LURN_MINIMUM)
/*** t:eq(u) — a 0/1 mask of t == u, elementwise with broadcasting; ne, lt, le, gt, ge likewise.
 * @function Tensor:eq
 * @also ne lt le gt ge
 * @tparam Tensor|number u
 * @treturn Tensor 0/1 values of t's dtype
 * @usage local not_pad = lurn.tensor({3, 1, 0, 0}, "int32"):ne(0)   -- 1 1 0 0
 */
static int m_eq(lua_State *L) { return binop(L, LURN_EQ, 0); }
static int m_ne(lua_State *L) { return binop(L, LURN_NE, 0); }
static int m_lt(lua_State *L) { return binop(L, LURN_LT, 0); }
static int m_le(lua_State *L) { return binop(L, LURN_LE, 0); }
static int m_gt(lua_State *L) { return binop(L, LURN_GT, 0); }
static int m_ge(lua_State *L) { return binop(L, LURN_GE, 0); }

static int unop(lua_State *L, lurn_unop op, double p1, double p2, int inplace) {
  lurn_tensor *a = lurn_checktensor(L, 1);
  lurn_status st;
  if (inplace) {
    lurn_tensor out = {0};
    lurn_tensor_share(&out, a);
    int rc = lurn_unary(&out, op, a, p1, p2, &st);
    lurn_tensor_release(&out);
    if (rc) return lurn_raise(L, &st);
    lua_settop(L, 1);
    return 1;
  }
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_unary(o, op, a, p1, p2, &st));
  return 1;
}

#define UNOP(name, op)                                                        \
  static int m_##name(lua_State *L) { return unop(L, op, 0, 0, 0); }         \
  static int m_##name##_(lua_State *L) { return unop(L, op, 0, 0, 1); }
/*** t:exp() — a new tensor of exp of every element; the other elementwise functions likewise.
 * neg, exp, log, tanh, sigmoid, relu, sqrt, abs, square, sign, floor, ceil,
 * round; each has an in-place form with a trailing underscore (t:exp_()) that
 * returns t. -t is t:neg().
 * @function Tensor:exp
 * @also exp_ neg neg_ log log_ tanh tanh_ sigmoid sigmoid_ relu relu_ sqrt sqrt_ abs abs_ square square_ sign sign_ floor floor_ ceil ceil_ round round_
 * @treturn Tensor
 * @usage local p = lurn.randn(2, 3):sigmoid()
 * p:log_()
 */
UNOP(neg, LURN_NEG)
UNOP(exp, LURN_EXP)
UNOP(log, LURN_LOG)
UNOP(tanh, LURN_TANH)
UNOP(sigmoid, LURN_SIGMOID)
UNOP(relu, LURN_RELU)
UNOP(sqrt, LURN_SQRT)
UNOP(abs, LURN_ABS)
UNOP(square, LURN_SQUARE)
UNOP(sign, LURN_SIGN)
UNOP(floor, LURN_FLOOR)
UNOP(ceil, LURN_CEIL)
UNOP(round, LURN_ROUND)

/*** t:pow(p) — t to the power p (a number, or a tensor elementwise with broadcasting); also t ^ p.
 * pow_ works in place.
 * @function Tensor:pow
 * @also pow_
 * @tparam number|Tensor p
 * @treturn Tensor float32
 * @usage local sq = lurn.arange(4):pow(2)
 */
static int m_pow(lua_State *L) {
  if (lurn_totensor(L, 1) && lua_type(L, 2) == LUA_TNUMBER)
    return unop(L, LURN_POWS, lua_tonumber(L, 2), 0, 0);
  return binop(L, LURN_POW, 0);
}
static int m_pow_(lua_State *L) {
  if (lua_type(L, 2) == LUA_TNUMBER) return unop(L, LURN_POWS, lua_tonumber(L, 2), 0, 1);
  return binop(L, LURN_POW, 1);
}

/* clamp(lo, hi): nil for no bound */
static int clamp_common(lua_State *L, int inplace) {
  double lo = luaL_opt(L, luaL_checknumber, 2, -HUGE_VAL);
  double hi = luaL_opt(L, luaL_checknumber, 3, HUGE_VAL);
  if (lo > hi) luaL_error(L, "clamp: min %f is greater than max %f", lo, hi);
  return unop(L, LURN_CLAMP, lo, hi, inplace);
}
/*** t:clamp(lo, hi) — every element limited to [lo, hi] (nil: no bound); NaN stays NaN.
 * clamp_ works in place.
 * @function Tensor:clamp
 * @also clamp_
 * @tparam number|nil lo
 * @tparam number|nil hi
 * @treturn Tensor
 * @usage local y = lurn.randn(4):clamp(-1, 1)
 */
static int m_clamp(lua_State *L) { return clamp_common(L, 0); }
static int m_clamp_(lua_State *L) { return clamp_common(L, 1); }

/* ---- reductions ---------------------------------------------------------------- */

/* x:sum() -> number; x:sum(dim [, keepdim]) -> tensor. Same for mean, max, min.
 * max(dim)/min(dim) also return the 0-based indices. argmax()/argmin() without
 * a dim give the 0-based flat index. */
static int reduce(lua_State *L, lurn_redop op, const char *fname) {
  lurn_tensor *a = lurn_checktensor(L, 1);
  lurn_status st;
  if (lua_isnoneornil(L, 2)) {
    lurn_tensor r = {0};
    if (lurn_reduce(&r, op, a, -1, 0, &st)) return lurn_raise(L, &st);
    int64_t idx[LURN_MAXDIM] = {0};
    double v = lurn_get(&r, idx);
    if (r.dtype == LURN_INT32 || (a->dtype == LURN_INT32 && (op == LURN_MAX || op == LURN_MIN ||
                                                           op == LURN_SUM)))
      lua_pushinteger(L, (lua_Integer)v);
    else lua_pushnumber(L, v);
    lurn_tensor_release(&r);
    return 1;
  }
  int d = checkdim(L, 2, a->ndim, fname);
  int keep = lua_toboolean(L, 3);
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_reduce(o, op, a, d, keep, &st));
  if (op == LURN_MAX || op == LURN_MIN) {
    lurn_tensor *ix = lurn_newtensor(L);
    CHECK_ST(lurn_reduce(ix, op == LURN_MAX ? LURN_ARGMAX : LURN_ARGMIN, a, d, keep, &st));
    return 2;
  }
  return 1;
}
/*** t:sum([dim [, keepdim]]) — the sum of all elements (a number), or over one dim (a tensor).
 * mean, max and min work the same; with a dim, max and min also return the
 * 0-based positions. Sums accumulate in double.
 * @function Tensor:sum
 * @also mean max min
 * @tparam[opt] integer dim 1-based
 * @tparam[opt] boolean keepdim keep dim with size 1
 * @treturn number|Tensor
 * @usage local x = lurn.tensor {{1, 2}, {3, 4}}
 * print(x:sum(), x:sum(2), x:mean())   -- 10, [3, 7], 2.5
 * local best, where = x:max(2)         -- [2, 4], 0-based [1, 1]
 */
static int m_sum(lua_State *L) { return reduce(L, LURN_SUM, "sum"); }
static int m_mean(lua_State *L) { return reduce(L, LURN_MEAN, "mean"); }
static int m_max(lua_State *L) { return reduce(L, LURN_MAX, "max"); }
static int m_min(lua_State *L) { return reduce(L, LURN_MIN, "min"); }
/*** t:argmax([dim]) — the 0-based position of the largest element (flat, as a number), or along dim (int32 tensor); argmin likewise.
 * @function Tensor:argmax
 * @also argmin
 * @tparam[opt] integer dim 1-based
 * @treturn integer|Tensor
 * @usage local predicted = lurn.tensor({{0.1, 0.9}, {0.8, 0.2}}):argmax(2)   -- 1 0
 */
static int m_argmax(lua_State *L) { return reduce(L, LURN_ARGMAX, "argmax"); }
static int m_argmin(lua_State *L) { return reduce(L, LURN_ARGMIN, "argmin"); }

/*** lurn.allclose(a, b [, rtol [, atol]]) — true when |a - b| <= atol + rtol * |b| everywhere (also a:allclose(b)).
 * @function allclose
 * @also Tensor:allclose
 * @tparam Tensor a
 * @tparam Tensor b same shape
 * @tparam[opt] number rtol default 1e-5
 * @tparam[opt] number atol default 1e-8
 * @treturn boolean
 * @usage assert(lurn.allclose(lurn.ones(2), lurn.tensor {1, 1.000001}))
 */
static int m_allclose(lua_State *L) {
  lurn_tensor *a = lurn_checktensor(L, 1), *b = lurn_checktensor(L, 2);
  double rtol = luaL_optnumber(L, 3, 1e-5), atol = luaL_optnumber(L, 4, 1e-8);
  int res;
  lurn_status st;
  CHECK_ST(lurn_allclose(a, b, rtol, atol, &res, &st));
  lua_pushboolean(L, res);
  return 1;
}

/* ---- matrix products -------------------------------------------------------------- */

/*** lurn.mm(a, b [, out, alpha, beta]) — the matrix product a b of 2-d float32 tensors (BLIS GEMM; also a:mm(b)).
 * Transposed and narrowed views go to BLIS with their strides, never copied.
 * With `out`: out := beta * out + alpha * a b in place (alpha 1, beta 0 by default).
 * @function mm
 * @also Tensor:mm
 * @tparam Tensor a [m, k]
 * @tparam Tensor b [k, n]
 * @tparam[opt] Tensor out [m, n]
 * @treturn Tensor [m, n]
 * @usage local c = lurn.mm(lurn.randn(2, 3), lurn.randn(4, 3):t())   -- [2,4]
 */
static int m_mm(lua_State *L) {
  lurn_tensor *a = lurn_checktensor(L, 1), *b = lurn_checktensor(L, 2);
  lurn_status st;
  if (!lua_isnoneornil(L, 3)) {
    lurn_tensor *c = lurn_checktensor(L, 3);
    float alpha = (float)luaL_optnumber(L, 4, 1.0), beta = (float)luaL_optnumber(L, 5, 0.0);
    CHECK_ST(lurn_mm(c, a, b, alpha, beta, &st));
    lua_settop(L, 3);
    return 1;
  }
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_mm(o, a, b, 1.0f, 0.0f, &st));
  return 1;
}

/*** lurn.bmm(a, b) — batched matrix products: [n, m, k] x [n, k, p] -> [n, m, p] (also a:bmm(b)).
 * @function bmm
 * @also Tensor:bmm
 * @tparam Tensor a [n, m, k]
 * @tparam Tensor b [n, k, p]
 * @treturn Tensor [n, m, p]
 * @usage local y = lurn.bmm(lurn.randn(4, 2, 3), lurn.randn(4, 3, 5))   -- [4,2,5]
 */
static int m_bmm(lua_State *L) {
  lurn_tensor *a = lurn_checktensor(L, 1), *b = lurn_checktensor(L, 2);
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_bmm(o, a, b, &st));
  return 1;
}

/* ---- joining and gathering ---------------------------------------------------------- */

/* Element i of the list at 1, pushed, as a live tensor. */
static lurn_tensor *cat_element(lua_State *L, int i) {
  lua_geti(L, 1, i);
  int ti = lua_gettop(L);
  lurn_tensor *t = lurn_argtensor(L, ti, "cat", lua_pushfstring(L, "element %d", i));
  lua_pop(L, 1);
  return t;
}

/*** lurn.cat(tensors, dim) — tensors joined along an existing dim (the others must match).
 * @function cat
 * @tparam {Tensor,...} tensors same dtype
 * @tparam integer dim 1-based (negative from the end)
 * @treturn Tensor
 * @usage local x = lurn.cat({lurn.zeros(2, 3), lurn.ones(2, 1)}, 2)   -- [2,4]
 */
static int l_cat(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer len = luaL_len(L, 1);
  if (len < 1 || len > INT_MAX) luaL_error(L, "cat: expected a list of tensors, got length %I", len);
  int n = (int)len;
  lurn_tensor *first = cat_element(L, 1);   // stays on the stack
  int d = checkdim(L, 2, first->ndim, "cat");
  int64_t size[LURN_MAXDIM];
  memcpy(size, first->size, sizeof size);
  size[d] = 0;
  for (int i = 1; i <= n; i++) {
    lurn_tensor *t = cat_element(L, i);
    int ok = t->ndim == first->ndim && t->dtype == first->dtype;
    for (int k = 0; ok && k < t->ndim; k++) ok = k == d || t->size[k] == first->size[k];
    if (!ok) {
      char s1[96], s2[96];
      luaL_error(L, "cat: element %d %s %s does not match element 1 %s %s along dims other than %d",
                 i, lurn_tensor_shape_str(t, s1, sizeof s1), lurn_dtype_name(t->dtype),
                 lurn_tensor_shape_str(first, s2, sizeof s2), lurn_dtype_name(first->dtype), d + 1);
    }
    if (t->size[d] > LURN_MAX_NUMEL - size[d])
      luaL_error(L, "cat: the result is too large (more than 2^40 elements along dim %d)", d + 1);
    size[d] += t->size[d];
    lua_pop(L, 1);
  }
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_tensor_new(o, first->dtype, first->ndim, size, &st));
  int64_t at = 0;
  for (int i = 1; i <= n; i++) {
    /* checked again: allocating the output may have run a finalizer that
     * changed the list; the core checks the sizes */
    lurn_tensor *t = cat_element(L, i);
    lurn_tensor part = {0};
    int rc = lurn_narrow(&part, o, d, at, t->size[d], &st);
    if (!rc) rc = lurn_copy(&part, t, &st);
    lurn_tensor_release(&part);
    if (rc) return lurn_raise(L, &st);
    at += t->size[d];
    lua_pop(L, 1);
  }
  return 1;
}

/*** t:index_select(dim, ids) — the positions ids (0-based, int32 1-d) of dim, copied in that order.
 * @function Tensor:index_select
 * @tparam integer dim 1-based
 * @tparam Tensor ids int32 [n], 0-based
 * @treturn Tensor
 * @usage local rows = lurn.eye(4):index_select(1, lurn.tensor({3, 0}, "int32"))   -- [2,4]
 */
static int m_index_select(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  int d = checkdim(L, 2, t->ndim, "index_select");
  lurn_tensor *ids = lurn_checktensor(L, 3);
  if (ids->dtype != LURN_INT32 || ids->ndim != 1) {
    char sb[96];
    luaL_error(L, "index_select: ids must be a 1-d int32 tensor, got %s %s",
               lurn_tensor_shape_str(ids, sb, sizeof sb), lurn_dtype_name(ids->dtype));
  }
  int64_t size[LURN_MAXDIM];
  memcpy(size, t->size, sizeof size);
  size[d] = ids->size[0];
  lurn_status st;
  lurn_tensor *o = lurn_newtensor(L);
  CHECK_ST(lurn_tensor_new(o, t->dtype, t->ndim, size, &st));
  ids = lurn_checktensor(L, 3);   // again: the allocation may have run a finalizer
  const int32_t *ip = lurn_i32(ids);
  for (int64_t i = 0; i < ids->size[0]; i++) {
    int64_t k = ip[i * ids->stride[0]];
    if (k < 0 || k >= t->size[d]) {
      char sb[96];
      luaL_error(L, "index_select: id %I at position %I out of range for dim %d of %s",
                 (lua_Integer)k, (lua_Integer)i + 1, d + 1, lurn_tensor_shape_str(t, sb, sizeof sb));
    }
    lurn_tensor src = {0}, dst = {0};
    int rc = lurn_select(&src, t, d, k, &st);
    if (!rc) rc = lurn_select(&dst, o, d, i, &st);
    if (!rc) rc = lurn_copy(&dst, &src, &st);
    lurn_tensor_release(&src);
    lurn_tensor_release(&dst);
    if (rc) return lurn_raise(L, &st);
  }
  return 1;
}

/* ---- printing ------------------------------------------------------------------------ */

/* Format like PyTorch: values in nested brackets, elided with "..." past
 * 6 entries per dim when the tensor has more than 1000 elements. */
static void fmt_value(luaL_Buffer *b, const lurn_tensor *t, const int64_t *idx) {
  char s[48];
  double v = lurn_get(t, idx);
  if (t->dtype == LURN_INT32) snprintf(s, sizeof s, "%lld", (long long)v);
  else snprintf(s, sizeof s, "%.4g", v);
  luaL_addstring(b, s);
}

static void fmt_rec(luaL_Buffer *b, const lurn_tensor *t, int d, int64_t *idx, int elide,
                    int indent) {
  if (d == t->ndim) {
    fmt_value(b, t, idx);
    return;
  }
  luaL_addchar(b, '[');
  int64_t n = t->size[d];
  for (int64_t i = 0; i < n; i++) {
    if (elide && n > 6 && i == 3) {
      luaL_addstring(b, d == t->ndim - 1 ? "..., " : "...,\n");
      if (d != t->ndim - 1)
        for (int k = 0; k < indent + 1; k++) luaL_addchar(b, ' ');
      i = n - 3;
    }
    idx[d] = i;
    fmt_rec(b, t, d + 1, idx, elide, indent + 1);
    if (i + 1 < n) {
      if (d == t->ndim - 1) luaL_addstring(b, ", ");
      else {
        luaL_addstring(b, ",\n");
        for (int k = 0; k < indent + 1; k++) luaL_addchar(b, ' ');
      }
    }
  }
  luaL_addchar(b, ']');
}

static int m_tostring(lua_State *L) {
  lurn_tensor *t = luaL_checkudata(L, 1, LURN_TENSOR_MT);
  if (!t->storage) {
    lua_pushliteral(L, "lurn.Tensor(released)");
    return 1;
  }
  t = lurn_pushshare(L, t);   // pinned: the buffer below allocates while it reads
  if (!t->storage) {          // released by a finalizer the pin's allocation ran
    lua_pushliteral(L, "lurn.Tensor(released)");
    return 1;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  int64_t idx[LURN_MAXDIM] = {0};
  fmt_rec(&b, t, 0, idx, lurn_numel(t) > 1000, 0);
  /* footer: lurn.Tensor(3x4, float32) */
  char foot[160];
  int n = snprintf(foot, sizeof foot, "\nlurn.Tensor(");
  if (t->ndim == 0) n += snprintf(foot + n, sizeof foot - (size_t)n, "scalar");
  for (int d = 0; d < t->ndim && n < (int)sizeof foot; d++)
    n += snprintf(foot + n, sizeof foot - (size_t)n, d ? "x%lld" : "%lld", (long long)t->size[d]);
  if (n < (int)sizeof foot)
    snprintf(foot + n, sizeof foot - (size_t)n, ", %s)", lurn_dtype_name(t->dtype));
  luaL_addstring(&b, foot);
  luaL_pushresult(&b);
  return 1;
}

static int m_len(lua_State *L) {
  lurn_tensor *t = lurn_checktensor(L, 1);
  lua_pushinteger(L, t->ndim ? t->size[0] : 0);
  return 1;
}

/* __eq on tensors is identity (Lua requires a boolean); use :eq() for masks. */

static int shape_tostring(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '[');
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    if (i > 1) luaL_addchar(&b, ',');
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, ']');
  luaL_pushresult(&b);
  return 1;
}

static int shape_eq(lua_State *L) {
  lua_Integer n = luaL_len(L, 1);
  if (luaL_len(L, 2) != n) {
    lua_pushboolean(L, 0);
    return 1;
  }
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    lua_geti(L, 2, i);
    int eq = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    if (!eq) {
      lua_pushboolean(L, 0);
      return 1;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* ---- registration -------------------------------------------------------------------- */

static const luaL_Reg tensor_methods[] = {
  {"free", tensor_gc}, {"shape", m_shape}, {"size", m_size}, {"stride", m_stride}, {"dim", m_dim},
  {"numel", m_numel}, {"dtype", m_dtype}, {"is_contiguous", m_is_contiguous},
  {"shares_storage", m_shares_storage},
  {"get", m_get}, {"set", m_set}, {"item", m_item}, {"totable", m_totable},
  {"view", m_view}, {"reshape", m_reshape}, {"narrow", m_narrow}, {"select", m_select},
  {"transpose", m_transpose}, {"t", m_transpose}, {"permute", m_permute},
  {"expand", m_expand}, {"contiguous", m_contiguous}, {"clone", m_clone},
  {"float", m_float}, {"int", m_int}, {"copy", m_copy}, {"fill", m_fill}, {"zero", m_zero},
  {"add", m_add}, {"sub", m_sub}, {"mul", m_mul}, {"div", m_div},
  {"add_", m_add_}, {"sub_", m_sub_}, {"mul_", m_mul_}, {"div_", m_div_},
  {"maximum", m_maximum}, {"minimum", m_minimum}, {"maximum_", m_maximum_},
  {"minimum_", m_minimum_},
  {"eq", m_eq}, {"ne", m_ne}, {"lt", m_lt}, {"le", m_le}, {"gt", m_gt}, {"ge", m_ge},
  {"neg", m_neg}, {"exp", m_exp}, {"log", m_log}, {"tanh", m_tanh}, {"sigmoid", m_sigmoid},
  {"relu", m_relu}, {"sqrt", m_sqrt}, {"abs", m_abs}, {"square", m_square}, {"sign", m_sign},
  {"floor", m_floor}, {"ceil", m_ceil}, {"round", m_round},
  {"neg_", m_neg_}, {"exp_", m_exp_}, {"log_", m_log_}, {"tanh_", m_tanh_},
  {"sigmoid_", m_sigmoid_}, {"relu_", m_relu_}, {"sqrt_", m_sqrt_}, {"abs_", m_abs_},
  {"square_", m_square_}, {"sign_", m_sign_}, {"floor_", m_floor_}, {"ceil_", m_ceil_},
  {"round_", m_round_},
  {"pow", m_pow}, {"pow_", m_pow_}, {"clamp", m_clamp}, {"clamp_", m_clamp_},
  {"sum", m_sum}, {"mean", m_mean}, {"max", m_max}, {"min", m_min},
  {"argmax", m_argmax}, {"argmin", m_argmin}, {"allclose", m_allclose},
  {"mm", m_mm}, {"bmm", m_bmm}, {"index_select", m_index_select},
  {NULL, NULL}
};

static const luaL_Reg tensor_meta[] = {
  {"__gc", tensor_gc}, {"__close", tensor_gc}, {"__tostring", m_tostring},
  {"__add", m_add}, {"__sub", m_sub}, {"__mul", m_mul}, {"__div", m_div},
  {"__unm", m_neg}, {"__pow", m_pow}, {"__len", m_len},
  {NULL, NULL}
};

static const luaL_Reg tensor_funcs[] = {
  {"tensor", l_tensor}, {"zeros", l_zeros}, {"empty", l_empty}, {"ones", l_ones}, {"full", l_full},
  {"arange", l_arange}, {"eye", l_eye}, {"cat", l_cat},
  {"mm", m_mm}, {"bmm", m_bmm}, {"allclose", m_allclose},
  {NULL, NULL}
};

void lurn_open_tensor(lua_State *L) {
  luaL_newmetatable(L, LURN_TENSOR_MT);
  luaL_setfuncs(L, tensor_meta, 0);
  luaL_newlib(L, tensor_methods);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "__index");
  lua_setfield(L, -3, "Tensor");   /* core.Tensor = the method table, for extension in Lua */
  lua_pop(L, 1);

  luaL_newmetatable(L, "lurn.Shape");
  lua_pushcfunction(L, shape_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pushcfunction(L, shape_eq);
  lua_setfield(L, -2, "__eq");
  lua_pop(L, 1);

  luaL_setfuncs(L, tensor_funcs, 0);
}
