/*
 * test_gemm.c — lurn_mm / lurn_bmm against a naive triple loop in double,
 * on contiguous, transposed, narrowed, select()ed and expanded views, odd
 * sizes, alpha/beta, aliasing outputs, and the shape/dtype error messages.
 */
#include <math.h>
#include <string.h>

#include "blas.h"
#include "check.h"
#include "rng.h"
#include "tensor.h"

static lurn_rng g_rng;

static lurn_tensor rnd(int ndim, const int64_t *size) {
  lurn_tensor t = {0};
  lurn_status st;
  if (lurn_tensor_new(&t, LURN_FLOAT32, ndim, size, &st)) fprintf(stderr, "rnd: %s\n", st.msg);
  lurn_fill_uniform(&t, &g_rng, -1, 1);
  return t;
}
#define RND(...) rnd((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static double get2(const lurn_tensor *t, int64_t i, int64_t j) {
  return lurn_get(t, (int64_t[]){i, j});
}

/* max |got - (beta*c0 + alpha*a*b)| relative to (1 + |ref|); c0 may be NULL. */
static double mm_error(const lurn_tensor *got, const lurn_tensor *a, const lurn_tensor *b,
                       double alpha, double beta, const lurn_tensor *c0) {
  int64_t m = a->size[0], k = a->size[1], n = b->size[1];
  if (got->ndim != 2 || got->size[0] != m || got->size[1] != n) return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double acc = 0;
      for (int64_t p = 0; p < k; p++) acc += get2(a, i, p) * get2(b, p, j);
      double ref = alpha * acc + (c0 ? beta * get2(c0, i, j) : 0.0);
      double e = fabs(get2(got, i, j) - ref) / (1 + fabs(ref));
      if (!(e <= worst)) worst = e;   /* NaN counts as worst */
    }
  return worst;
}

/* float32 rounding over k terms: a few ulps per term at most */
#define TOL(k) (4e-7 * (double)(k) + 1e-6)

static void test_contiguous_sizes(void) {
  lurn_status st;
  int64_t sizes[][3] = {{1, 1, 1}, {1, 7, 1}, {1, 9, 5}, {6, 1, 4}, {5, 8, 1},
                        {37, 53, 19}, {64, 64, 64}, {3, 0, 4}, {100, 3, 200}};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    int64_t m = sizes[s][0], k = sizes[s][1], n = sizes[s][2];
    lurn_tensor a = RND(m, k), b = RND(k, n), c = {0};
    CHECK(lurn_mm(&c, &a, &b, 1.0f, 0.0f, &st) == 0);
    double e = mm_error(&c, &a, &b, 1, 0, NULL);
    if (!(e <= TOL(k))) fprintf(stderr, "mm %lldx%lldx%lld: error %g\n", (long long)m, (long long)k, (long long)n, e);
    CHECK(e <= TOL(k));
    lurn_tensor_release(&a);
    lurn_tensor_release(&b);
    lurn_tensor_release(&c);
  }
}

static void test_transposed_views(void) {
  lurn_status st;
  /* a = A0^T, b = B0^T: column-major operands, passed by swapping strides */
  lurn_tensor a0 = RND(19, 37), b0 = RND(53, 19), a = {0}, b = {0}, c = {0};
  lurn_transpose(&a, &a0, 0, 1, &st);   /* [37,19] */
  lurn_transpose(&b, &b0, 0, 1, &st);   /* [19,53] */
  CHECK(lurn_mm(&c, &a, &b, 1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &a, &b, 1, 0, NULL) <= TOL(19));
  lurn_tensor_release(&c);
  /* mixed: one transposed, one not */
  lurn_tensor b1 = RND(19, 53);
  CHECK(lurn_mm(&c, &a, &b1, 1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &a, &b1, 1, 0, NULL) <= TOL(19));
  lurn_tensor_release(&c);
  /* x * x^T, both views of the same storage */
  lurn_tensor xt = {0};
  lurn_transpose(&xt, &a0, 0, 1, &st);
  CHECK(lurn_mm(&c, &a0, &xt, 1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &a0, &xt, 1, 0, NULL) <= TOL(37));
  lurn_tensor_release(&c);
  lurn_tensor *all[] = {&a0, &b0, &a, &b, &b1, &xt};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

static void test_strided_views(void) {
  lurn_status st;
  /* narrow: rows of a bigger matrix (row stride > width) */
  lurn_tensor big = RND(40, 60), a = {0}, b = {0}, c = {0};
  lurn_narrow(&a, &big, 1, 5, 23, &st);   /* [40,23], rs = 60 */
  lurn_tensor tmp = {0};
  lurn_narrow(&tmp, &big, 0, 3, 23, &st);   /* [23,60] */
  lurn_narrow(&b, &tmp, 1, 30, 17, &st);    /* [23,17], offset inside */
  lurn_tensor_release(&tmp);
  CHECK(lurn_mm(&c, &a, &b, 1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &a, &b, 1, 0, NULL) <= TOL(23));
  lurn_tensor_release(&c);
  lurn_tensor_release(&a);
  lurn_tensor_release(&b);

  /* select() from 3-D tensors: [4,5,6] select dim 1 -> [4,6] strides [30,1];
   * select dim 2 -> [4,5] strides [30,6] (general stride, neither unit) */
  lurn_tensor t3 = RND(4, 5, 6), s1 = {0}, s2 = {0}, r = {0};
  lurn_select(&s1, &t3, 1, 2, &st);
  lurn_select(&s2, &t3, 2, 3, &st);
  CHECK(s2.stride[0] == 30 && s2.stride[1] == 6);
  lurn_tensor w6 = RND(6, 7), w5 = RND(5, 3);
  CHECK(lurn_mm(&c, &s1, &w6, 1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &s1, &w6, 1, 0, NULL) <= TOL(6));
  lurn_tensor_release(&c);
  CHECK(lurn_mm(&c, &s2, &w5, 1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &s2, &w5, 1, 0, NULL) <= TOL(5));
  lurn_tensor_release(&c);
  /* a single row selected from a matrix, viewed as [1,k] */
  lurn_tensor row = {0};
  lurn_select(&r, &big, 0, 7, &st);
  lurn_view(&row, &r, 2, (int64_t[]){1, 60}, &st);
  lurn_tensor w60 = RND(60, 9);
  CHECK(lurn_mm(&c, &row, &w60, 1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &row, &w60, 1, 0, NULL) <= TOL(60));
  lurn_tensor_release(&c);
  /* a column of a matrix: [40,1] with stride 60 */
  lurn_tensor col = {0}, w1 = RND(1, 4);
  lurn_narrow(&col, &big, 1, 10, 1, &st);
  CHECK(lurn_mm(&c, &col, &w1, 1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &col, &w1, 1, 0, NULL) <= TOL(1));
  lurn_tensor_release(&c);

  /* expanded operands (stride 0) are copied before BLIS sees them */
  lurn_tensor v = RND(1, 8), e = {0}, vb = RND(8, 1), eb = {0};
  lurn_expand(&e, &v, 2, (int64_t[]){5, 8}, &st);    /* rows share memory */
  lurn_expand(&eb, &vb, 2, (int64_t[]){8, 6}, &st);  /* columns share memory */
  CHECK(e.stride[0] == 0 && eb.stride[1] == 0);
  CHECK(lurn_mm(&c, &e, &eb, 1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &e, &eb, 1, 0, NULL) <= TOL(8));
  lurn_tensor_release(&c);

  lurn_tensor *all[] = {&big, &t3, &s1, &s2, &r, &w6, &w5, &row, &w60, &col, &w1, &v, &e, &vb, &eb};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

static void test_alpha_beta(void) {
  lurn_status st;
  lurn_tensor a = RND(13, 11), b = RND(11, 9), c = RND(13, 9), c0 = {0};
  lurn_clone(&c0, &c, LURN_FLOAT32, &st);
  CHECK(lurn_mm(&c, &a, &b, 0.5f, 2.0f, &st) == 0);   /* C := 2*C + 0.5*A*B */
  CHECK(mm_error(&c, &a, &b, 0.5, 2.0, &c0) <= TOL(11));
  /* beta = 0 overwrites, even NaN */
  lurn_fill(&c, NAN);
  CHECK(lurn_mm(&c, &a, &b, -1.0f, 0.0f, &st) == 0);
  CHECK(mm_error(&c, &a, &b, -1, 0, NULL) <= TOL(11));
  /* beta ignored when the output is allocated */
  lurn_tensor fresh = {0};
  CHECK(lurn_mm(&fresh, &a, &b, 2.0f, 5.0f, &st) == 0);
  CHECK(mm_error(&fresh, &a, &b, 2, 0, NULL) <= TOL(11));
  /* into a transposed view of a [9,13] tensor: C^T += A*B */
  lurn_tensor ct = RND(9, 13), ctv = {0}, ct0 = {0};
  lurn_transpose(&ctv, &ct, 0, 1, &st);
  lurn_clone(&ct0, &ctv, LURN_FLOAT32, &st);
  CHECK(lurn_mm(&ctv, &a, &b, 1.0f, 1.0f, &st) == 0);
  CHECK(mm_error(&ctv, &a, &b, 1, 1, &ct0) <= TOL(11));
  /* output aliasing an input: A := A*S for square S */
  lurn_tensor sq = RND(11, 11), a0 = {0}, sq0 = {0};
  lurn_clone(&a0, &a, LURN_FLOAT32, &st);
  CHECK(lurn_mm(&a, &a, &sq, 1.0f, 0.0f, &st) == 0);
  lurn_clone(&sq0, &sq, LURN_FLOAT32, &st);
  CHECK(lurn_mm(&sq, &sq0, &sq, 1.0f, 1.0f, &st) == 0);   /* S := S + S0*S (aliased) */
  CHECK(mm_error(&a, &a0, &sq0, 1, 0, NULL) <= TOL(11));
  CHECK(mm_error(&sq, &sq0, &sq0, 1, 1, &sq0) <= TOL(11));
  lurn_tensor *all[] = {&a, &b, &c, &c0, &fresh, &ct, &ctv, &ct0, &sq, &a0, &sq0};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

static void test_bmm(void) {
  lurn_status st;
  lurn_tensor a = RND(3, 4, 5), b = RND(3, 5, 2), c = {0};
  CHECK(lurn_bmm(&c, &a, &b, &st) == 0);
  CHECK(c.ndim == 3 && c.size[0] == 3 && c.size[1] == 4 && c.size[2] == 2);
  for (int i = 0; i < 3; i++) {
    lurn_tensor ai = {0}, bi = {0}, ci = {0};
    lurn_select(&ai, &a, 0, i, &st);
    lurn_select(&bi, &b, 0, i, &st);
    lurn_select(&ci, &c, 0, i, &st);
    CHECK(mm_error(&ci, &ai, &bi, 1, 0, NULL) <= TOL(5));
    lurn_tensor_release(&ai);
    lurn_tensor_release(&bi);
    lurn_tensor_release(&ci);
  }
  /* permuted batches: a time-major [T,B,D] seen as [B,T,D], and b^T per batch */
  lurn_tensor tm = RND(6, 3, 4), bt0 = RND(3, 7, 4), pa = {0}, pb = {0}, out = RND(3, 6, 7);
  lurn_permute(&pa, &tm, (int[]){1, 0, 2}, &st);    /* [3,6,4] */
  lurn_permute(&pb, &bt0, (int[]){0, 2, 1}, &st);   /* [3,4,7] */
  CHECK(lurn_bmm(&out, &pa, &pb, &st) == 0);        /* into an existing output */
  for (int i = 0; i < 3; i++) {
    lurn_tensor ai = {0}, bi = {0}, ci = {0};
    lurn_select(&ai, &pa, 0, i, &st);
    lurn_select(&bi, &pb, 0, i, &st);
    lurn_select(&ci, &out, 0, i, &st);
    CHECK(mm_error(&ci, &ai, &bi, 1, 0, NULL) <= TOL(4));
    lurn_tensor_release(&ai);
    lurn_tensor_release(&bi);
    lurn_tensor_release(&ci);
  }
  /* an expanded batch operand (one matrix shared by every batch entry) */
  lurn_tensor w = RND(1, 4, 7), we = {0}, c2 = {0};
  lurn_expand(&we, &w, 3, (int64_t[]){3, 4, 7}, &st);
  CHECK(lurn_bmm(&c2, &pa, &we, &st) == 0);
  lurn_tensor ai = {0}, bi = {0}, ci = {0};
  lurn_select(&ai, &pa, 0, 2, &st);
  lurn_select(&bi, &w, 0, 0, &st);
  lurn_select(&ci, &c2, 0, 2, &st);
  CHECK(mm_error(&ci, &ai, &bi, 1, 0, NULL) <= TOL(4));
  lurn_tensor *all[] = {&a, &b, &c, &tm, &bt0, &pa, &pb, &out, &w, &we, &c2, &ai, &bi, &ci};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

static void test_errors(void) {
  lurn_status st;
  lurn_tensor a = RND(3, 4), b = RND(5, 6), v = RND(3), c = {0}, ii = {0};
  CHECK(lurn_mm(&c, &a, &b, 1.0f, 0.0f, &st) == LURN_ESHAPE);
  CHECK(strcmp(st.msg, "mm: cannot multiply [3,4] by [5,6]") == 0);
  CHECK(c.storage == NULL);
  lurn_tensor_new(&ii, LURN_INT32, 2, (int64_t[]){4, 2}, &st);
  CHECK(lurn_mm(&c, &a, &ii, 1.0f, 0.0f, &st) == LURN_ESHAPE);
  CHECK(strcmp(st.msg, "mm: expected float32, got int32") == 0);
  CHECK(lurn_mm(&c, &a, &v, 1.0f, 0.0f, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "mm: expected 2-D matrices, got [3,4] and [3]");
  lurn_tensor wrong = RND(3, 5), b46 = RND(4, 6);
  CHECK(lurn_mm(&wrong, &a, &b46, 1.0f, 0.0f, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "mm: output [3,5] does not match [3,6]");
  CHECK(c.storage == NULL && ii.storage->refcount == 1);
  lurn_tensor x = RND(2, 3, 4), y = RND(2, 5, 4), z = RND(3, 4, 4);
  CHECK(lurn_bmm(&c, &x, &y, &st) == LURN_ESHAPE);
  CHECK(strcmp(st.msg, "bmm: cannot multiply [2,3,4] by [2,5,4]") == 0);
  CHECK(lurn_bmm(&c, &x, &z, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "bmm: cannot multiply [2,3,4] by [3,4,4]");
  CHECK(lurn_bmm(&c, &a, &z, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "bmm: expected 3-D batches, got [3,4] and [3,4,4]");
  CHECK(c.storage == NULL);
  lurn_tensor *all[] = {&a, &b, &v, &ii, &wrong, &b46, &x, &y, &z};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

/* Same thread count, same bits; and 1 vs 2 threads agree to rounding. */
static void test_threads(void) {
  lurn_status st;
  lurn_tensor a = RND(200, 300), b = RND(300, 150), c1 = {0}, c2 = {0}, c3 = {0};
  lurn_set_threads(2);
  lurn_mm(&c1, &a, &b, 1.0f, 0.0f, &st);
  lurn_mm(&c2, &a, &b, 1.0f, 0.0f, &st);
  CHECK(memcmp(c1.storage->data, c2.storage->data, 200 * 150 * 4) == 0);
  lurn_set_threads(1);
  lurn_mm(&c3, &a, &b, 1.0f, 0.0f, &st);
  CHECK(mm_error(&c3, &a, &b, 1, 0, NULL) <= TOL(300));
  CHECK(mm_error(&c1, &a, &b, 1, 0, NULL) <= TOL(300));
  lurn_set_threads(2);
  lurn_tensor *all[] = {&a, &b, &c1, &c2, &c3};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

int main(void) {
  lurn_rng_seed(&g_rng, 1234);
  lurn_set_threads(2);
  RUN(test_contiguous_sizes);
  RUN(test_transposed_views);
  RUN(test_strided_views);
  RUN(test_alpha_beta);
  RUN(test_bmm);
  RUN(test_errors);
  RUN(test_threads);
  return check_summary();
}
