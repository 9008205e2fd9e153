/*
 * tensor.h — lurn's tensor: a refcounted storage and a strided view of it.
 *
 * A storage is one flat allocation of float32 or int32 elements with a
 * reference count. A tensor (`lurn_tensor`) is a view: storage + offset +
 * ndim sizes and strides, all in elements. `view`, `narrow`, `select`,
 * `transpose`, `permute` and `expand` rewrite the view only; no data moves.
 * A 0-dim tensor (ndim == 0) holds one element (a scalar).
 *
 * Ownership — the one rule:
 *   A `lurn_tensor` value that has a non-NULL `storage` owns exactly one
 *   reference to it. Every function below that fills an output tensor makes
 *   the output own a new reference (it either allocates fresh storage or
 *   retains the input's). `lurn_tensor_release` drops the reference and sets
 *   `storage` to NULL, so calling it twice, or on a zeroed struct, is safe.
 *   Output tensors passed to the functions below must be released (or
 *   zeroed) on entry, except where an "into" form says it writes into an
 *   existing tensor. On failure, an output is left released.
 *
 * Threads: elementwise and reduction kernels may split independent outputs
 * across OpenMP threads, never a single reduction, so results are the same
 * bit for bit at every thread count.
 */
#ifndef LURN_TENSOR_H
#define LURN_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define LURN_MAXDIM 8

typedef enum { LURN_FLOAT32 = 0, LURN_INT32 = 1 } lurn_dtype;

typedef struct lurn_storage {
  void *data;         /* nelem elements of the storage's dtype, 64-byte aligned */
  int64_t nelem;
  lurn_dtype dtype;
  int refcount;
} lurn_storage;

typedef struct lurn_tensor {
  lurn_storage *storage;          /* NULL: released / empty */
  lurn_dtype dtype;
  int ndim;                       /* 0 .. LURN_MAXDIM */
  int64_t offset;                 /* in elements, into storage->data */
  int64_t size[LURN_MAXDIM];
  int64_t stride[LURN_MAXDIM];    /* in elements; 0 for expanded dims */
} lurn_tensor;

/* ---- lifetime ------------------------------------------------------------ */

/* Allocate a contiguous, zero-filled tensor of the given shape. */
int lurn_tensor_new(lurn_tensor *out, lurn_dtype dtype, int ndim, const int64_t *size,
                    lurn_status *st);
/* The same without the zeros: the contents are whatever the memory held, for
 * an output that its maker then writes in full (a pass over memory saved). */
int lurn_tensor_new_uninit(lurn_tensor *out, lurn_dtype dtype, int ndim, const int64_t *size,
                           lurn_status *st);
/* Allocate like `like` (same dtype and shape, contiguous), zero-filled. */
int lurn_tensor_new_like(lurn_tensor *out, const lurn_tensor *like, lurn_status *st);
/* Make `out` another view of `t`'s storage with the same metadata (retains). */
void lurn_tensor_share(lurn_tensor *out, const lurn_tensor *t);
/* Drop the reference held by `t` (idempotent). */
void lurn_tensor_release(lurn_tensor *t);

/* ---- shapes --------------------------------------------------------------- */

/* The most elements (and the largest contiguous stride product) a shape may
 * describe: 2^40, i.e. 4 TiB of float32. Keeping every shape under it keeps
 * element counts, strides, offsets and byte counts far from int64 overflow. */
#define LURN_MAX_NUMEL ((int64_t)1 << 40)

/* Check a shape before it becomes a tensor: 0 <= ndim <= LURN_MAXDIM, every
 * size >= 0, and the product of the sizes with zeros counted as 1 (what
 * contiguous strides multiply) at most LURN_MAX_NUMEL, all without
 * overflow. Sets *numel (if not NULL) to the element count. On failure the
 * message starts with `name` and says the shape is too large (or which size
 * is negative). */
int lurn_shape_check(int ndim, const int64_t *size, int64_t *numel, const char *name,
                     lurn_status *st);

/* ---- queries ------------------------------------------------------------- */

/* Bytes currently held by all live storages (for garbage-collection pressure). */
int64_t lurn_storage_bytes(void);

int64_t lurn_numel(const lurn_tensor *t);
int lurn_is_contiguous(const lurn_tensor *t);
const char *lurn_dtype_name(lurn_dtype d);
/* "[d0,d1,...]" for error messages. */
char *lurn_tensor_shape_str(const lurn_tensor *t, char *buf, int buflen);
int lurn_same_shape(const lurn_tensor *a, const lurn_tensor *b);

/* Element pointer of the first element of the view. */
static inline float *lurn_f32(const lurn_tensor *t) {
  return (float *)t->storage->data + t->offset;
}
static inline int32_t *lurn_i32(const lurn_tensor *t) {
  return (int32_t *)t->storage->data + t->offset;
}

/* Linear element index (into storage) of a multi-index. */
static inline int64_t lurn_index(const lurn_tensor *t, const int64_t *idx) {
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
  return off;
}

/* Read/write one element as double (either dtype). idx has t->ndim entries,
 * already bounds-checked by the caller. */
double lurn_get(const lurn_tensor *t, const int64_t *idx);
void lurn_set(lurn_tensor *t, const int64_t *idx, double v);

/* ---- views (no copy) ----------------------------------------------------- */

/* Reshape to `size` (one entry may be -1). Fails if the view's strides do not
 * allow it without a copy; `lurn_reshape` copies in that case. */
int lurn_view(lurn_tensor *out, const lurn_tensor *t, int ndim, const int64_t *size,
              lurn_status *st);
int lurn_reshape(lurn_tensor *out, const lurn_tensor *t, int ndim, const int64_t *size,
                 lurn_status *st);
/* Elements [start, start+length) along dim. */
int lurn_narrow(lurn_tensor *out, const lurn_tensor *t, int dim, int64_t start, int64_t length,
                lurn_status *st);
/* Index `index` along dim; the result has one dim fewer. */
int lurn_select(lurn_tensor *out, const lurn_tensor *t, int dim, int64_t index,
                lurn_status *st);
int lurn_transpose(lurn_tensor *out, const lurn_tensor *t, int d0, int d1, lurn_status *st);
/* perm has t->ndim entries, a permutation of 0..ndim-1. */
int lurn_permute(lurn_tensor *out, const lurn_tensor *t, const int *perm, lurn_status *st);
/* Broadcast size-1 dims (and new leading dims) to `size` with stride 0. */
int lurn_expand(lurn_tensor *out, const lurn_tensor *t, int ndim, const int64_t *size,
                lurn_status *st);
/* Retain `t` if contiguous, else copy into fresh contiguous storage. */
int lurn_contiguous(lurn_tensor *out, const lurn_tensor *t, lurn_status *st);

/* ---- fill and copy ------------------------------------------------------- */

/* Into `t`: every element := v. */
void lurn_fill(lurn_tensor *t, double v);
/* Into `dst`: dst := src, src broadcast to dst's shape, dtypes converted
 * (float -> int truncates toward zero). */
int lurn_copy(lurn_tensor *dst, const lurn_tensor *src, lurn_status *st);
/* Fresh contiguous copy of t, optionally converted to `dtype`. */
int lurn_clone(lurn_tensor *out, const lurn_tensor *t, lurn_dtype dtype, lurn_status *st);
/* 0, 1, ..., n-1 style ranges: start, start+step, ... (count elements). */
int lurn_arange(lurn_tensor *out, lurn_dtype dtype, double start, double step, int64_t count,
                lurn_status *st);
int lurn_eye(lurn_tensor *out, int64_t n, int64_t m, lurn_status *st);

/* ---- elementwise --------------------------------------------------------- */

typedef enum {
  LURN_ADD, LURN_SUB, LURN_MUL, LURN_DIV, LURN_POW, LURN_MAXIMUM, LURN_MINIMUM,
  /* comparisons give a float32 mask of 0/1 (int32 if both inputs are int32) */
  LURN_EQ, LURN_NE, LURN_LT, LURN_LE, LURN_GT, LURN_GE
} lurn_binop;

/* out := a op b with NumPy broadcasting. If out->storage is NULL a fresh
 * tensor of the broadcast shape is allocated; otherwise `out` must already
 * have the broadcast shape and is written in place (it may alias a or b,
 * which is how the in-place forms work). dtype: int32 if both are int32
 * (DIV and POW always give float32), else float32. */
int lurn_binary(lurn_tensor *out, lurn_binop op, const lurn_tensor *a, const lurn_tensor *b,
                lurn_status *st);
/* out := a op s (or s op a when `scalar_first`), same output rules. */
int lurn_binary_scalar(lurn_tensor *out, lurn_binop op, const lurn_tensor *a, double s,
                       int scalar_first, lurn_status *st);

typedef enum {
  LURN_NEG, LURN_EXP, LURN_LOG, LURN_TANH, LURN_SIGMOID, LURN_RELU, LURN_SQRT, LURN_ABS,
  LURN_POWS,   /* x^p1 */
  LURN_CLAMP,  /* min(max(x, p1), p2) */
  LURN_SQUARE, LURN_SIGN, LURN_FLOOR, LURN_CEIL, LURN_ROUND
} lurn_unop;

/* out := f(a). Same allocation / in-place rule as lurn_binary. Float32 out
 * (int32 in stays int32 for NEG, ABS, CLAMP, SQUARE, SIGN). */
int lurn_unary(lurn_tensor *out, lurn_unop op, const lurn_tensor *a, double p1, double p2,
               lurn_status *st);

/* ---- reductions ---------------------------------------------------------- */

typedef enum { LURN_SUM, LURN_MEAN, LURN_MAX, LURN_MIN, LURN_ARGMAX, LURN_ARGMIN } lurn_redop;

/* Reduce over `dim`, or over everything when dim < 0 (0-dim result).
 * keepdim keeps the reduced dim with size 1. ARGMAX/ARGMIN give int32
 * (0-based; the first of equal values); SUM/MEAN accumulate in double. */
int lurn_reduce(lurn_tensor *out, lurn_redop op, const lurn_tensor *a, int dim, int keepdim,
                lurn_status *st);

/* *result := all |a-b| <= atol + rtol*|b| (broadcasting; NaN never close). */
int lurn_allclose(const lurn_tensor *a, const lurn_tensor *b, double rtol, double atol,
                  int *result, lurn_status *st);

/* ---- matrix products on BLIS -------------------------------------------- */

/* C := beta*C + alpha*A*B for 2-D float32 views of any strides (transposed
 * views need no copy). If out->storage is NULL it is allocated [m,n] and
 * beta is ignored. */
int lurn_mm(lurn_tensor *out, const lurn_tensor *a, const lurn_tensor *b, float alpha,
            float beta, lurn_status *st);
/* Batched: a [n,m,k] x b [n,k,p] -> out [n,m,p]. */
int lurn_bmm(lurn_tensor *out, const lurn_tensor *a, const lurn_tensor *b, lurn_status *st);

#endif
