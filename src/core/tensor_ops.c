/*
 * tensor_ops.c — fill, copy, elementwise ops, reductions and matrix products
 * (see tensor.h).
 *
 * Every elementwise kernel runs through one strided iterator: the operands
 * (output first) are broadcast to the output's shape with stride 0, size-1
 * dims are dropped and dims that are contiguous with each other in *every*
 * operand are merged, so a contiguous same-shape op becomes one long row and
 * a tensor-scalar op one row whose scalar has stride 0. A row kernel then
 * runs a tight loop specialised for unit and zero strides (the hot cases in
 * training loops, and the ones the compiler vectorises).
 *
 * Threads: when an op touches at least PAR_MIN elements its rows (or chunks
 * of one long row) are split over OpenMP threads. Each output element is
 * computed by exactly one thread from the same inputs in the same way, so the
 * result is identical at every thread count. Whole-tensor reductions run in
 * one thread, in row-major order.
 *
 * Aliasing: `out` may be the very same view as an input (a += b). If it shares
 * storage with an input through a *different* view (x += x[0], x:copy(x:t())),
 * that input is first copied to a temporary so no element is read after
 * being overwritten.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "tensor.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many elements the cost of waking threads outweighs the work. */
#define PAR_MIN 65536
/* A long row is cut into chunks of this many elements for the threads. */
#define PAR_CHUNK 16384

#define CHECK_LIVE(t, name)                                                        \
  do {                                                                             \
    if (!(t)->storage)                                                             \
      return lurn_fail(st, LURN_EARG, "%s: tensor has been released", (name));     \
  } while (0)

/* Contiguous loops are marked `omp simd`: GCC's -O2 cost model would not
 * vectorise them otherwise (it will not add the runtime alias checks). It is
 * safe because an output either is exactly an input (same index read then
 * written) or does not overlap it (overlaps are snapshotted first), and only
 * elementwise loops carry it — never a running sum, whose order must not
 * change. Vector and scalar code give the same IEEE results, so where a
 * thread's chunk starts cannot change a value. */
#ifdef _OPENMP
#define SIMD _Pragma("omp simd")
#else
#define SIMD
#endif

/* ---- the strided iterator ------------------------------------------------ */

#define ITER_MAXOPS 3

typedef struct {
  int nops;
  int ndim;                                  /* >= 1 after init */
  int64_t numel;
  int64_t size[LURN_MAXDIM];
  int64_t stride[ITER_MAXOPS][LURN_MAXDIM];  /* in elements, per operand */
  char *base[ITER_MAXOPS];                   /* first element of each operand */
} iter_t;

/* One row: n elements; operand k starts at p[k] and steps s[k] elements
 * (every element is 4 bytes, whatever the dtype). */
typedef void (*row_fn)(const void *ctx, int64_t n, char *const *p, const int64_t *s);

/* Strides of t aligned to an ndim-dim shape (right-aligned, broadcast dims 0). */
static void bcast_strides(const lurn_tensor *t, int ndim, const int64_t *size, int64_t *out) {
  int lead = ndim - t->ndim;
  for (int d = 0; d < ndim; d++) {
    int td = d - lead;
    out[d] = (td < 0 || (t->size[td] == 1 && size[d] != 1)) ? 0 : t->stride[td];
  }
}

/* Set up iteration over the shape (ndim, size) for nops operands, each of
 * which broadcasts to that shape (output first by convention). */
static void iter_init(iter_t *it, int ndim, const int64_t *size, int nops,
                      const lurn_tensor *const *ops) {
  int64_t st[ITER_MAXOPS][LURN_MAXDIM];
  it->nops = nops;
  it->numel = 1;
  for (int d = 0; d < ndim; d++) it->numel *= size[d];
  for (int k = 0; k < nops; k++) {
    bcast_strides(ops[k], ndim, size, st[k]);
    it->base[k] = (char *)ops[k]->storage->data + ops[k]->offset * 4;
  }
  /* drop size-1 dims, keeping order */
  int n = 0;
  for (int d = 0; d < ndim; d++) {
    if (size[d] == 1) continue;
    it->size[n] = size[d];
    for (int k = 0; k < nops; k++) it->stride[k][n] = st[k][d];
    n++;
  }
  if (n == 0) {
    it->size[0] = 1;
    for (int k = 0; k < nops; k++) it->stride[k][0] = 0;
    n = 1;
  }
  /* merge dim d into d+1 when every operand steps over d+1 exactly */
  int m = n - 1;   /* index of the current innermost merged dim, built backwards */
  int64_t msize[LURN_MAXDIM], mstride[ITER_MAXOPS][LURN_MAXDIM];
  int out_n = 0;
  msize[0] = it->size[m];
  for (int k = 0; k < nops; k++) mstride[k][0] = it->stride[k][m];
  for (int d = m - 1; d >= 0; d--) {
    int ok = 1;
    for (int k = 0; k < nops; k++)
      if (it->stride[k][d] != mstride[k][out_n] * msize[out_n]) ok = 0;
    if (ok) {
      msize[out_n] *= it->size[d];
    } else {
      out_n++;
      msize[out_n] = it->size[d];
      for (int k = 0; k < nops; k++) mstride[k][out_n] = it->stride[k][d];
    }
  }
  it->ndim = out_n + 1;
  for (int d = 0; d < it->ndim; d++) {   /* reverse back to outer-first order */
    it->size[d] = msize[out_n - d];
    for (int k = 0; k < nops; k++) it->stride[k][d] = mstride[k][out_n - d];
  }
}

/* Pointers of row r (the multi-index of the outer dims, decoded). */
static void iter_row_ptrs(const iter_t *it, int64_t r, char **p) {
  for (int k = 0; k < it->nops; k++) p[k] = it->base[k];
  for (int d = it->ndim - 2; d >= 0 && r > 0; d--) {
    int64_t i = r % it->size[d];
    r /= it->size[d];
    for (int k = 0; k < it->nops; k++) p[k] += i * it->stride[k][d] * 4;
  }
}

/* Run fn over every row. `work` is the element count that decides whether
 * threads pay off (0: always serial). */
static void iter_run(const iter_t *it, row_fn fn, const void *ctx, int64_t work) {
  if (it->numel == 0) return;
  int nd = it->ndim;
  int64_t inner = it->size[nd - 1];
  int64_t rows = it->numel / inner;
  int64_t s[ITER_MAXOPS];
  for (int k = 0; k < it->nops; k++) s[k] = it->stride[k][nd - 1];
  int nthreads = 1;
#ifdef _OPENMP
  nthreads = omp_get_max_threads();
#endif
  if (nthreads > 1 && work >= PAR_MIN) {
    /* Few long rows: cut each row into chunks so every thread has work. */
    int64_t cpr = rows >= 2 * nthreads ? 1 : (inner + PAR_CHUNK - 1) / PAR_CHUNK;
    int64_t clen = (inner + cpr - 1) / cpr;
    int64_t tasks = rows * cpr;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < tasks; t++) {
      char *p[ITER_MAXOPS];
      int64_t r = t / cpr, c0 = (t % cpr) * clen;
      int64_t len = inner - c0 < clen ? inner - c0 : clen;
      if (len <= 0) continue;
      iter_row_ptrs(it, r, p);
      for (int k = 0; k < it->nops; k++) p[k] += c0 * s[k] * 4;
      fn(ctx, len, p, s);
    }
    return;
  }
  /* Serial: walk the outer multi-index with a counter (no divisions). */
  int64_t idx[LURN_MAXDIM] = {0};
  char *p[ITER_MAXOPS];
  for (int k = 0; k < it->nops; k++) p[k] = it->base[k];
  for (int64_t r = 0; r < rows; r++) {
    fn(ctx, inner, p, s);
    for (int d = nd - 2; d >= 0; d--) {
      idx[d]++;
      for (int k = 0; k < it->nops; k++) p[k] += it->stride[k][d] * 4;
      if (idx[d] < it->size[d]) break;
      for (int k = 0; k < it->nops; k++) p[k] -= it->stride[k][d] * it->size[d] * 4;
      idx[d] = 0;
    }
  }
}

/* ---- helpers --------------------------------------------------------------- */

static int32_t to_i32(double v) {
  if (v != v) return 0;
  if (v >= 2147483647.0) return INT32_MAX;
  if (v <= -2147483648.0) return INT32_MIN;
  return (int32_t)v;
}

static int same_view(const lurn_tensor *a, const lurn_tensor *b) {
  if (a->storage != b->storage || a->offset != b->offset || a->ndim != b->ndim) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->size[d] != b->size[d] || (a->size[d] != 1 && a->stride[d] != b->stride[d])) return 0;
  return 1;
}

/* Does writing t write some element twice (an expanded, stride-0 dim)? */
static int self_overlapping(const lurn_tensor *t) {
  for (int d = 0; d < t->ndim; d++)
    if (t->size[d] > 1 && t->stride[d] == 0) return 1;
  return 0;
}

/* Broadcast shape of a and b; 0 if they do not broadcast. */
static int broadcast_shape(const lurn_tensor *a, const lurn_tensor *b, int *ndim,
                           int64_t *size) {
  int n = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int d = 0; d < n; d++) {
    int da = d - (n - a->ndim), db = d - (n - b->ndim);
    int64_t sa = da < 0 ? 1 : a->size[da], sb = db < 0 ? 1 : b->size[db];
    if (sa == sb || sb == 1) size[d] = sa;
    else if (sa == 1) size[d] = sb;
    else return 0;
  }
  *ndim = n;
  return 1;
}

/* Can t be broadcast to (ndim, size)? */
static int broadcasts_to(const lurn_tensor *t, int ndim, const int64_t *size) {
  if (t->ndim > ndim) return 0;
  for (int d = 0; d < t->ndim; d++) {
    int64_t s = t->size[d], want = size[d + ndim - t->ndim];
    if (s != want && s != 1) return 0;
  }
  return 1;
}

/* ---- fill and copy --------------------------------------------------------- */

typedef struct { float f; int32_t i; } fill_ctx;

static void row_fill_f32(const void *ctx, int64_t n, char *const *p, const int64_t *s) {
  float v = ((const fill_ctx *)ctx)->f, *o = (float *)p[0];
  if (s[0] == 1) { SIMD for (int64_t i = 0; i < n; i++) o[i] = v; }
  else for (int64_t i = 0; i < n; i++) o[i * s[0]] = v;
}

static void row_fill_i32(const void *ctx, int64_t n, char *const *p, const int64_t *s) {
  int32_t v = ((const fill_ctx *)ctx)->i, *o = (int32_t *)p[0];
  if (s[0] == 1) { SIMD for (int64_t i = 0; i < n; i++) o[i] = v; }
  else for (int64_t i = 0; i < n; i++) o[i * s[0]] = v;
}

void lurn_fill(lurn_tensor *t, double v) {
  if (!t->storage) return;
  fill_ctx c = {(float)v, to_i32(v)};
  iter_t it = {0};   // iter_init fills it; zeroed so no path reads garbage
  const lurn_tensor *ops[1] = {t};
  iter_init(&it, t->ndim, t->size, 1, ops);
  iter_run(&it, t->dtype == LURN_INT32 ? row_fill_i32 : row_fill_f32, &c, it.numel);
}

#define COPY_ROW(NAME, OT, IT, CONV)                                               \
  static void NAME(const void *ctx, int64_t n, char *const *p, const int64_t *s) { \
    (void)ctx;                                                                     \
    OT *o = (OT *)p[0];                                                            \
    const IT *a = (const IT *)p[1];                                                \
    if (s[0] == 1 && s[1] == 1) { SIMD for (int64_t i = 0; i < n; i++) o[i] = CONV(a[i]); } \
    else for (int64_t i = 0; i < n; i++) o[i * s[0]] = CONV(a[i * s[1]]);          \
  }
#define CONV_ID(x) (x)
#define CONV_F2I(x) to_i32((double)(x))
#define CONV_I2F(x) ((float)(x))
COPY_ROW(row_copy_ff, float, float, CONV_ID)
COPY_ROW(row_copy_ii, int32_t, int32_t, CONV_ID)
COPY_ROW(row_copy_fi, int32_t, float, CONV_F2I)
COPY_ROW(row_copy_if, float, int32_t, CONV_I2F)

int lurn_copy(lurn_tensor *dst, const lurn_tensor *src, lurn_status *st) {
  char b1[160], b2[160];
  CHECK_LIVE(dst, "copy");
  CHECK_LIVE(src, "copy");
  if (!broadcasts_to(src, dst->ndim, dst->size))
    return lurn_fail(st, LURN_ESHAPE, "copy: cannot copy %s into %s",
                     lurn_tensor_shape_str(src, b1, sizeof b1),
                     lurn_tensor_shape_str(dst, b2, sizeof b2));
  if (self_overlapping(dst))
    return lurn_fail(st, LURN_EARG, "copy: destination %s is an expanded view (elements share memory)",
                     lurn_tensor_shape_str(dst, b2, sizeof b2));
  if (same_view(dst, src) && dst->dtype == src->dtype) return LURN_OK;
  lurn_tensor tmp = {0};
  if (src->storage == dst->storage) {
    /* overlapping views: read from a snapshot */
    int rc = lurn_clone(&tmp, src, src->dtype, st);
    if (rc) return rc;
    src = &tmp;
  }
  row_fn fn;
  if (dst->dtype == LURN_FLOAT32) fn = src->dtype == LURN_FLOAT32 ? row_copy_ff : row_copy_if;
  else fn = src->dtype == LURN_FLOAT32 ? row_copy_fi : row_copy_ii;
  iter_t it = {0};   // iter_init fills it; zeroed so no path reads garbage
  const lurn_tensor *ops[2] = {dst, src};
  iter_init(&it, dst->ndim, dst->size, 2, ops);
  iter_run(&it, fn, NULL, it.numel);
  lurn_tensor_release(&tmp);
  return LURN_OK;
}

/* ---- binary ops ------------------------------------------------------------ */

static const char *binop_name(lurn_binop op) {
  static const char *names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum",
                                "eq", "ne", "lt", "le", "gt", "ge"};
  return (unsigned)op < sizeof names / sizeof *names ? names[op] : "binary";
}

/* The loop of one binary row: contiguous, tensor-scalar (either side) and
 * general strides. x and y are the two inputs, EXPR the result. */
#define BIN_LOOP(OT, IT, EXPR)                                                     \
  do {                                                                             \
    OT *o_ = (OT *)p[0];                                                           \
    const IT *a_ = (const IT *)p[1], *b_ = (const IT *)p[2];                       \
    if (s[0] == 1 && s[1] == 1 && s[2] == 1) {                                     \
      SIMD for (int64_t i = 0; i < n; i++) { IT x = a_[i], y = b_[i]; o_[i] = (OT)(EXPR); } \
    } else if (s[0] == 1 && s[1] == 1 && s[2] == 0) {                              \
      const IT y = b_[0];                                                          \
      SIMD for (int64_t i = 0; i < n; i++) { IT x = a_[i]; o_[i] = (OT)(EXPR); }   \
    } else if (s[0] == 1 && s[1] == 0 && s[2] == 1) {                              \
      const IT x = a_[0];                                                          \
      SIMD for (int64_t i = 0; i < n; i++) { IT y = b_[i]; o_[i] = (OT)(EXPR); }   \
    } else {                                                                       \
      for (int64_t i = 0; i < n; i++) {                                            \
        IT x = a_[i * s[1]], y = b_[i * s[2]];                                     \
        o_[i * s[0]] = (OT)(EXPR);                                                 \
      }                                                                            \
    }                                                                              \
  } while (0)

/* NaN-propagating max/min, like torch.maximum. */
static inline float fmax_nan(float x, float y) { return (x > y || x != x) ? x : y; }
static inline float fmin_nan(float x, float y) { return (x < y || x != x) ? x : y; }

static void row_bin_f32(const void *ctx, int64_t n, char *const *p, const int64_t *s) {
  switch (*(const lurn_binop *)ctx) {
    case LURN_ADD: BIN_LOOP(float, float, x + y); break;
    case LURN_SUB: BIN_LOOP(float, float, x - y); break;
    case LURN_MUL: BIN_LOOP(float, float, x * y); break;
    case LURN_DIV: BIN_LOOP(float, float, x / y); break;
    case LURN_POW: BIN_LOOP(float, float, y == 2.0f ? x * x : powf(x, y)); break;
    case LURN_MAXIMUM: BIN_LOOP(float, float, fmax_nan(x, y)); break;
    case LURN_MINIMUM: BIN_LOOP(float, float, fmin_nan(x, y)); break;
    case LURN_EQ: BIN_LOOP(float, float, x == y ? 1.0f : 0.0f); break;
    case LURN_NE: BIN_LOOP(float, float, x != y ? 1.0f : 0.0f); break;
    case LURN_LT: BIN_LOOP(float, float, x < y ? 1.0f : 0.0f); break;
    case LURN_LE: BIN_LOOP(float, float, x <= y ? 1.0f : 0.0f); break;
    case LURN_GT: BIN_LOOP(float, float, x > y ? 1.0f : 0.0f); break;
    case LURN_GE: BIN_LOOP(float, float, x >= y ? 1.0f : 0.0f); break;
  }
}

/* int32 arithmetic wraps around (through uint32) instead of being undefined. */
#define WRAP(expr) ((int32_t)(uint32_t)(expr))

static void row_bin_i32(const void *ctx, int64_t n, char *const *p, const int64_t *s) {
  switch (*(const lurn_binop *)ctx) {
    case LURN_ADD: BIN_LOOP(int32_t, int32_t, WRAP((uint32_t)x + (uint32_t)y)); break;
    case LURN_SUB: BIN_LOOP(int32_t, int32_t, WRAP((uint32_t)x - (uint32_t)y)); break;
    case LURN_MUL: BIN_LOOP(int32_t, int32_t, WRAP((uint32_t)x * (uint32_t)y)); break;
    case LURN_MAXIMUM: BIN_LOOP(int32_t, int32_t, x > y ? x : y); break;
    case LURN_MINIMUM: BIN_LOOP(int32_t, int32_t, x < y ? x : y); break;
    case LURN_EQ: BIN_LOOP(int32_t, int32_t, x == y); break;
    case LURN_NE: BIN_LOOP(int32_t, int32_t, x != y); break;
    case LURN_LT: BIN_LOOP(int32_t, int32_t, x < y); break;
    case LURN_LE: BIN_LOOP(int32_t, int32_t, x <= y); break;
    case LURN_GT: BIN_LOOP(int32_t, int32_t, x > y); break;
    case LURN_GE: BIN_LOOP(int32_t, int32_t, x >= y); break;
    case LURN_DIV: case LURN_POW: break;   /* promoted to float32 before we get here */
  }
}

/* out := a op b. Both a and b are live; a may be a stack-held scalar. */
static int binary_impl(lurn_tensor *out, lurn_binop op, const lurn_tensor *a,
                       const lurn_tensor *b, lurn_status *st) {
  const char *name = binop_name(op);
  char b1[160], b2[160];
  if ((unsigned)op > LURN_GE) return lurn_fail(st, LURN_EARG, "binary: unknown op %d", (int)op);
  int ndim;
  int64_t size[LURN_MAXDIM];
  if (!broadcast_shape(a, b, &ndim, size))
    return lurn_fail(st, LURN_ESHAPE, "%s: shapes %s and %s do not broadcast", name,
                     lurn_tensor_shape_str(a, b1, sizeof b1), lurn_tensor_shape_str(b, b2, sizeof b2));
  int both_int = a->dtype == LURN_INT32 && b->dtype == LURN_INT32;
  lurn_dtype dt = (both_int && op != LURN_DIV && op != LURN_POW) ? LURN_INT32 : LURN_FLOAT32;
  int inplace = out->storage != NULL;
  if (inplace) {
    if (out->ndim != ndim || memcmp(out->size, size, sizeof(int64_t) * (size_t)ndim) != 0)
      return lurn_fail(st, LURN_ESHAPE, "%s: output %s does not match the broadcast shape %s",
                       name, lurn_tensor_shape_str(out, b1, sizeof b1),
                       lurn_shape_str(b2, sizeof b2, ndim, size));
    if (self_overlapping(out))
      return lurn_fail(st, LURN_EARG, "%s: output %s is an expanded view (elements share memory)",
                       name, lurn_tensor_shape_str(out, b1, sizeof b1));
    if (out->dtype != dt)
      return lurn_fail(st, LURN_ESHAPE, "%s: cannot write a %s result into a %s output", name,
                       lurn_dtype_name(dt), lurn_dtype_name(out->dtype));
  }
  /* Inputs converted to float32, or snapshotted when they overlap the output. */
  lurn_tensor ta = {0}, tb = {0}, res = {0};
  int rc = LURN_OK;
  if (a->dtype != dt || (inplace && a->storage == out->storage && !same_view(a, out))) {
    if ((rc = lurn_clone(&ta, a, dt, st))) goto done;
    a = &ta;
  }
  if (b->dtype != dt || (inplace && b->storage == out->storage && !same_view(b, out))) {
    if ((rc = lurn_clone(&tb, b, dt, st))) goto done;
    b = &tb;
  }
  lurn_tensor *o = out;
  if (!inplace) {
    if ((rc = lurn_tensor_new(&res, dt, ndim, size, st))) goto done;
    o = &res;
  }
  iter_t it = {0};   // iter_init fills it; zeroed so no path reads garbage
  const lurn_tensor *ops[3] = {o, a, b};
  iter_init(&it, ndim, size, 3, ops);
  iter_run(&it, dt == LURN_INT32 ? row_bin_i32 : row_bin_f32, &op, it.numel);
  if (!inplace) {
    *out = res;
    res.storage = NULL;
  }
done:
  lurn_tensor_release(&ta);
  lurn_tensor_release(&tb);
  lurn_tensor_release(&res);
  return rc;
}

int lurn_binary(lurn_tensor *out, lurn_binop op, const lurn_tensor *a, const lurn_tensor *b,
                lurn_status *st) {
  const char *name = binop_name(op);
  CHECK_LIVE(a, name);
  CHECK_LIVE(b, name);
  return binary_impl(out, op, a, b, st);
}

int lurn_binary_scalar(lurn_tensor *out, lurn_binop op, const lurn_tensor *a, double s,
                       int scalar_first, lurn_status *st) {
  const char *name = binop_name(op);
  CHECK_LIVE(a, name);
  /* The scalar is a 0-dim tensor on the stack: it broadcasts with stride 0,
   * which the row kernels turn into the tensor-scalar loop. It stays int32
   * only for an int32 tensor and a whole number, as in PyTorch. */
  union { float f; int32_t i; } val;
  lurn_storage fake = {&val, 1, LURN_FLOAT32, 1};
  lurn_tensor sc;
  memset(&sc, 0, sizeof sc);
  sc.storage = &fake;
  if (a->dtype == LURN_INT32 && s == floor(s) && s >= -2147483648.0 && s <= 2147483647.0) {
    val.i = (int32_t)s;
    fake.dtype = sc.dtype = LURN_INT32;
  } else {
    val.f = (float)s;
    sc.dtype = LURN_FLOAT32;
  }
  return scalar_first ? binary_impl(out, op, &sc, a, st) : binary_impl(out, op, a, &sc, st);
}

/* ---- unary ops ------------------------------------------------------------- */

static const char *unop_name(lurn_unop op) {
  static const char *names[] = {"neg", "exp", "log", "tanh", "sigmoid", "relu", "sqrt", "abs",
                                "pow", "clamp", "square", "sign", "floor", "ceil", "round"};
  return (unsigned)op < sizeof names / sizeof *names ? names[op] : "unary";
}

typedef struct {
  lurn_unop op;
  float p1, p2;
  int32_t i1, i2;   /* int32 clamp bounds */
} un_ctx;

#define UN_LOOP(OT, IT, EXPR)                                                      \
  do {                                                                             \
    OT *o_ = (OT *)p[0];                                                           \
    const IT *a_ = (const IT *)p[1];                                               \
    if (s[0] == 1 && s[1] == 1) {                                                  \
      SIMD for (int64_t i = 0; i < n; i++) { IT x = a_[i]; o_[i] = (OT)(EXPR); }   \
    } else {                                                                       \
      for (int64_t i = 0; i < n; i++) { IT x = a_[i * s[1]]; o_[i * s[0]] = (OT)(EXPR); } \
    }                                                                              \
  } while (0)

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline float clampf(float x, float lo, float hi) {
  float t = x < lo ? lo : x;   /* NaN passes through both tests */
  return t > hi ? hi : t;
}
static inline float signf(float x) { return x > 0 ? 1.0f : x < 0 ? -1.0f : x; }

static void row_un_f32(const void *ctx, int64_t n, char *const *p, const int64_t *s) {
  const un_ctx *c = ctx;
  const float p1 = c->p1, p2 = c->p2;
  switch (c->op) {
    case LURN_NEG: UN_LOOP(float, float, -x); break;
    case LURN_EXP: UN_LOOP(float, float, expf(x)); break;
    case LURN_LOG: UN_LOOP(float, float, logf(x)); break;
    case LURN_TANH: UN_LOOP(float, float, tanhf(x)); break;
    case LURN_SIGMOID: UN_LOOP(float, float, sigmoidf(x)); break;
    case LURN_RELU: UN_LOOP(float, float, x < 0 ? 0.0f : x); break;
    case LURN_SQRT: UN_LOOP(float, float, sqrtf(x)); break;
    case LURN_ABS: UN_LOOP(float, float, fabsf(x)); break;
    case LURN_POWS:
      if (p1 == 2.0f) UN_LOOP(float, float, x * x);
      else if (p1 == 1.0f) UN_LOOP(float, float, x);
      else if (p1 == 0.5f) UN_LOOP(float, float, sqrtf(x));
      else UN_LOOP(float, float, powf(x, p1));
      break;
    case LURN_CLAMP: UN_LOOP(float, float, clampf(x, p1, p2)); break;
    case LURN_SQUARE: UN_LOOP(float, float, x * x); break;
    case LURN_SIGN: UN_LOOP(float, float, signf(x)); break;
    case LURN_FLOOR: UN_LOOP(float, float, floorf(x)); break;
    case LURN_CEIL: UN_LOOP(float, float, ceilf(x)); break;
    case LURN_ROUND: UN_LOOP(float, float, nearbyintf(x)); break;   /* half to even */
  }
}

static void row_un_i32(const void *ctx, int64_t n, char *const *p, const int64_t *s) {
  const un_ctx *c = ctx;
  const int32_t lo = c->i1, hi = c->i2;
  switch (c->op) {
    case LURN_NEG: UN_LOOP(int32_t, int32_t, WRAP(0u - (uint32_t)x)); break;
    case LURN_ABS: UN_LOOP(int32_t, int32_t, x < 0 ? WRAP(0u - (uint32_t)x) : x); break;
    case LURN_CLAMP: UN_LOOP(int32_t, int32_t, (x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x)); break;
    case LURN_SQUARE: UN_LOOP(int32_t, int32_t, WRAP((uint32_t)x * (uint32_t)x)); break;
    case LURN_SIGN: UN_LOOP(int32_t, int32_t, (x > 0) - (x < 0)); break;
    default: break;   /* the others are promoted to float32 */
  }
}

int lurn_unary(lurn_tensor *out, lurn_unop op, const lurn_tensor *a, double p1, double p2,
               lurn_status *st) {
  const char *name = unop_name(op);
  char b1[160], b2[160];
  CHECK_LIVE(a, name);
  if ((unsigned)op > LURN_ROUND) return lurn_fail(st, LURN_EARG, "unary: unknown op %d", (int)op);
  int keep_int = op == LURN_NEG || op == LURN_ABS || op == LURN_CLAMP || op == LURN_SQUARE ||
                 op == LURN_SIGN;
  lurn_dtype dt = (a->dtype == LURN_INT32 && keep_int) ? LURN_INT32 : LURN_FLOAT32;
  int inplace = out->storage != NULL;
  if (inplace) {
    if (!lurn_same_shape(out, a))
      return lurn_fail(st, LURN_ESHAPE, "%s: output %s does not match input %s", name,
                       lurn_tensor_shape_str(out, b1, sizeof b1), lurn_tensor_shape_str(a, b2, sizeof b2));
    if (self_overlapping(out))
      return lurn_fail(st, LURN_EARG, "%s: output %s is an expanded view (elements share memory)",
                       name, lurn_tensor_shape_str(out, b1, sizeof b1));
    if (out->dtype != dt)
      return lurn_fail(st, LURN_ESHAPE, "%s: cannot write a %s result into a %s output", name,
                       lurn_dtype_name(dt), lurn_dtype_name(out->dtype));
  }
  un_ctx c = {op, (float)p1, (float)p2, 0, 0};
  if (op == LURN_CLAMP) {
    /* integer bounds: the smallest int >= p1, the largest int <= p2 */
    c.i1 = p1 != p1 ? INT32_MIN : to_i32(ceil(p1));
    c.i2 = p2 != p2 ? INT32_MAX : to_i32(floor(p2));
  }
  lurn_tensor ta = {0}, res = {0};
  int rc = LURN_OK;
  if (a->dtype != dt || (inplace && a->storage == out->storage && !same_view(a, out))) {
    if ((rc = lurn_clone(&ta, a, dt, st))) goto done;
    a = &ta;
  }
  lurn_tensor *o = out;
  if (!inplace) {
    if ((rc = lurn_tensor_new(&res, dt, a->ndim, a->size, st))) goto done;
    o = &res;
  }
  iter_t it = {0};   // iter_init fills it; zeroed so no path reads garbage
  const lurn_tensor *ops[2] = {o, a};
  iter_init(&it, a->ndim, a->size, 2, ops);
  iter_run(&it, dt == LURN_INT32 ? row_un_i32 : row_un_f32, &c, it.numel);
  if (!inplace) {
    *out = res;
    res.storage = NULL;
  }
done:
  lurn_tensor_release(&ta);
  lurn_tensor_release(&res);
  return rc;
}

/* ---- reductions ------------------------------------------------------------ */

static const char *redop_name(lurn_redop op) {
  static const char *names[] = {"sum", "mean", "max", "min", "argmax", "argmin"};
  return (unsigned)op < sizeof names / sizeof *names ? names[op] : "reduce";
}

typedef struct {
  lurn_redop op;
  lurn_dtype in, out;
  int64_t len, stride;   /* the reduced dim of the input */
} red_ctx;

/* Reduce n values x[0], x[st], ... into *val (as double) and *arg. */
static void reduce_f32(lurn_redop op, const float *x, int64_t n, int64_t st, double *val,
                       int64_t *arg) {
  if (op == LURN_SUM || op == LURN_MEAN) {
    double acc = 0;
    for (int64_t i = 0; i < n; i++) acc += x[i * st];
    *val = op == LURN_MEAN ? acc / (double)n : acc;
    return;
  }
  int want_max = op == LURN_MAX || op == LURN_ARGMAX;
  float best = x[0];
  int64_t bi = 0;
  if (best == best) {
    for (int64_t i = 1; i < n; i++) {
      float v = x[i * st];
      if (v != v) { best = v; bi = i; break; }   /* NaN wins and stops the search */
      if (want_max ? v > best : v < best) { best = v; bi = i; }
    }
  }
  *val = best;
  *arg = bi;
}

static void reduce_i32(lurn_redop op, const int32_t *x, int64_t n, int64_t st, double *val,
                       int64_t *arg) {
  if (op == LURN_SUM || op == LURN_MEAN) {
    int64_t acc = 0;
    for (int64_t i = 0; i < n; i++) acc += x[i * st];
    *val = op == LURN_MEAN ? (double)acc / (double)n : (double)acc;
    return;
  }
  int want_max = op == LURN_MAX || op == LURN_ARGMAX;
  int32_t best = x[0];
  int64_t bi = 0;
  for (int64_t i = 1; i < n; i++) {
    int32_t v = x[i * st];
    if (want_max ? v > best : v < best) { best = v; bi = i; }
  }
  *val = best;
  *arg = bi;
}

static void store_result(const red_ctx *c, char *o, double val, int64_t arg) {
  if (c->op == LURN_ARGMAX || c->op == LURN_ARGMIN) *(int32_t *)o = (int32_t)arg;
  else if (c->out == LURN_INT32) *(int32_t *)o = to_i32(val);
  else *(float *)o = (float)val;
}

/* One row of outputs; each output reduces c->len inputs at stride c->stride. */
static void row_reduce(const void *ctx, int64_t n, char *const *p, const int64_t *s) {
  const red_ctx *c = ctx;
  if ((c->op == LURN_SUM || c->op == LURN_MEAN) && c->in == LURN_FLOAT32 && c->stride != 1 &&
      s[1] == 1) {
    /* Summing over an outer dim (e.g. a bias gradient over the batch): walk
     * the input row by row into a block of double accumulators instead of
     * jumping `stride` apart for each output. Same order per output. */
    const float *x = (const float *)p[1];
    for (int64_t j0 = 0; j0 < n; j0 += 256) {
      int64_t nb = n - j0 < 256 ? n - j0 : 256;
      double acc[256] = {0};
      for (int64_t r = 0; r < c->len; r++) {
        const float *xr = x + r * c->stride + j0;
        SIMD for (int64_t j = 0; j < nb; j++) acc[j] += xr[j];
      }
      for (int64_t j = 0; j < nb; j++) {
        double v = c->op == LURN_MEAN ? acc[j] / (double)c->len : acc[j];
        store_result(c, p[0] + (j0 + j) * s[0] * 4, v, 0);
      }
    }
    return;
  }
  for (int64_t j = 0; j < n; j++) {
    double val;
    int64_t arg = 0;
    const char *x = p[1] + j * s[1] * 4;
    if (c->in == LURN_FLOAT32) reduce_f32(c->op, (const float *)x, c->len, c->stride, &val, &arg);
    else reduce_i32(c->op, (const int32_t *)x, c->len, c->stride, &val, &arg);
    store_result(c, p[0] + j * s[0] * 4, val, arg);
  }
}

/* Whole-tensor reduction state, fed row by row in row-major order. */
typedef struct {
  lurn_redop op;
  lurn_dtype in;
  double acc;       /* SUM/MEAN (float input) */
  int64_t iacc;     /* SUM/MEAN (int input) */
  double best;
  int64_t arg, seen;
  int done;         /* a NaN was found: max/min/arg are final */
} all_ctx;

static void row_all(const void *ctx, int64_t n, char *const *p, const int64_t *s) {
  all_ctx *c = (all_ctx *)ctx;
  if (c->done) return;
  double val;
  int64_t arg = 0;
  if (c->op == LURN_SUM || c->op == LURN_MEAN) {
    if (c->in == LURN_FLOAT32) {
      const float *x = (const float *)p[0];
      double acc = c->acc;   /* continue the one running sum, same order as a naive loop */
      for (int64_t i = 0; i < n; i++) acc += x[i * s[0]];
      c->acc = acc;
    } else {
      const int32_t *x = (const int32_t *)p[0];
      for (int64_t i = 0; i < n; i++) c->iacc += x[i * s[0]];
    }
    c->seen += n;
    return;
  }
  if (c->in == LURN_FLOAT32) reduce_f32(c->op, (const float *)p[0], n, s[0], &val, &arg);
  else reduce_i32(c->op, (const int32_t *)p[0], n, s[0], &val, &arg);
  int want_max = c->op == LURN_MAX || c->op == LURN_ARGMAX;
  if (val != val) {
    c->best = val;
    c->arg = c->seen + arg;
    c->done = 1;
  } else if (c->seen == 0 || (want_max ? val > c->best : val < c->best)) {
    c->best = val;
    c->arg = c->seen + arg;
  }
  c->seen += n;
}

int lurn_reduce(lurn_tensor *out, lurn_redop op, const lurn_tensor *a, int dim, int keepdim,
                lurn_status *st) {
  const char *name = redop_name(op);
  char b1[160], b2[160];
  CHECK_LIVE(a, name);
  if ((unsigned)op > LURN_ARGMIN) return lurn_fail(st, LURN_EARG, "reduce: unknown op %d", (int)op);
  int all = dim < 0 || (a->ndim == 0 && dim == 0);
  if (!all && dim >= a->ndim)
    return lurn_fail(st, LURN_EARG, "%s: dim %d out of range for %s", name, dim,
                     lurn_tensor_shape_str(a, b1, sizeof b1));
  int64_t len = all ? lurn_numel(a) : a->size[dim];
  int is_arg = op == LURN_ARGMAX || op == LURN_ARGMIN;
  if (len == 0 && op != LURN_SUM && op != LURN_MEAN)
    return lurn_fail(st, LURN_ESHAPE, "%s: cannot reduce an empty %s of %s", name,
                     all ? "tensor" : "dim", lurn_tensor_shape_str(a, b1, sizeof b1));
  lurn_dtype dt = is_arg ? LURN_INT32 : op == LURN_MEAN ? LURN_FLOAT32 : a->dtype;
  /* result shape */
  int rnd = 0;
  int64_t rsize[LURN_MAXDIM];
  for (int d = 0; d < a->ndim; d++) {
    if (all || d == dim) {
      if (keepdim) rsize[rnd++] = 1;
    } else {
      rsize[rnd++] = a->size[d];
    }
  }
  int inplace = out->storage != NULL;
  if (inplace) {
    if (out->ndim != rnd || memcmp(out->size, rsize, sizeof(int64_t) * (size_t)rnd) != 0)
      return lurn_fail(st, LURN_ESHAPE, "%s: output %s does not match the result shape %s", name,
                       lurn_tensor_shape_str(out, b1, sizeof b1), lurn_shape_str(b2, sizeof b2, rnd, rsize));
    if (self_overlapping(out))
      return lurn_fail(st, LURN_EARG, "%s: output %s is an expanded view (elements share memory)",
                       name, lurn_tensor_shape_str(out, b1, sizeof b1));
    if (out->dtype != dt)
      return lurn_fail(st, LURN_ESHAPE, "%s: cannot write a %s result into a %s output", name,
                       lurn_dtype_name(dt), lurn_dtype_name(out->dtype));
  }
  lurn_tensor ta = {0}, res = {0};
  int rc = LURN_OK;
  if (inplace && a->storage == out->storage) {
    if ((rc = lurn_clone(&ta, a, a->dtype, st))) goto done;
    a = &ta;
  }
  lurn_tensor *o = out;
  if (!inplace) {
    if ((rc = lurn_tensor_new(&res, dt, rnd, rsize, st))) goto done;
    o = &res;
  }
  if (all) {
    all_ctx c = {op, a->dtype, 0, 0, 0, 0, 0, 0};
    iter_t it = {0};   // iter_init fills it; zeroed so no path reads garbage
    const lurn_tensor *ops[1] = {a};
    iter_init(&it, a->ndim, a->size, 1, ops);
    iter_run(&it, row_all, &c, 0);
    char *po = (char *)o->storage->data + o->offset * 4;
    red_ctx rc2 = {op, a->dtype, dt, len, 1};
    double v;
    if (op == LURN_SUM || op == LURN_MEAN) {
      v = a->dtype == LURN_FLOAT32 ? c.acc : (double)c.iacc;
      if (op == LURN_MEAN) v /= (double)len;
    } else {
      v = c.best;
    }
    store_result(&rc2, po, v, c.arg);
  } else {
    /* Iterate over a's shape with the reduced dim collapsed to 1; `o` is seen
     * through a keepdim view so its dims line up with a's. */
    lurn_tensor ov = *o, av = *a;
    ov.ndim = a->ndim;
    for (int d = 0, k = 0; d < a->ndim; d++) {
      if (d == dim) {
        ov.size[d] = 1;
        ov.stride[d] = 0;
        if (keepdim) k++;
      } else {
        ov.size[d] = o->size[k];
        ov.stride[d] = o->stride[k];
        k++;
      }
    }
    av.size[dim] = 1;
    red_ctx c = {op, a->dtype, dt, len, a->stride[dim]};
    iter_t it = {0};   // iter_init fills it; zeroed so no path reads garbage
    const lurn_tensor *ops[2] = {&ov, &av};
    iter_init(&it, a->ndim, av.size, 2, ops);
    /* threads split the outputs, each reduced whole by one thread */
    iter_run(&it, row_reduce, &c, lurn_numel(a));
  }
  if (!inplace) {
    *out = res;
    res.storage = NULL;
  }
done:
  lurn_tensor_release(&ta);
  lurn_tensor_release(&res);
  return rc;
}

/* ---- allclose -------------------------------------------------------------- */

typedef struct {
  double rtol, atol;
  lurn_dtype da, db;
  int close;
} close_ctx;

static void row_close(const void *ctx, int64_t n, char *const *p, const int64_t *s) {
  close_ctx *c = (close_ctx *)ctx;
  if (!c->close) return;
  for (int64_t i = 0; i < n; i++) {
    double x = c->da == LURN_FLOAT32 ? ((const float *)p[0])[i * s[0]] : ((const int32_t *)p[0])[i * s[0]];
    double y = c->db == LURN_FLOAT32 ? ((const float *)p[1])[i * s[1]] : ((const int32_t *)p[1])[i * s[1]];
    if (x == y) continue;   /* equal infinities are close */
    if (!(fabs(x - y) <= c->atol + c->rtol * fabs(y))) {
      c->close = 0;
      return;
    }
  }
}

int lurn_allclose(const lurn_tensor *a, const lurn_tensor *b, double rtol, double atol,
                  int *result, lurn_status *st) {
  char b1[160], b2[160];
  CHECK_LIVE(a, "allclose");
  CHECK_LIVE(b, "allclose");
  int ndim;
  int64_t size[LURN_MAXDIM];
  if (!broadcast_shape(a, b, &ndim, size))
    return lurn_fail(st, LURN_ESHAPE, "allclose: shapes %s and %s do not broadcast",
                     lurn_tensor_shape_str(a, b1, sizeof b1), lurn_tensor_shape_str(b, b2, sizeof b2));
  close_ctx c = {rtol, atol, a->dtype, b->dtype, 1};
  iter_t it = {0};   // iter_init fills it; zeroed so no path reads garbage
  const lurn_tensor *ops[2] = {a, b};
  iter_init(&it, ndim, size, 2, ops);
  iter_run(&it, row_close, &c, 0);   /* serial: the context is written */
  *result = c.close;
  return LURN_OK;
}

/* ---- matrix products ------------------------------------------------------- */

/* Strides BLIS accepts for an r x c matrix, after giving unit dims (whose
 * stride never matters) a harmless value; 0 if BLIS would reject them (zero
 * strides of expanded dims, overlapping rows/columns). Mirrors BLIS's own
 * bli_check_matrix_strides so we copy instead of letting BLIS abort. */
static int blis_strides(int64_t r, int64_t c, int64_t *rs, int64_t *cs) {
  if (r == 0 || c == 0) { *rs = c > 0 ? c : 1; *cs = 1; return 1; }
  if (r == 1 && c == 1) { *rs = 1; *cs = 1; return 1; }
  if (r == 1) *rs = *cs > 0 ? c * *cs : c;
  if (c == 1) *cs = *rs > 0 ? r * *rs : r;
  int64_t R = *rs, C = *cs;
  if (R <= 0 || C <= 0) return 0;
  if (R != 1 && C != 1) {
    if (R == C) return 0;
    if (R < C) return r * R <= C;
    return c * C <= R;
  }
  if (R == 1 && C == 1) return 0;
  if (R == 1) return C >= r;
  return R >= c;
}

/* A BLIS-ready 2-D operand: the view itself, or a contiguous copy. */
typedef struct {
  const float *p;
  int64_t rs, cs;
  lurn_tensor tmp;
} mat_t;

static int mat_prepare(mat_t *m, const lurn_tensor *t, int64_t r, int64_t c, int64_t rs,
                       int64_t cs, const float *p, lurn_status *st) {
  memset(m, 0, sizeof *m);
  m->p = p;
  m->rs = rs;
  m->cs = cs;
  if (blis_strides(r, c, &m->rs, &m->cs)) return LURN_OK;
  int rc = lurn_clone(&m->tmp, t, LURN_FLOAT32, st);
  if (rc) return rc;
  m->p = lurn_f32(&m->tmp);
  m->rs = c;
  m->cs = 1;
  blis_strides(r, c, &m->rs, &m->cs);
  return LURN_OK;
}

int lurn_mm(lurn_tensor *out, const lurn_tensor *a, const lurn_tensor *b, float alpha,
            float beta, lurn_status *st) {
  char b1[160], b2[160], b3[160];
  CHECK_LIVE(a, "mm");
  CHECK_LIVE(b, "mm");
  if (a->ndim != 2 || b->ndim != 2)
    return lurn_fail(st, LURN_ESHAPE, "mm: expected 2-D matrices, got %s and %s",
                     lurn_tensor_shape_str(a, b1, sizeof b1), lurn_tensor_shape_str(b, b2, sizeof b2));
  if (a->dtype != LURN_FLOAT32 || b->dtype != LURN_FLOAT32)
    return lurn_fail(st, LURN_ESHAPE, "mm: expected float32, got %s",
                     lurn_dtype_name(a->dtype != LURN_FLOAT32 ? a->dtype : b->dtype));
  int64_t m = a->size[0], k = a->size[1], n = b->size[1];
  if (b->size[0] != k)
    return lurn_fail(st, LURN_ESHAPE, "mm: cannot multiply %s by %s",
                     lurn_tensor_shape_str(a, b1, sizeof b1), lurn_tensor_shape_str(b, b2, sizeof b2));
  int inplace = out->storage != NULL;
  if (inplace) {
    if (out->ndim != 2 || out->size[0] != m || out->size[1] != n)
      return lurn_fail(st, LURN_ESHAPE, "mm: output %s does not match [%lld,%lld] for %s by %s",
                       lurn_tensor_shape_str(out, b1, sizeof b1), (long long)m, (long long)n,
                       lurn_tensor_shape_str(a, b2, sizeof b2), lurn_tensor_shape_str(b, b3, sizeof b3));
    if (out->dtype != LURN_FLOAT32)
      return lurn_fail(st, LURN_ESHAPE, "mm: expected a float32 output, got %s",
                       lurn_dtype_name(out->dtype));
    if (self_overlapping(out))
      return lurn_fail(st, LURN_EARG, "mm: output %s is an expanded view (elements share memory)",
                       lurn_tensor_shape_str(out, b1, sizeof b1));
  }
  mat_t A, B;
  lurn_tensor C = {0};
  int rc = mat_prepare(&A, a, m, k, a->stride[0], a->stride[1], lurn_f32(a), st);
  if (!rc) rc = mat_prepare(&B, b, k, n, b->stride[0], b->stride[1], lurn_f32(b), st);
  else memset(&B, 0, sizeof B);
  if (rc) goto done;
  if (!inplace) {
    if ((rc = lurn_tensor_new(&C, LURN_FLOAT32, 2, (int64_t[]){m, n}, st))) goto done;
    /* C := alpha*A*B */
    lurn_sgemm(m, n, k, alpha, A.p, A.rs, A.cs, B.p, B.rs, B.cs, 0.0f, lurn_f32(&C), n, 1);
    *out = C;
    C.storage = NULL;
    goto done;
  }
  int64_t rs = out->stride[0], cs = out->stride[1];
  if (out->storage != a->storage && out->storage != b->storage && blis_strides(m, n, &rs, &cs)) {
    /* C := beta*C + alpha*A*B, straight into the caller's view */
    lurn_sgemm(m, n, k, alpha, A.p, A.rs, A.cs, B.p, B.rs, B.cs, beta, lurn_f32(out), rs, cs);
  } else {
    /* The output overlaps an input or has strides BLIS rejects: work in a
     * contiguous copy of it and copy back. */
    if ((rc = lurn_clone(&C, out, LURN_FLOAT32, st))) goto done;
    lurn_sgemm(m, n, k, alpha, A.p, A.rs, A.cs, B.p, B.rs, B.cs, beta, lurn_f32(&C), n, 1);
    rc = lurn_copy(out, &C, st);
  }
done:
  lurn_tensor_release(&A.tmp);
  lurn_tensor_release(&B.tmp);
  lurn_tensor_release(&C);
  return rc;
}

int lurn_bmm(lurn_tensor *out, const lurn_tensor *a, const lurn_tensor *b, lurn_status *st) {
  char b1[160], b2[160];
  CHECK_LIVE(a, "bmm");
  CHECK_LIVE(b, "bmm");
  if (a->ndim != 3 || b->ndim != 3)
    return lurn_fail(st, LURN_ESHAPE, "bmm: expected 3-D batches, got %s and %s",
                     lurn_tensor_shape_str(a, b1, sizeof b1), lurn_tensor_shape_str(b, b2, sizeof b2));
  if (a->dtype != LURN_FLOAT32 || b->dtype != LURN_FLOAT32)
    return lurn_fail(st, LURN_ESHAPE, "bmm: expected float32, got %s",
                     lurn_dtype_name(a->dtype != LURN_FLOAT32 ? a->dtype : b->dtype));
  int64_t nb = a->size[0], m = a->size[1], k = a->size[2], n = b->size[2];
  if (b->size[0] != nb || b->size[1] != k)
    return lurn_fail(st, LURN_ESHAPE, "bmm: cannot multiply %s by %s",
                     lurn_tensor_shape_str(a, b1, sizeof b1), lurn_tensor_shape_str(b, b2, sizeof b2));
  int64_t osize[3] = {nb, m, n};
  int inplace = out->storage != NULL;
  if (inplace) {
    if (out->ndim != 3 || memcmp(out->size, osize, sizeof osize) != 0)
      return lurn_fail(st, LURN_ESHAPE, "bmm: output %s does not match %s",
                       lurn_tensor_shape_str(out, b1, sizeof b1), lurn_shape_str(b2, sizeof b2, 3, osize));
    if (out->dtype != LURN_FLOAT32)
      return lurn_fail(st, LURN_ESHAPE, "bmm: expected a float32 output, got %s",
                       lurn_dtype_name(out->dtype));
    if (self_overlapping(out))
      return lurn_fail(st, LURN_EARG, "bmm: output %s is an expanded view (elements share memory)",
                       lurn_tensor_shape_str(out, b1, sizeof b1));
  }
  lurn_tensor ta = {0}, tb = {0}, C = {0};
  int rc = LURN_OK;
  /* One check per operand covers every batch entry (same strides for all). */
  int64_t rs, cs;
  rs = a->stride[1]; cs = a->stride[2];
  if (!blis_strides(m, k, &rs, &cs) || (inplace && a->storage == out->storage)) {
    if ((rc = lurn_clone(&ta, a, LURN_FLOAT32, st))) goto done;
    a = &ta;
  }
  rs = b->stride[1]; cs = b->stride[2];
  if (!blis_strides(k, n, &rs, &cs) || (inplace && b->storage == out->storage)) {
    if ((rc = lurn_clone(&tb, b, LURN_FLOAT32, st))) goto done;
    b = &tb;
  }
  lurn_tensor *o = out;
  rs = inplace ? out->stride[1] : n;
  cs = inplace ? out->stride[2] : 1;
  if (!inplace || !blis_strides(m, n, &rs, &cs)) {
    if ((rc = lurn_tensor_new(&C, LURN_FLOAT32, 3, osize, st))) goto done;
    o = &C;
    rs = n;
    cs = 1;
    blis_strides(m, n, &rs, &cs);
  }
  int64_t ars = a->stride[1], acs = a->stride[2], brs = b->stride[1], bcs = b->stride[2];
  blis_strides(m, k, &ars, &acs);
  blis_strides(k, n, &brs, &bcs);
  for (int64_t i = 0; i < nb; i++) {
    const float *pa = lurn_f32(a) + i * a->stride[0];   // [m, k]
    const float *pb = lurn_f32(b) + i * b->stride[0];   // [k, n]
    float *pc = lurn_f32(o) + i * o->stride[0];         // [m, n]
    /* C_i := A_i * B_i */
    lurn_sgemm(m, n, k, 1.0f, pa, ars, acs, pb, brs, bcs, 0.0f, pc, rs, cs);
  }
  if (!inplace) {
    *out = C;
    C.storage = NULL;
  } else if (o != out) {
    rc = lurn_copy(out, &C, st);
  }
done:
  lurn_tensor_release(&ta);
  lurn_tensor_release(&tb);
  lurn_tensor_release(&C);
  return rc;
}
