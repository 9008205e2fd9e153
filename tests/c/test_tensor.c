/*
 * test_tensor.c — the tensor core against naive loops and scalar math:
 * views share storage, copies convert and broadcast, every elementwise op
 * matches libm, reductions match naive loops, and bad arguments give
 * messages that name the op and the shapes.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "blas.h"
#include "check.h"
#include "rng.h"
#include "tensor.h"

/* ---- helpers ---------------------------------------------------------------- */

static lurn_tensor mk(lurn_dtype dt, int ndim, const int64_t *size) {
  lurn_tensor t = {0};
  lurn_status st;
  if (lurn_tensor_new(&t, dt, ndim, size, &st)) fprintf(stderr, "mk: %s\n", st.msg);
  return t;
}
#define MK(dt, ...) mk(dt, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* Advance a multi-index in row-major order; 0 when done. */
static int next_index(int64_t *idx, int ndim, const int64_t *size) {
  for (int d = ndim - 1; d >= 0; d--) {
    if (++idx[d] < size[d]) return 1;
    idx[d] = 0;
  }
  return 0;
}

/* Fill with distinct values: v_i = scale * (i+1) * (-1)^i + shift, row-major i. */
static void fill_pattern(lurn_tensor *t, double scale, double shift) {
  int64_t idx[LURN_MAXDIM] = {0}, i = 0;
  if (lurn_numel(t) == 0) return;
  do {
    lurn_set(t, idx, scale * (double)(i + 1) * (i % 2 ? -1 : 1) + shift);
    i++;
  } while (next_index(idx, t->ndim, t->size));
}

static void fill_random(lurn_tensor *t, lurn_rng *r, double lo, double hi) {
  lurn_fill_uniform(t, r, lo, hi);
}

/* Element i (row-major) of t. */
static double at(const lurn_tensor *t, int64_t i) {
  int64_t idx[LURN_MAXDIM];
  for (int d = t->ndim - 1; d >= 0; d--) {
    idx[d] = i % t->size[d];
    i /= t->size[d];
  }
  return lurn_get(t, idx);
}

static int64_t shape_eq(const lurn_tensor *t, int ndim, const int64_t *size) {
  if (t->ndim != ndim) return 0;
  for (int d = 0; d < ndim; d++)
    if (t->size[d] != size[d]) return 0;
  return 1;
}
#define SHAPE_IS(t, ...) shape_eq(&(t), (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* ---- lifetime ------------------------------------------------------------------ */

static void test_new(void) {
  lurn_status st;
  lurn_tensor t = MK(LURN_FLOAT32, 3, 4);
  CHECK(t.storage && t.storage->refcount == 1);
  CHECK(((uintptr_t)t.storage->data & 63) == 0);
  CHECK(t.stride[0] == 4 && t.stride[1] == 1 && t.offset == 0);
  CHECK(lurn_numel(&t) == 12 && lurn_is_contiguous(&t));
  int zero = 1;
  for (int i = 0; i < 12; i++) zero &= lurn_f32(&t)[i] == 0.0f;
  CHECK(zero);
  lurn_tensor_release(&t);
  CHECK(t.storage == NULL);
  lurn_tensor_release(&t);   /* twice is safe */
  lurn_tensor z = {0};
  lurn_tensor_release(&z);   /* a zeroed struct too */

  lurn_tensor s = mk(LURN_INT32, 0, NULL);   /* a scalar */
  CHECK(s.ndim == 0 && lurn_numel(&s) == 1 && lurn_i32(&s)[0] == 0);
  lurn_tensor e = MK(LURN_FLOAT32, 0, 5);
  CHECK(e.storage && lurn_numel(&e) == 0);

  lurn_tensor bad = {0};
  CHECK(lurn_tensor_new(&bad, LURN_FLOAT32, 2, (int64_t[]){3, -1}, &st) == LURN_EARG);
  CHECK_MSG(st, "tensor: negative size -1 in [3,-1]");
  CHECK(bad.storage == NULL);
  CHECK(lurn_tensor_new(&bad, LURN_FLOAT32, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, &st));
  CHECK_MSG(st, "at most 8");
  CHECK(lurn_tensor_new(&bad, LURN_FLOAT32, 2, (int64_t[]){1 << 30, 1 << 30}, &st) == LURN_ENOMEM);
  CHECK_MSG(st, "[1073741824,1073741824] is too large");

  lurn_tensor like = {0};
  CHECK(lurn_tensor_new_like(&like, &t.storage ? &s : &s, &st) == 0);
  CHECK(like.ndim == 0 && like.dtype == LURN_INT32 && like.storage != s.storage);
  /* new_like into itself replaces the tensor */
  lurn_tensor u = MK(LURN_FLOAT32, 2, 5);
  lurn_storage *old = u.storage;
  (void)old;
  CHECK(lurn_tensor_new_like(&u, &u, &st) == 0 && SHAPE_IS(u, 2, 5));
  lurn_tensor_release(&u);
  lurn_tensor_release(&like);
  lurn_tensor_release(&s);
  lurn_tensor_release(&e);
}

static void test_get_set(void) {
  lurn_tensor t = MK(LURN_INT32, 2, 3);
  lurn_set(&t, (int64_t[]){1, 2}, -7.9);
  CHECK(lurn_get(&t, (int64_t[]){1, 2}) == -7.0);   /* truncates toward zero */
  lurn_set(&t, (int64_t[]){0, 0}, 1e12);
  CHECK(lurn_get(&t, (int64_t[]){0, 0}) == 2147483647.0);   /* saturates */
  lurn_set(&t, (int64_t[]){0, 1}, NAN);
  CHECK(lurn_get(&t, (int64_t[]){0, 1}) == 0.0);
  CHECK(strcmp(lurn_dtype_name(LURN_INT32), "int32") == 0);
  char b[32];
  CHECK(strcmp(lurn_tensor_shape_str(&t, b, sizeof b), "[2,3]") == 0);
  lurn_tensor_release(&t);
}

/* ---- views ---------------------------------------------------------------------- */

static void test_views_share_storage(void) {
  lurn_status st;
  lurn_tensor x = MK(LURN_FLOAT32, 3, 4);
  fill_pattern(&x, 1, 0);
  lurn_tensor v = {0}, n = {0}, s = {0}, t = {0}, p = {0}, e = {0}, c = {0};

  CHECK(lurn_view(&v, &x, 2, (int64_t[]){2, -1}, &st) == 0);
  CHECK(SHAPE_IS(v, 2, 6) && v.storage == x.storage);
  CHECK(x.storage->refcount == 2);
  for (int i = 0; i < 12; i++) CHECK(at(&v, i) == at(&x, i));

  CHECK(lurn_narrow(&n, &x, 1, 1, 2, &st) == 0);
  CHECK(SHAPE_IS(n, 3, 2) && n.offset == 1 && n.stride[0] == 4 && n.storage == x.storage);
  CHECK(lurn_get(&n, (int64_t[]){2, 1}) == lurn_get(&x, (int64_t[]){2, 2}));
  CHECK(!lurn_is_contiguous(&n));

  CHECK(lurn_select(&s, &x, 0, 2, &st) == 0);
  CHECK(SHAPE_IS(s, 4) && s.offset == 8);
  CHECK(lurn_get(&s, (int64_t[]){3}) == lurn_get(&x, (int64_t[]){2, 3}));

  CHECK(lurn_transpose(&t, &x, 0, 1, &st) == 0);
  CHECK(SHAPE_IS(t, 4, 3) && t.stride[0] == 1 && t.stride[1] == 4);
  CHECK(lurn_get(&t, (int64_t[]){3, 1}) == lurn_get(&x, (int64_t[]){1, 3}));

  lurn_tensor x3 = MK(LURN_FLOAT32, 2, 3, 4);
  fill_pattern(&x3, 1, 0);
  CHECK(lurn_permute(&p, &x3, (int[]){2, 0, 1}, &st) == 0);
  CHECK(SHAPE_IS(p, 4, 2, 3) && p.stride[0] == 1 && p.stride[1] == 12 && p.stride[2] == 4);
  CHECK(lurn_get(&p, (int64_t[]){3, 1, 2}) == lurn_get(&x3, (int64_t[]){1, 2, 3}));

  lurn_tensor col = MK(LURN_FLOAT32, 3, 1);
  fill_pattern(&col, 1, 0);
  CHECK(lurn_expand(&e, &col, 3, (int64_t[]){2, 3, 4}, &st) == 0);
  CHECK(SHAPE_IS(e, 2, 3, 4) && e.stride[0] == 0 && e.stride[2] == 0 && e.stride[1] == 1);
  CHECK(lurn_get(&e, (int64_t[]){1, 2, 3}) == lurn_get(&col, (int64_t[]){2, 0}));
  lurn_tensor e2 = {0};
  CHECK(lurn_expand(&e2, &col, 2, (int64_t[]){-1, 5}, &st) == 0 && SHAPE_IS(e2, 3, 5));
  lurn_tensor_release(&e2);

  /* contiguous: shares when already contiguous, copies otherwise */
  CHECK(lurn_contiguous(&c, &x, &st) == 0 && c.storage == x.storage);
  lurn_tensor_release(&c);
  CHECK(lurn_contiguous(&c, &t, &st) == 0 && c.storage != x.storage && lurn_is_contiguous(&c));
  for (int i = 0; i < 12; i++) CHECK(at(&c, i) == at(&t, i));
  lurn_tensor_release(&c);

  /* writes through a view are seen by the base */
  lurn_set(&t, (int64_t[]){2, 0}, 99);
  CHECK(lurn_get(&x, (int64_t[]){0, 2}) == 99);

  /* a view of a view, into itself */
  lurn_tensor w = {0};
  lurn_tensor_share(&w, &x);
  CHECK(lurn_narrow(&w, &w, 0, 1, 2, &st) == 0);
  CHECK(lurn_select(&w, &w, 1, 3, &st) == 0);
  CHECK(SHAPE_IS(w, 2) && lurn_get(&w, (int64_t[]){1}) == lurn_get(&x, (int64_t[]){2, 3}));

  int before = x.storage->refcount;
  CHECK(before == 6);   /* x, v, n, s, t, w */
  lurn_tensor_release(&v);
  lurn_tensor_release(&n);
  lurn_tensor_release(&s);
  lurn_tensor_release(&t);
  lurn_tensor_release(&w);
  CHECK(x.storage->refcount == 1);
  lurn_tensor_release(&p);
  CHECK(x3.storage->refcount == 1);
  lurn_tensor_release(&e);
  CHECK(col.storage->refcount == 1);
  lurn_tensor_release(&x);
  lurn_tensor_release(&x3);
  lurn_tensor_release(&col);
}

static void test_view_vs_reshape(void) {
  lurn_status st;
  lurn_tensor x = MK(LURN_FLOAT32, 4, 3), t = {0}, v = {0}, r = {0};
  fill_pattern(&x, 1, 0);
  lurn_transpose(&t, &x, 0, 1, &st);   /* [3,4], non-contiguous */
  CHECK(lurn_view(&v, &t, 1, (int64_t[]){12}, &st) == LURN_ESHAPE);
  CHECK(strcmp(st.msg, "view: cannot view [3,4] (non-contiguous) as [12]; use reshape") == 0);
  CHECK(v.storage == NULL);
  CHECK(lurn_reshape(&r, &t, 1, (int64_t[]){-1}, &st) == 0);
  CHECK(SHAPE_IS(r, 12) && r.storage != x.storage);
  for (int i = 0; i < 12; i++) CHECK(at(&r, i) == at(&t, i));
  lurn_tensor_release(&r);

  /* view on a non-contiguous tensor works when the split dims stay together */
  CHECK(lurn_view(&v, &t, 3, (int64_t[]){3, 2, 2}, &st) == 0);
  CHECK(v.storage == x.storage);
  for (int i = 0; i < 12; i++) CHECK(at(&v, i) == at(&t, i));
  lurn_tensor_release(&v);
  lurn_tensor n = {0};
  lurn_tensor x3 = MK(LURN_FLOAT32, 2, 3, 4);
  fill_pattern(&x3, 1, 0);
  lurn_narrow(&n, &x3, 1, 1, 2, &st);   /* [2,2,4] strides [12,4,1] */
  CHECK(lurn_view(&v, &n, 2, (int64_t[]){2, 8}, &st) == 0);
  for (int i = 0; i < 16; i++) CHECK(at(&v, i) == at(&n, i));
  lurn_tensor_release(&v);
  CHECK(lurn_view(&v, &n, 1, (int64_t[]){16}, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "view: cannot view [2,2,4] (non-contiguous) as [16]");
  CHECK(lurn_reshape(&r, &n, 2, (int64_t[]){4, 4}, &st) == 0);
  for (int i = 0; i < 16; i++) CHECK(at(&r, i) == at(&n, i));
  lurn_tensor_release(&r);

  /* bad sizes */
  CHECK(lurn_view(&v, &x, 2, (int64_t[]){5, -1}, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "view: shape [5,-1] is invalid for input [4,3] of 12 elements");
  CHECK(lurn_view(&v, &x, 2, (int64_t[]){-1, -1}, &st) == LURN_EARG);
  CHECK_MSG(st, "view: only one dim can be -1");
  CHECK(lurn_reshape(&v, &x, 2, (int64_t[]){2, 7}, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "reshape: shape [2,7] is invalid for input [4,3]");
  /* scalar <-> [1,1] */
  lurn_tensor one = MK(LURN_FLOAT32, 1, 1), sc = {0};
  CHECK(lurn_view(&sc, &one, 0, NULL, &st) == 0 && sc.ndim == 0);
  CHECK(lurn_view(&v, &sc, 2, (int64_t[]){1, 1}, &st) == 0 && SHAPE_IS(v, 1, 1));
  lurn_tensor_release(&v);
  lurn_tensor_release(&sc);
  lurn_tensor_release(&one);
  lurn_tensor_release(&n);
  lurn_tensor_release(&x3);
  lurn_tensor_release(&t);
  lurn_tensor_release(&x);
}

static void test_view_errors(void) {
  lurn_status st;
  lurn_tensor x = MK(LURN_FLOAT32, 3, 4), o = {0};
  CHECK(lurn_narrow(&o, &x, 1, 2, 5, &st) == LURN_EARG);
  CHECK(strcmp(st.msg, "narrow: dim 1 range [2,7) out of bounds for size 4 in [3,4]") == 0);
  CHECK(lurn_narrow(&o, &x, 2, 0, 1, &st) == LURN_EARG);
  CHECK(strcmp(st.msg, "narrow: dim 2 out of range for [3,4]") == 0);
  CHECK(lurn_narrow(&o, &x, -1, 0, 1, &st) == LURN_EARG);   /* negative dims are the binding's job */
  CHECK(lurn_narrow(&o, &x, 0, -1, 1, &st) == LURN_EARG);
  CHECK(lurn_narrow(&o, &x, 0, 3, 0, &st) == 0 && SHAPE_IS(o, 0, 4));   /* empty is fine */
  lurn_tensor_release(&o);
  CHECK(lurn_select(&o, &x, 0, 3, &st) == LURN_EARG);
  CHECK(strcmp(st.msg, "select: index 3 out of range for dim 0 of size 3 in [3,4]") == 0);
  CHECK(lurn_transpose(&o, &x, 0, 2, &st) == LURN_EARG);
  CHECK_MSG(st, "transpose: dim 2 out of range for [3,4]");
  CHECK(lurn_permute(&o, &x, (int[]){0, 0}, &st) == LURN_EARG);
  CHECK_MSG(st, "permute: [0,0] is not a permutation of the 2 dims of [3,4]");
  lurn_tensor y = MK(LURN_FLOAT32, 3, 2);
  CHECK(lurn_expand(&o, &y, 2, (int64_t[]){3, 4}, &st) == LURN_ESHAPE);
  CHECK(strcmp(st.msg, "expand: cannot expand [3,2] to [3,4]") == 0);
  CHECK(lurn_expand(&o, &y, 1, (int64_t[]){6}, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "expand: cannot expand [3,2] to [6]");
  CHECK(o.storage == NULL);
  lurn_tensor_release(&x);
  CHECK(lurn_narrow(&o, &x, 0, 0, 1, &st) == LURN_EARG);   /* a released input */
  CHECK_MSG(st, "narrow: tensor has been released");
  lurn_tensor_release(&y);
}

/* Shapes whose element count or contiguous strides would pass 2^40 (and
 * overflow int64 further on) are refused by name, before any allocation;
 * on 53da342 [0, 2^40, 2^40] was allocated with overflowed strides and an
 * expand to [2^40, 2^40, 3] reported 0 elements. */
static void test_shape_limits(void) {
  lurn_status st;
  const int64_t big = (int64_t)1 << 40;
  int64_t n = -7;
  CHECK(lurn_shape_check(3, (int64_t[]){0, big, big}, &n, "tensor", &st) == LURN_ENOMEM);
  CHECK_MSG(st, "tensor: shape [0,1099511627776,1099511627776] is too large (more than 2^40 elements)");
  CHECK(n == -7);   /* untouched on failure */
  CHECK(lurn_shape_check(2, (int64_t[]){INT64_MAX, INT64_MAX}, NULL, "view", &st) == LURN_ENOMEM);
  CHECK(lurn_shape_check(2, (int64_t[]){3, -1}, NULL, "zeros", &st) == LURN_EARG);
  CHECK_MSG(st, "zeros: negative size -1 in [3,-1]");
  CHECK(lurn_shape_check(9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, NULL, "x", &st) == LURN_EARG);
  CHECK(lurn_shape_check(3, (int64_t[]){0, big, 1}, &n, "tensor", &st) == LURN_OK && n == 0);
  CHECK(lurn_shape_check(2, (int64_t[]){big / 4, 4}, &n, "tensor", &st) == LURN_OK && n == big);
  CHECK(lurn_shape_check(0, NULL, &n, "tensor", &st) == LURN_OK && n == 1);
  lurn_tensor o = {0}, one = MK(LURN_FLOAT32, 1, 1, 3);
  CHECK(lurn_tensor_new(&o, LURN_FLOAT32, 3, (int64_t[]){0, big, big}, &st) == LURN_ENOMEM);
  CHECK(o.storage == NULL);
  CHECK(lurn_expand(&o, &one, 3, (int64_t[]){big, big, 3}, &st) == LURN_ENOMEM);
  CHECK_MSG(st, "expand: shape [1099511627776,1099511627776,3] is too large");
  CHECK(o.storage == NULL);
  CHECK(lurn_expand(&o, &one, 3, (int64_t[]){1 << 20, 1 << 10, 3}, &st) == LURN_OK);
  CHECK(lurn_numel(&o) == ((int64_t)3 << 30));
  lurn_tensor e = MK(LURN_FLOAT32, 0);
  CHECK(lurn_view(&o, &e, 3, (int64_t[]){0, big, big}, &st) == LURN_ENOMEM);
  CHECK_MSG(st, "view: shape [0,1099511627776,1099511627776] is too large");
  lurn_tensor_release(&o);
  lurn_tensor_release(&one);
  lurn_tensor_release(&e);
}

/* ---- fill, copy, clone, arange, eye ------------------------------------------ */

static void test_copy_fill(void) {
  lurn_status st;
  lurn_tensor dst = MK(LURN_FLOAT32, 3, 4), row = MK(LURN_FLOAT32, 4);
  fill_pattern(&row, 1.5, 0);
  CHECK(lurn_copy(&dst, &row, &st) == 0);   /* broadcast [4] -> [3,4] */
  for (int i = 0; i < 12; i++) CHECK(at(&dst, i) == at(&row, i % 4));
  lurn_tensor bad = MK(LURN_FLOAT32, 3);
  CHECK(lurn_copy(&dst, &bad, &st) == LURN_ESHAPE);
  CHECK(strcmp(st.msg, "copy: cannot copy [3] into [3,4]") == 0);

  /* dtype conversion: float -> int truncates toward zero */
  lurn_tensor f = MK(LURN_FLOAT32, 4), i32 = MK(LURN_INT32, 4), back = MK(LURN_FLOAT32, 4);
  float vals[4] = {2.7f, -2.7f, 0.5f, -0.5f};
  memcpy(lurn_f32(&f), vals, sizeof vals);
  CHECK(lurn_copy(&i32, &f, &st) == 0);
  CHECK(lurn_i32(&i32)[0] == 2 && lurn_i32(&i32)[1] == -2 && lurn_i32(&i32)[2] == 0 &&
        lurn_i32(&i32)[3] == 0);
  CHECK(lurn_copy(&back, &i32, &st) == 0 && lurn_f32(&back)[1] == -2.0f);
  lurn_tensor cl = {0};
  CHECK(lurn_clone(&cl, &f, LURN_INT32, &st) == 0 && cl.dtype == LURN_INT32 && lurn_i32(&cl)[0] == 2);
  lurn_tensor_release(&cl);

  /* copy into a transposed view and from an overlapping view of itself */
  lurn_tensor sq = MK(LURN_FLOAT32, 3, 3), sqt = {0}, ref = {0};
  fill_pattern(&sq, 1, 0);
  lurn_transpose(&sqt, &sq, 0, 1, &st);
  lurn_clone(&ref, &sqt, LURN_FLOAT32, &st);
  CHECK(lurn_copy(&sq, &sqt, &st) == 0);   /* x:copy(x:t()) */
  for (int i = 0; i < 9; i++) CHECK(at(&sq, i) == at(&ref, i));

  /* copy into an expanded (stride-0) view is refused */
  lurn_tensor one = MK(LURN_FLOAT32, 1), ex = {0};
  lurn_expand(&ex, &one, 1, (int64_t[]){4}, &st);
  CHECK(lurn_copy(&ex, &row, &st) == LURN_EARG);
  CHECK_MSG(st, "copy: destination [4] is an expanded view");

  /* fill through a strided view touches only the view */
  lurn_tensor n = {0};
  lurn_fill(&dst, 0);
  lurn_narrow(&n, &dst, 1, 1, 2, &st);
  lurn_fill(&n, 3.5);
  double sum = 0;
  for (int i = 0; i < 12; i++) sum += at(&dst, i);
  CHECK(sum == 3.5 * 6 && at(&dst, 0) == 0 && at(&dst, 1) == 3.5 && at(&dst, 3) == 0);
  lurn_fill(&i32, -3.9);
  CHECK(lurn_i32(&i32)[3] == -3);

  lurn_tensor ar = {0}, ai = {0}, eye = {0};
  CHECK(lurn_arange(&ar, LURN_FLOAT32, 1, 0.5, 5, &st) == 0 && SHAPE_IS(ar, 5) && at(&ar, 4) == 3.0);
  CHECK(lurn_arange(&ai, LURN_INT32, 10, -3, 4, &st) == 0 && lurn_i32(&ai)[3] == 1);
  CHECK(lurn_arange(&ar, LURN_FLOAT32, 0, 1, -1, &st) == LURN_EARG);
  CHECK(lurn_eye(&eye, 2, 3, &st) == 0 && SHAPE_IS(eye, 2, 3));
  CHECK(at(&eye, 0) == 1 && at(&eye, 4) == 1 && at(&eye, 1) == 0 && at(&eye, 5) == 0);

  lurn_tensor *all[] = {&dst, &row, &bad, &f, &i32, &back, &sq, &sqt, &ref, &one, &ex, &n, &ar, &ai, &eye};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) lurn_tensor_release(all[k]);
}

/* ---- elementwise ------------------------------------------------------------- */

static float ref_bin(lurn_binop op, float x, float y) {
  switch (op) {
    case LURN_ADD: return x + y;
    case LURN_SUB: return x - y;
    case LURN_MUL: return x * y;
    case LURN_DIV: return x / y;
    case LURN_POW: return powf(x, y);
    case LURN_MAXIMUM: return x > y ? x : y;
    case LURN_MINIMUM: return x < y ? x : y;
    case LURN_EQ: return x == y;
    case LURN_NE: return x != y;
    case LURN_LT: return x < y;
    case LURN_LE: return x <= y;
    case LURN_GT: return x > y;
    case LURN_GE: return x >= y;
  }
  return NAN;
}

static void test_binary_ops(void) {
  lurn_status st;
  lurn_rng r;
  lurn_rng_seed(&r, 7);
  lurn_tensor a = MK(LURN_FLOAT32, 5, 7), b = MK(LURN_FLOAT32, 5, 7);
  fill_random(&a, &r, 0.1, 3);
  fill_random(&b, &r, 0.1, 3);
  lurn_f32(&b)[3] = lurn_f32(&a)[3];   /* some equal pairs for the comparisons */
  lurn_f32(&b)[10] = lurn_f32(&a)[10];
  for (int op = LURN_ADD; op <= LURN_GE; op++) {
    lurn_tensor o = {0}, os = {0}, of = {0};
    CHECK(lurn_binary(&o, (lurn_binop)op, &a, &b, &st) == 0);
    CHECK(o.dtype == LURN_FLOAT32 && SHAPE_IS(o, 5, 7));
    const float s = 1.75f;
    CHECK(lurn_binary_scalar(&os, (lurn_binop)op, &a, s, 0, &st) == 0);
    CHECK(lurn_binary_scalar(&of, (lurn_binop)op, &a, s, 1, &st) == 0);
    int bad = 0;
    for (int i = 0; i < 35; i++) {
      float x = lurn_f32(&a)[i], y = lurn_f32(&b)[i];
      /* volatile: the references are rounded to float before the compare, so
       * the compiler cannot fuse "o - x*y" into one exact FMA */
      volatile float r_ab = ref_bin(op, x, y), r_as = ref_bin(op, x, s), r_sa = ref_bin(op, s, x);
      float tol = op == LURN_POW ? 1e-6f * fabsf(r_ab) : 0.0f;
      bad += !(fabsf(lurn_f32(&o)[i] - r_ab) <= tol);
      bad += !(fabsf(lurn_f32(&os)[i] - r_as) <= (op == LURN_POW ? 1e-6f * fabsf(r_as) : 0));
      bad += !(fabsf(lurn_f32(&of)[i] - r_sa) <= (op == LURN_POW ? 1e-6f * fabsf(r_sa) : 0));
    }
    if (bad) fprintf(stderr, "binop %d: %d mismatches\n", op, bad);
    CHECK(bad == 0);
    lurn_tensor_release(&o);
    lurn_tensor_release(&os);
    lurn_tensor_release(&of);
  }
  /* NaN propagates through maximum/minimum */
  lurn_f32(&a)[0] = NAN;
  lurn_tensor o = {0};
  lurn_binary(&o, LURN_MAXIMUM, &a, &b, &st);
  CHECK(isnan(lurn_f32(&o)[0]));
  lurn_tensor_release(&o);
  lurn_binary(&o, LURN_MINIMUM, &b, &a, &st);
  CHECK(isnan(lurn_f32(&o)[0]));
  lurn_tensor_release(&o);
  lurn_tensor_release(&a);
  lurn_tensor_release(&b);
}

static void test_int_ops(void) {
  lurn_status st;
  lurn_tensor a = MK(LURN_INT32, 6), b = MK(LURN_INT32, 6), o = {0};
  int32_t av[6] = {7, -7, 3, 0, INT32_MAX, 5}, bv[6] = {2, 2, -4, 9, 1, 5};
  memcpy(lurn_i32(&a), av, sizeof av);
  memcpy(lurn_i32(&b), bv, sizeof bv);
  CHECK(lurn_binary(&o, LURN_ADD, &a, &b, &st) == 0 && o.dtype == LURN_INT32);
  CHECK(lurn_i32(&o)[0] == 9 && lurn_i32(&o)[2] == -1 && lurn_i32(&o)[4] == INT32_MIN);   /* wraps */
  lurn_tensor_release(&o);
  CHECK(lurn_binary(&o, LURN_DIV, &a, &b, &st) == 0 && o.dtype == LURN_FLOAT32);
  CHECK(lurn_f32(&o)[0] == 3.5f && lurn_f32(&o)[1] == -3.5f);
  lurn_tensor_release(&o);
  CHECK(lurn_binary(&o, LURN_GE, &a, &b, &st) == 0 && o.dtype == LURN_INT32);
  CHECK(lurn_i32(&o)[0] == 1 && lurn_i32(&o)[3] == 0 && lurn_i32(&o)[5] == 1);
  lurn_tensor_release(&o);
  CHECK(lurn_binary_scalar(&o, LURN_MUL, &a, 3, 0, &st) == 0 && o.dtype == LURN_INT32);
  CHECK(lurn_i32(&o)[1] == -21);
  lurn_tensor_release(&o);
  CHECK(lurn_binary_scalar(&o, LURN_MUL, &a, 0.5, 0, &st) == 0 && o.dtype == LURN_FLOAT32);
  CHECK(lurn_f32(&o)[1] == -3.5f);
  lurn_tensor_release(&o);
  /* mixed int32 + float32 gives float32 */
  lurn_tensor f = MK(LURN_FLOAT32, 6);
  lurn_fill(&f, 0.25);
  CHECK(lurn_binary(&o, LURN_SUB, &a, &f, &st) == 0 && o.dtype == LURN_FLOAT32 && lurn_f32(&o)[0] == 6.75f);
  lurn_tensor_release(&o);
  /* an int32 output cannot take a float32 result */
  CHECK(lurn_binary(&a, LURN_ADD, &a, &f, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "add: cannot write a float32 result into a int32 output");
  CHECK(lurn_i32(&a)[0] == 7);
  /* unary ops that keep int32 */
  CHECK(lurn_unary(&o, LURN_ABS, &a, 0, 0, &st) == 0 && o.dtype == LURN_INT32 && lurn_i32(&o)[1] == 7);
  lurn_tensor_release(&o);
  CHECK(lurn_unary(&o, LURN_CLAMP, &a, -2.5, 4.5, &st) == 0 && o.dtype == LURN_INT32);
  CHECK(lurn_i32(&o)[0] == 4 && lurn_i32(&o)[1] == -2 && lurn_i32(&o)[2] == 3);
  lurn_tensor_release(&o);
  CHECK(lurn_unary(&o, LURN_SIGN, &a, 0, 0, &st) == 0 && lurn_i32(&o)[1] == -1 && lurn_i32(&o)[3] == 0);
  lurn_tensor_release(&o);
  CHECK(lurn_unary(&o, LURN_EXP, &a, 0, 0, &st) == 0 && o.dtype == LURN_FLOAT32);
  CHECK_NEAR(lurn_f32(&o)[3], 1.0, 0);
  lurn_tensor_release(&o);
  lurn_tensor_release(&a);
  lurn_tensor_release(&b);
  lurn_tensor_release(&f);
}

static float ref_un(lurn_unop op, float x, float p1, float p2) {
  switch (op) {
    case LURN_NEG: return -x;
    case LURN_EXP: return expf(x);
    case LURN_LOG: return logf(x);
    case LURN_TANH: return tanhf(x);
    case LURN_SIGMOID: return (float)(1.0 / (1.0 + exp(-(double)x)));
    case LURN_RELU: return x > 0 ? x : 0;
    case LURN_SQRT: return sqrtf(x);
    case LURN_ABS: return fabsf(x);
    case LURN_POWS: return powf(x, p1);
    case LURN_CLAMP: return fminf(fmaxf(x, p1), p2);
    case LURN_SQUARE: return x * x;
    case LURN_SIGN: return (float)((x > 0) - (x < 0));
    case LURN_FLOOR: return floorf(x);
    case LURN_CEIL: return ceilf(x);
    case LURN_ROUND: return rintf(x);
  }
  return NAN;
}

static void test_unary_ops(void) {
  lurn_status st;
  lurn_rng r;
  lurn_rng_seed(&r, 11);
  lurn_tensor a = MK(LURN_FLOAT32, 4, 6), pos = {0};
  fill_random(&a, &r, -4, 4);
  lurn_f32(&a)[0] = 2.5f;   /* round half to even */
  lurn_f32(&a)[1] = -0.5f;
  lurn_f32(&a)[2] = 0.0f;
  lurn_unary(&pos, LURN_ABS, &a, 0, 0, &st);   /* a positive input for log/sqrt/pow */
  for (int op = LURN_NEG; op <= LURN_ROUND; op++) {
    const lurn_tensor *in = (op == LURN_LOG || op == LURN_SQRT || op == LURN_POWS) ? &pos : &a;
    float p1 = op == LURN_POWS ? 1.7f : -1.25f, p2 = 2.0f;
    lurn_tensor o = {0};
    CHECK(lurn_unary(&o, (lurn_unop)op, in, p1, p2, &st) == 0);
    int bad = 0;
    for (int i = 0; i < 24; i++) {
      float x = lurn_f32(in)[i], want = ref_un(op, x, p1, p2), got = lurn_f32(&o)[i];
      if (!(fabsf(got - want) <= 2e-7f * (1 + fabsf(want))) && !(isinf(want) && got == want)) bad++;
    }
    if (bad) fprintf(stderr, "unop %d: %d mismatches\n", op, bad);
    CHECK(bad == 0);
    lurn_tensor_release(&o);
  }
  lurn_tensor o = {0};
  lurn_unary(&o, LURN_ROUND, &a, 0, 0, &st);
  CHECK(lurn_f32(&o)[0] == 2.0f && lurn_f32(&o)[1] == -0.0f);
  lurn_tensor_release(&o);
  /* unary on a transposed view, and in place */
  lurn_tensor t = {0}, ref = {0};
  lurn_transpose(&t, &a, 0, 1, &st);
  CHECK(lurn_unary(&o, LURN_TANH, &t, 0, 0, &st) == 0 && SHAPE_IS(o, 6, 4) && lurn_is_contiguous(&o));
  for (int i = 0; i < 24; i++) CHECK(at(&o, i) == tanhf((float)at(&t, i)));
  lurn_tensor_release(&o);
  lurn_clone(&ref, &a, LURN_FLOAT32, &st);
  CHECK(lurn_unary(&a, LURN_SIGMOID, &a, 0, 0, &st) == 0);
  for (int i = 0; i < 24; i++)
    CHECK_NEAR(lurn_f32(&a)[i], 1.0 / (1.0 + exp(-(double)lurn_f32(&ref)[i])), 1e-7);
  lurn_tensor small = MK(LURN_FLOAT32, 3);
  CHECK(lurn_unary(&small, LURN_EXP, &a, 0, 0, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "exp: output [3] does not match input [4,6]");
  lurn_tensor_release(&small);
  lurn_tensor_release(&t);
  lurn_tensor_release(&ref);
  lurn_tensor_release(&pos);
  lurn_tensor_release(&a);
}

static void test_broadcast(void) {
  lurn_status st;
  lurn_tensor a = MK(LURN_FLOAT32, 3, 1), b = MK(LURN_FLOAT32, 4), o = {0};
  fill_pattern(&a, 10, 0);
  fill_pattern(&b, 1, 0.5);
  CHECK(lurn_binary(&o, LURN_ADD, &a, &b, &st) == 0 && SHAPE_IS(o, 3, 4));
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++) CHECK(at(&o, i * 4 + j) == at(&a, i) + at(&b, j));
  lurn_tensor_release(&o);

  lurn_tensor c = MK(LURN_FLOAT32, 2, 1, 4), d = MK(LURN_FLOAT32, 3, 1);
  fill_pattern(&c, 1, 0);
  fill_pattern(&d, 0.5, 0);
  CHECK(lurn_binary(&o, LURN_MUL, &c, &d, &st) == 0 && SHAPE_IS(o, 2, 3, 4));
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 3; j++)
      for (int k = 0; k < 4; k++)
        CHECK(at(&o, (i * 3 + j) * 4 + k) == (float)(at(&c, i * 4 + k) * at(&d, j)));
  lurn_tensor_release(&o);

  /* a scalar tensor broadcasts against anything */
  lurn_tensor s = mk(LURN_FLOAT32, 0, NULL);
  lurn_fill(&s, 2);
  CHECK(lurn_binary(&o, LURN_SUB, &s, &c, &st) == 0 && SHAPE_IS(o, 2, 1, 4));
  CHECK(at(&o, 5) == 2 - at(&c, 5));
  lurn_tensor_release(&o);

  lurn_tensor e = MK(LURN_FLOAT32, 2, 3);
  CHECK(lurn_binary(&o, LURN_ADD, &e, &b, &st) == LURN_ESHAPE);
  CHECK(strcmp(st.msg, "add: shapes [2,3] and [4] do not broadcast") == 0);
  CHECK(o.storage == NULL);
  /* in place: the output must already have the broadcast shape */
  CHECK(lurn_binary(&a, LURN_ADD, &a, &b, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "add: output [3,1] does not match the broadcast shape [3,4]");
  lurn_tensor_release(&a);
  lurn_tensor_release(&b);
  lurn_tensor_release(&c);
  lurn_tensor_release(&d);
  lurn_tensor_release(&s);
  lurn_tensor_release(&e);
}

static void test_inplace_aliasing(void) {
  lurn_status st;
  lurn_tensor a = MK(LURN_FLOAT32, 3, 4), b = MK(LURN_FLOAT32, 4), ref = {0};
  fill_pattern(&a, 1, 0);
  fill_pattern(&b, 0.25, 0);
  lurn_clone(&ref, &a, LURN_FLOAT32, &st);
  lurn_storage *sa = a.storage;
  CHECK(lurn_binary(&a, LURN_ADD, &a, &b, &st) == 0);   /* a += b */
  CHECK(a.storage == sa);
  for (int i = 0; i < 12; i++) CHECK(at(&a, i) == (float)(at(&ref, i) + at(&b, i % 4)));
  CHECK(lurn_binary(&a, LURN_MUL, &a, &a, &st) == 0);   /* a *= a */
  for (int i = 0; i < 12; i++) {
    float v = (float)(at(&ref, i) + at(&b, i % 4));
    CHECK(at(&a, i) == v * v);
  }
  /* x += x[0]: the broadcast row is part of the output, read a snapshot */
  lurn_tensor x = {0}, r0 = {0};
  lurn_clone(&x, &ref, LURN_FLOAT32, &st);
  lurn_select(&r0, &x, 0, 0, &st);
  CHECK(lurn_binary(&x, LURN_ADD, &x, &r0, &st) == 0);
  for (int i = 0; i < 12; i++) CHECK(at(&x, i) == (float)(at(&ref, i) + at(&ref, i % 4)));
  /* x := x^T + x on a square matrix (overlapping, different views) */
  lurn_tensor q = MK(LURN_FLOAT32, 4, 4), qt = {0}, q0 = {0};
  fill_pattern(&q, 1, 0);
  lurn_clone(&q0, &q, LURN_FLOAT32, &st);
  lurn_transpose(&qt, &q, 0, 1, &st);
  CHECK(lurn_binary(&q, LURN_SUB, &qt, &q, &st) == 0);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) CHECK(at(&q, i * 4 + j) == (float)(at(&q0, j * 4 + i) - at(&q0, i * 4 + j)));
  /* a strided (narrowed) output written in place */
  lurn_tensor n = {0};
  lurn_narrow(&n, &x, 1, 1, 2, &st);
  CHECK(lurn_binary_scalar(&n, LURN_MUL, &n, 0, 0, &st) == 0);
  CHECK(at(&x, 1) == 0 && at(&x, 2) == 0 && at(&x, 0) != 0 && at(&x, 3) != 0);
  /* writing into an expanded view is refused */
  lurn_tensor e = {0}, one = MK(LURN_FLOAT32, 1);
  lurn_expand(&e, &one, 1, (int64_t[]){4}, &st);
  CHECK(lurn_binary(&e, LURN_ADD, &e, &b, &st) == LURN_EARG);
  CHECK_MSG(st, "add: output [4] is an expanded view");
  lurn_tensor *all[] = {&a, &b, &ref, &x, &r0, &q, &qt, &q0, &n, &e, &one};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) lurn_tensor_release(all[k]);
}

/* Large ops take the threaded path: the result must not depend on threads. */
static void test_threads_identical(void) {
  lurn_status st;
  lurn_rng r;
  lurn_rng_seed(&r, 3);
  lurn_tensor a = MK(LURN_FLOAT32, 300, 700), b = MK(LURN_FLOAT32, 700), at_ = {0};
  fill_random(&a, &r, -2, 2);
  fill_random(&b, &r, -2, 2);
  lurn_transpose(&at_, &a, 0, 1, &st);
  lurn_tensor o1[6] = {{0}}, o2[6] = {{0}};
  for (int pass = 0; pass < 2; pass++) {
    lurn_set_threads(pass == 0 ? 1 : 2);
    lurn_tensor *o = pass == 0 ? o1 : o2;
    lurn_binary(&o[0], LURN_MUL, &a, &b, &st);
    lurn_unary(&o[1], LURN_TANH, &a, 0, 0, &st);
    lurn_reduce(&o[2], LURN_SUM, &a, 0, 0, &st);
    lurn_reduce(&o[3], LURN_SUM, &at_, 1, 0, &st);
    lurn_reduce(&o[4], LURN_ARGMAX, &a, 1, 1, &st);
    lurn_clone(&o[5], &at_, LURN_FLOAT32, &st);
  }
  for (int k = 0; k < 6; k++) {
    CHECK(lurn_same_shape(&o1[k], &o2[k]));
    CHECK(memcmp(o1[k].storage->data, o2[k].storage->data, (size_t)lurn_numel(&o1[k]) * 4) == 0);
    lurn_tensor_release(&o1[k]);
    lurn_tensor_release(&o2[k]);
  }
  lurn_set_threads(0);
  /* the threaded sum over dim 0 equals a naive double loop */
  lurn_tensor s = {0};
  lurn_reduce(&s, LURN_SUM, &a, 0, 0, &st);
  int bad = 0;
  for (int j = 0; j < 700; j++) {
    double acc = 0;
    for (int i = 0; i < 300; i++) acc += lurn_f32(&a)[i * 700 + j];
    bad += lurn_f32(&s)[j] != (float)acc;
  }
  CHECK(bad == 0);
  lurn_tensor_release(&s);
  lurn_tensor_release(&a);
  lurn_tensor_release(&b);
  lurn_tensor_release(&at_);
}

/* ---- reductions ---------------------------------------------------------------- */

static void naive_reduce(lurn_redop op, const lurn_tensor *a, int dim, int64_t o, double *val) {
  /* o: row-major index over a's dims without `dim` */
  int64_t idx[LURN_MAXDIM], rest = o;
  for (int d = a->ndim - 1; d >= 0; d--) {
    if (d == dim) { idx[d] = 0; continue; }
    idx[d] = rest % a->size[d];
    rest /= a->size[d];
  }
  double acc = 0, best = 0;
  int64_t bi = 0;
  for (int64_t i = 0; i < a->size[dim]; i++) {
    idx[dim] = i;
    double v = lurn_get(a, idx);
    acc += v;
    if (i == 0 || ((op == LURN_MAX || op == LURN_ARGMAX) ? v > best : v < best)) { best = v; bi = i; }
  }
  switch (op) {
    case LURN_SUM: *val = (float)acc; break;
    case LURN_MEAN: *val = (float)(acc / (double)a->size[dim]); break;
    case LURN_MAX: case LURN_MIN: *val = best; break;
    default: *val = (double)bi; break;
  }
}

static void test_reduce_dims(void) {
  lurn_status st;
  lurn_rng r;
  lurn_rng_seed(&r, 5);
  lurn_tensor a = MK(LURN_FLOAT32, 3, 4, 5), p = {0};
  fill_random(&a, &r, -1, 1);
  lurn_f32(&a)[7] = lurn_f32(&a)[2];   /* a tie along dim 1 (index 2 and 7) */
  lurn_permute(&p, &a, (int[]){2, 0, 1}, &st);   /* a non-contiguous input too */
  const lurn_tensor *ins[2] = {&a, &p};
  for (int w = 0; w < 2; w++) {
    const lurn_tensor *in = ins[w];
    for (int op = LURN_SUM; op <= LURN_ARGMIN; op++)
      for (int dim = 0; dim < 3; dim++)
        for (int keep = 0; keep < 2; keep++) {
          lurn_tensor o = {0};
          CHECK(lurn_reduce(&o, (lurn_redop)op, in, dim, keep, &st) == 0);
          CHECK(o.ndim == (keep ? 3 : 2));
          if (keep) CHECK(o.size[dim] == 1);
          CHECK(o.dtype == ((op == LURN_ARGMAX || op == LURN_ARGMIN) ? LURN_INT32 : LURN_FLOAT32));
          int64_t n = lurn_numel(&o);
          int bad = 0;
          for (int64_t i = 0; i < n; i++) {
            double want;
            naive_reduce((lurn_redop)op, in, dim, i, &want);
            bad += at(&o, i) != want;
          }
          if (bad) fprintf(stderr, "reduce op %d dim %d keep %d input %d: %d bad\n", op, dim, keep, w, bad);
          CHECK(bad == 0);
          lurn_tensor_release(&o);
        }
  }
  /* argmax takes the first of equal values */
  lurn_tensor v = MK(LURN_FLOAT32, 5), o = {0};
  float vals[5] = {1, 3, 2, 3, 3};
  memcpy(lurn_f32(&v), vals, sizeof vals);
  lurn_reduce(&o, LURN_ARGMAX, &v, 0, 0, &st);
  CHECK(o.ndim == 0 && lurn_i32(&o)[0] == 1);
  lurn_tensor_release(&o);
  lurn_reduce(&o, LURN_ARGMAX, &v, -1, 0, &st);
  CHECK(lurn_i32(&o)[0] == 1);
  lurn_tensor_release(&o);
  /* reducing into an existing output */
  lurn_tensor into = MK(LURN_FLOAT32, 4, 5);
  CHECK(lurn_reduce(&into, LURN_SUM, &a, 0, 0, &st) == 0);
  double want;
  naive_reduce(LURN_SUM, &a, 0, 13, &want);
  CHECK(at(&into, 13) == want);
  CHECK(lurn_reduce(&into, LURN_SUM, &a, 1, 0, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "sum: output [4,5] does not match the result shape [3,5]");
  lurn_tensor_release(&into);
  lurn_tensor_release(&v);
  lurn_tensor_release(&p);
  lurn_tensor_release(&a);
}

static void test_reduce_all(void) {
  lurn_status st;
  lurn_rng r;
  lurn_rng_seed(&r, 9);
  lurn_tensor a = MK(LURN_FLOAT32, 6, 7), t = {0}, o = {0};
  fill_random(&a, &r, -1, 1);
  lurn_transpose(&t, &a, 0, 1, &st);
  for (int w = 0; w < 2; w++) {
    const lurn_tensor *in = w ? &t : &a;
    double acc = 0, mx = -1e30, mn = 1e30;
    int64_t amx = 0, amn = 0;
    for (int64_t i = 0; i < 42; i++) {
      double v = at(in, i);
      acc += v;
      if (v > mx) { mx = v; amx = i; }
      if (v < mn) { mn = v; amn = i; }
    }
    /* volatile: GCC 12's SLP vectoriser at -O2 drops the float rounding of
     * (double)(float)acc inside this initializer (seen on Debian 12) */
    volatile float fsum = (float)acc, fmean = (float)(acc / 42);
    double want[6] = {fsum, fmean, mx, mn, (double)amx, (double)amn};
    for (int op = LURN_SUM; op <= LURN_ARGMIN; op++) {
      CHECK(lurn_reduce(&o, (lurn_redop)op, in, -1, 0, &st) == 0 && o.ndim == 0);
      CHECK(at(&o, 0) == want[op]);
      lurn_tensor_release(&o);
    }
    CHECK(lurn_reduce(&o, LURN_SUM, in, -1, 1, &st) == 0 && SHAPE_IS(o, 1, 1));
    lurn_tensor_release(&o);
  }
  /* sums accumulate in double: 1e8 + 10000 ones is exact, a float loop gives 1e8 */
  lurn_tensor big = MK(LURN_FLOAT32, 10001);
  lurn_fill(&big, 1);
  lurn_f32(&big)[0] = 1e8f;
  lurn_reduce(&o, LURN_SUM, &big, -1, 0, &st);
  CHECK(lurn_f32(&o)[0] == 100010000.0f);
  lurn_tensor_release(&o);
  lurn_tensor big2 = {0};
  lurn_view(&big2, &big, 2, (int64_t[]){1, 10001}, &st);
  lurn_reduce(&o, LURN_MEAN, &big2, 1, 0, &st);
  CHECK_NEAR(lurn_f32(&o)[0], 100010000.0 / 10001.0, 1e-3);
  lurn_tensor_release(&o);
  /* max/min propagate NaN; argmax points at it */
  lurn_f32(&a)[17] = NAN;
  lurn_reduce(&o, LURN_MAX, &a, -1, 0, &st);
  CHECK(isnan(lurn_f32(&o)[0]));
  lurn_tensor_release(&o);
  lurn_reduce(&o, LURN_MIN, &a, 1, 0, &st);
  CHECK(isnan(lurn_f32(&o)[2]) && !isnan(lurn_f32(&o)[1]));
  lurn_tensor_release(&o);
  lurn_reduce(&o, LURN_ARGMAX, &a, -1, 0, &st);
  CHECK(lurn_i32(&o)[0] == 17);
  lurn_tensor_release(&o);
  /* int32 */
  lurn_tensor ai = {0};
  lurn_arange(&ai, LURN_INT32, -3, 1, 8, &st);
  CHECK(lurn_reduce(&o, LURN_SUM, &ai, 0, 0, &st) == 0 && o.dtype == LURN_INT32 && lurn_i32(&o)[0] == 4);
  lurn_tensor_release(&o);
  CHECK(lurn_reduce(&o, LURN_MEAN, &ai, 0, 0, &st) == 0 && o.dtype == LURN_FLOAT32 && lurn_f32(&o)[0] == 0.5f);
  lurn_tensor_release(&o);
  CHECK(lurn_reduce(&o, LURN_MIN, &ai, -1, 0, &st) == 0 && lurn_i32(&o)[0] == -3);
  lurn_tensor_release(&o);
  /* errors */
  lurn_tensor x3 = MK(LURN_FLOAT32, 3, 4, 5), e = MK(LURN_FLOAT32, 3, 0);
  CHECK(lurn_reduce(&o, LURN_SUM, &x3, 3, 0, &st) == LURN_EARG);
  CHECK(strcmp(st.msg, "sum: dim 3 out of range for [3,4,5]") == 0);
  CHECK(lurn_reduce(&o, LURN_MAX, &e, 1, 0, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "max: cannot reduce an empty dim of [3,0]");
  CHECK(o.storage == NULL);
  CHECK(lurn_reduce(&o, LURN_SUM, &e, 1, 0, &st) == 0 && SHAPE_IS(o, 3) && lurn_f32(&o)[2] == 0);
  lurn_tensor_release(&o);
  lurn_tensor *all[] = {&a, &t, &big, &big2, &ai, &x3, &e};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) lurn_tensor_release(all[k]);
}

static void test_allclose(void) {
  lurn_status st;
  lurn_tensor a = MK(LURN_FLOAT32, 2, 3), b = {0}, row = MK(LURN_FLOAT32, 3);
  fill_pattern(&a, 1, 0);
  lurn_clone(&b, &a, LURN_FLOAT32, &st);
  int res = -1;
  CHECK(lurn_allclose(&a, &b, 0, 0, &res, &st) == 0 && res == 1);
  lurn_f32(&b)[4] += 1e-3f;
  CHECK(lurn_allclose(&a, &b, 0, 1e-4, &res, &st) == 0 && res == 0);
  CHECK(lurn_allclose(&a, &b, 0, 1e-2, &res, &st) == 0 && res == 1);
  CHECK(lurn_allclose(&a, &b, 1e-3, 0, &res, &st) == 0 && res == 1);   /* |b[4]| = 5 */
  lurn_f32(&b)[0] = NAN;
  lurn_f32(&a)[0] = NAN;
  CHECK(lurn_allclose(&a, &b, 1, 1, &res, &st) == 0 && res == 0);   /* NaN is never close */
  lurn_fill(&a, 2);
  lurn_fill(&row, 2);
  CHECK(lurn_allclose(&a, &row, 0, 0, &res, &st) == 0 && res == 1);   /* broadcasting */
  lurn_tensor r4 = MK(LURN_FLOAT32, 4);
  CHECK(lurn_allclose(&a, &r4, 0, 0, &res, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "allclose: shapes [2,3] and [4] do not broadcast");
  lurn_tensor_release(&a);
  lurn_tensor_release(&b);
  lurn_tensor_release(&row);
  lurn_tensor_release(&r4);
}

int main(void) {
  lurn_set_threads(2);
  RUN(test_new);
  RUN(test_get_set);
  RUN(test_views_share_storage);
  RUN(test_view_vs_reshape);
  RUN(test_view_errors);
  RUN(test_shape_limits);
  RUN(test_copy_fill);
  RUN(test_binary_ops);
  RUN(test_int_ops);
  RUN(test_unary_ops);
  RUN(test_broadcast);
  RUN(test_inplace_aliasing);
  RUN(test_threads_identical);
  RUN(test_reduce_dims);
  RUN(test_reduce_all);
  RUN(test_allclose);
  return check_summary();
}
