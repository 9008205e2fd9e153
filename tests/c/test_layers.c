/*
 * test_layers.c — the non-recurrent layers and losses (layers.h).
 *
 * Each forward is compared with a naive loop written here in double; each
 * backward with central finite differences of a double-precision scalar:
 * the layer's output projected on a fixed random tensor r (L = sum y * r, so
 * dL/dy = r), or the loss itself for the losses. The relative error of each
 * gradient element is |a - n| / max(|a| + |n|, 1e-2) — the floor keeps
 * float32 rounding in near-zero gradients from counting as error — and the
 * largest one of each check is printed. Options (class weights, ignore
 * index, per-step lengths, pos_weight, padding index, variational masks),
 * non-contiguous inputs and the error messages have their own cases.
 * A few reference numbers were computed once with PyTorch 1.13 (noted where
 * used).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "check.h"
#include "layers.h"

/* ---- helpers --------------------------------------------------------------- */

/* A private generator, so the tests depend on nothing but the layers. */
static uint64_t rs_ = 88172645463325252ull;
static double urand(void) {   // [0, 1)
  rs_ ^= rs_ << 13;
  rs_ ^= rs_ >> 7;
  rs_ ^= rs_ << 17;
  return (double)(rs_ >> 11) / 9007199254740992.0;
}
static float frand(float lo, float hi) { return lo + (hi - lo) * (float)urand(); }

static lurn_tensor mk(lurn_dtype dt, int ndim, int64_t a, int64_t b, int64_t c) {
  int64_t size[3] = {a, b, c};
  lurn_tensor t = {0};
  lurn_status st = {0};
  if (lurn_tensor_new(&t, dt, ndim, size, &st)) {
    fprintf(stderr, "tensor_new: %s\n", st.msg);
    exit(2);
  }
  return t;
}
static lurn_tensor randt(int ndim, int64_t a, int64_t b, int64_t c, float lo, float hi) {
  lurn_tensor t = mk(LURN_FLOAT32, ndim, a, b, c);
  float *p = lurn_f32(&t);
  for (int64_t i = 0; i < lurn_numel(&t); i++) p[i] = frand(lo, hi);
  return t;
}
#define F(t) lurn_f32(&(t))
#define I32(t) lurn_i32(&(t))
#define REL(a, n) (fabs((a) - (n)) / fmax(fabs(a) + fabs(n), 1e-2))

/* sum_i y_i r_i in double (y contiguous). */
static double proj(const lurn_tensor *y, const lurn_tensor *r) {
  double s = 0;
  const float *a = lurn_f32(y), *b = lurn_f32(r);
  for (int64_t i = 0; i < lurn_numel(y); i++) s += (double)a[i] * b[i];
  return s;
}

typedef double (*lossfn)(void *ctx);

/* Largest relative error between `grad` and central differences of f over
 * the n floats at p (which f reads through ctx). The step actually taken in
 * float is used as the denominator. */
static double fd_check(float *p, int64_t n, const float *grad, lossfn f, void *ctx, float eps) {
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    float old = p[i];
    float hi = old + eps, lo = old - eps;
    p[i] = hi;
    double fp = f(ctx);
    p[i] = lo;
    double fm = f(ctx);
    p[i] = old;
    double num = (fp - fm) / ((double)hi - (double)lo), rel = REL((double)grad[i], num);
    if (rel > worst) worst = rel;
  }
  return worst;
}
#define FD_OK(name, err, tol)                                     \
  do {                                                            \
    printf("     %-40s max rel err %.2e\n", name, (double)(err)); \
    CHECK((err) < (tol));                                         \
  } while (0)

static double maxdiff(const float *a, const double *b, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
  return m;
}

/* ---- Linear ---------------------------------------------------------------- */

static void naive_linear(double *y, const lurn_tensor *x, const lurn_tensor *w,
                         const lurn_tensor *b, int64_t N) {
  int64_t O = w->size[0], I = w->size[1];
  for (int64_t n = 0; n < N; n++)
    for (int64_t o = 0; o < O; o++) {
      double s = b ? lurn_f32(b)[o * b->stride[0]] : 0.0;
      for (int64_t i = 0; i < I; i++) {
        int64_t xi = x->ndim == 2 ? n * x->stride[0] + i * x->stride[1] : n * I + i;
        s += (double)lurn_f32(x)[xi] * lurn_f32(w)[o * w->stride[0] + i * w->stride[1]];
      }
      y[n * O + o] = s;
    }
}

static void test_linear_forward(void) {
  lurn_status st = {0};
  lurn_tensor x = randt(2, 5, 7, 0, -1, 1), w = randt(2, 4, 7, 0, -1, 1), b = randt(1, 4, 0, 0, -1, 1);
  lurn_tensor y = {0};
  double ref[6 * 4];   // the largest case below: [2, 3] x 4
  CHECK(lurn_linear_forward(&y, &x, &w, &b, &st) == LURN_OK);
  CHECK(y.ndim == 2 && y.size[0] == 5 && y.size[1] == 4);
  naive_linear(ref, &x, &w, &b, 5);
  CHECK(maxdiff(F(y), ref, 20) < 1e-5);

  // no bias
  CHECK(lurn_linear_forward(&y, &x, &w, NULL, &st) == LURN_OK);
  naive_linear(ref, &x, &w, NULL, 5);
  CHECK(maxdiff(F(y), ref, 20) < 1e-5);

  // 3-D input [2, 3, 7] -> [2, 3, 4]: leading dims kept
  lurn_tensor x3 = randt(3, 2, 3, 7, -1, 1);
  CHECK(lurn_linear_forward(&y, &x3, &w, &b, &st) == LURN_OK);
  CHECK(y.ndim == 3 && y.size[0] == 2 && y.size[1] == 3 && y.size[2] == 4);
  naive_linear(ref, &x3, &w, &b, 6);
  CHECK(maxdiff(F(y), ref, 24) < 1e-5);

  // a transposed weight view (storage [7, 4]) and a column-narrowed input
  lurn_tensor wt = randt(2, 7, 4, 0, -1, 1), wv = {0}, xw = randt(2, 5, 9, 0, -1, 1), xv = {0};
  CHECK(lurn_transpose(&wv, &wt, 0, 1, &st) == LURN_OK);
  CHECK(lurn_narrow(&xv, &xw, 1, 1, 7, &st) == LURN_OK);
  CHECK(!lurn_is_contiguous(&wv) && !lurn_is_contiguous(&xv));
  CHECK(lurn_linear_forward(&y, &xv, &wv, &b, &st) == LURN_OK);
  naive_linear(ref, &xv, &wv, &b, 5);
  CHECK(maxdiff(F(y), ref, 20) < 1e-5);

  // a permuted 3-D input whose leading dims do not collapse: copied, same answer
  lurn_tensor xp = {0};
  int perm[3] = {1, 0, 2};
  lurn_tensor x3b = randt(3, 3, 2, 7, -1, 1);
  CHECK(lurn_permute(&xp, &x3b, perm, &st) == LURN_OK);   // [2, 3, 7], strides [7, 14, 1]
  CHECK(lurn_linear_forward(&y, &xp, &w, NULL, &st) == LURN_OK);
  for (int64_t i = 0; i < 2; i++)
    for (int64_t j = 0; j < 3; j++)
      for (int64_t o = 0; o < 4; o++) {
        double s = 0;
        for (int64_t k = 0; k < 7; k++) s += (double)F(x3b)[(j * 2 + i) * 7 + k] * F(w)[o * 7 + k];
        CHECK_NEAR(F(y)[(i * 3 + j) * 4 + o], s, 1e-5);
      }
  lurn_tensor *all[] = {&x, &w, &b, &y, &x3, &wt, &wv, &xw, &xv, &xp, &x3b};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

struct lin_ctx { lurn_tensor *x, *w, *b, *r; };
static double lin_loss(void *c) {
  struct lin_ctx *k = c;
  lurn_tensor y = {0};
  lurn_linear_forward(&y, k->x, k->w, k->b, NULL);
  double s = proj(&y, k->r);
  lurn_tensor_release(&y);
  return s;
}

static void test_linear_backward(void) {
  lurn_status st = {0};
  lurn_tensor x = randt(3, 3, 2, 5, -1, 1), w = randt(2, 4, 5, 0, -1, 1), b = randt(1, 4, 0, 0, -1, 1);
  lurn_tensor r = randt(3, 3, 2, 4, -1, 1);   // dL/dy
  lurn_tensor dx = {0}, dw = mk(LURN_FLOAT32, 2, 4, 5, 0), db = mk(LURN_FLOAT32, 1, 4, 0, 0);
  CHECK(lurn_linear_backward(&dx, &dw, &db, &r, &x, &w, &st) == LURN_OK);
  CHECK(lurn_same_shape(&dx, &x));
  struct lin_ctx k = {&x, &w, &b, &r};
  FD_OK("linear dx", fd_check(F(x), 30, F(dx), lin_loss, &k, 1e-2f), 1e-3);
  FD_OK("linear dw", fd_check(F(w), 20, F(dw), lin_loss, &k, 1e-2f), 1e-3);
  FD_OK("linear db", fd_check(F(b), 4, F(db), lin_loss, &k, 1e-2f), 1e-3);

  // gradients accumulate: a second call doubles dw and db; dx == NULL skips dx
  float dw0 = F(dw)[7], db0 = F(db)[2];
  CHECK(lurn_linear_backward(NULL, &dw, &db, &r, &x, &w, &st) == LURN_OK);
  CHECK_NEAR(F(dw)[7], 2 * dw0, 1e-6);
  CHECK_NEAR(F(db)[2], 2 * db0, 1e-6);

  // a strided dw accumulator that BLIS cannot take (every other column of a
  // [4, 10] buffer): accumulated through a temporary, neighbours untouched
  lurn_tensor big = mk(LURN_FLOAT32, 2, 4, 10, 0), dws = {0}, sel = {0};
  int64_t vs[3] = {4, 5, 2};
  CHECK(lurn_view(&dws, &big, 3, vs, &st) == LURN_OK);
  CHECK(lurn_select(&sel, &dws, 2, 1, &st) == LURN_OK);   // [4, 5], strides [10, 2]
  CHECK(lurn_linear_backward(NULL, &sel, NULL, &r, &x, &w, &st) == LURN_OK);
  double worst = 0;
  for (int i = 0; i < 20; i++) worst = fmax(worst, fabs(F(big)[2 * i + 1] - F(dw)[i] / 2));
  for (int i = 0; i < 20; i++) CHECK(F(big)[2 * i] == 0.0f);
  CHECK(worst < 1e-6);
  lurn_tensor *all[] = {&x, &w, &b, &r, &dx, &dw, &db, &big, &dws, &sel};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

static void test_linear_errors(void) {
  lurn_status st = {0};
  lurn_tensor x = mk(LURN_FLOAT32, 2, 4, 7, 0), w = mk(LURN_FLOAT32, 2, 5, 8, 0), y = {0};
  CHECK(lurn_linear_forward(&y, &x, &w, NULL, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "linear: input [4,7] does not match weight [5,8] (expected last dim 8)");
  CHECK(y.storage == NULL);
  lurn_tensor w2 = mk(LURN_FLOAT32, 2, 5, 7, 0), b = mk(LURN_FLOAT32, 1, 4, 0, 0);
  CHECK(lurn_linear_forward(&y, &x, &w2, &b, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "linear: bias [4] does not match weight [5,7] (expected [5])");
  lurn_tensor xi = mk(LURN_INT32, 2, 4, 7, 0);
  CHECK(lurn_linear_forward(&y, &xi, &w2, NULL, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "linear: input must be float32, got int32");
  lurn_tensor dy = mk(LURN_FLOAT32, 2, 4, 6, 0), dx = {0};
  CHECK(lurn_linear_backward(&dx, NULL, NULL, &dy, &x, &w2, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "linear: output gradient [4,6] does not match input [4,7] and weight [5,7] (expected [4,5])");
  lurn_tensor dy5 = mk(LURN_FLOAT32, 2, 4, 5, 0);
  CHECK(lurn_linear_backward(&dx, &w, NULL, &dy5, &x, &w2, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "linear: weight gradient [5,8] does not match weight [5,7]");
  lurn_tensor *all[] = {&x, &w, &w2, &b, &xi, &dy, &dy5};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

/* ---- Embedding ------------------------------------------------------------- */

struct emb_ctx { lurn_tensor *ids, *w, *r; int64_t pad; };
static double emb_loss(void *c) {
  struct emb_ctx *k = c;
  lurn_tensor y = {0};
  lurn_embedding_forward(&y, k->ids, k->w, k->pad, NULL);
  double s = proj(&y, k->r);
  lurn_tensor_release(&y);
  return s;
}

static void test_embedding(void) {
  lurn_status st = {0};
  const int V = 6, D = 3;
  lurn_tensor w = randt(2, V, D, 0, -1, 1), ids = mk(LURN_INT32, 2, 4, 2, 0), out = {0};
  const int32_t idv[8] = {1, 0, 3, 1, 0, 5, 1, 1};   // [T=4, B=2]: 1 repeats, 0 is padding
  memcpy(I32(ids), idv, sizeof idv);
  // the padding row holds non-zero values: the output must still be zero there
  CHECK(lurn_embedding_forward(&out, &ids, &w, 0, &st) == LURN_OK);
  CHECK(out.ndim == 3 && out.size[0] == 4 && out.size[1] == 2 && out.size[2] == D);
  for (int n = 0; n < 8; n++)
    for (int d = 0; d < D; d++)
      CHECK(F(out)[n * D + d] == (idv[n] == 0 ? 0.0f : F(w)[idv[n] * D + d]));
  // no padding: row 0 is looked up like any other
  CHECK(lurn_embedding_forward(&out, &ids, &w, -1, &st) == LURN_OK);
  CHECK(F(out)[1 * D + 2] == F(w)[0 * D + 2]);

  // backward: repeated ids accumulate, padding row gets nothing, FD agrees
  lurn_tensor r = randt(3, 4, 2, D, -1, 1), dw = mk(LURN_FLOAT32, 2, V, D, 0);
  CHECK(lurn_embedding_backward(&dw, &r, &ids, 0, &st) == LURN_OK);
  for (int d = 0; d < D; d++) {
    double s1 = 0;
    for (int n = 0; n < 8; n++) if (idv[n] == 1) s1 += F(r)[n * D + d];
    CHECK_NEAR(F(dw)[1 * D + d], s1, 1e-6);
    CHECK(F(dw)[0 * D + d] == 0.0f);   // padding
    CHECK(F(dw)[2 * D + d] == 0.0f);   // unused id
  }
  struct emb_ctx k = {&ids, &w, &r, 0};
  FD_OK("embedding dw (padding 0)", fd_check(F(w), V * D, F(dw), emb_loss, &k, 1e-2f), 1e-3);

  // errors: an id out of range names id, position and V; a bad padding index
  I32(ids)[5] = 9;   // position [3,2] (1-based, as messages count)
  lurn_tensor_release(&out);   // outputs are passed in released
  CHECK(lurn_embedding_forward(&out, &ids, &w, 0, &st) == LURN_EARG);
  CHECK_MSG(st, "embedding: id 9 at position [3,2]");
  CHECK_MSG(st, "V = 6");
  CHECK(out.storage == NULL);
  CHECK(lurn_embedding_backward(&dw, &r, &ids, 0, &st) == LURN_EARG);
  CHECK_MSG(st, "id 9 at position [3,2]");
  I32(ids)[5] = -2;
  CHECK(lurn_embedding_forward(&out, &ids, &w, 0, &st) == LURN_EARG);
  CHECK_MSG(st, "id -2 at position [3,2]");
  I32(ids)[5] = 5;
  CHECK(lurn_embedding_forward(&out, &ids, &w, 6, &st) == LURN_EARG);
  CHECK_MSG(st, "embedding: padding index 6");
  lurn_tensor wrongdy = mk(LURN_FLOAT32, 3, 4, 2, D + 1);
  CHECK(lurn_embedding_backward(&dw, &wrongdy, &ids, 0, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "embedding: output gradient [4,2,4] does not match ids [4,2]");
  lurn_tensor *all[] = {&w, &ids, &out, &r, &dw, &wrongdy};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

/* embedding_rows against a naive reference: the rows of dw that backward
 * made non-zero (random ids, some repeated, with and without padding). */
static void test_embedding_rows(void) {
  lurn_status st = {0};
  const int V = 40, D = 2, T = 7, B = 3;
  lurn_tensor ids = mk(LURN_INT32, 2, T, B, 0), rows = {0};
  lurn_tensor r = randt(3, T, B, D, 0.5f, 1), dw = mk(LURN_FLOAT32, 2, V, D, 0);
  for (int pad = -1; pad <= 3; pad += 4) {
    for (int n = 0; n < T * B; n++) I32(ids)[n] = (int32_t)((n * 17 + n * n) % 13) * 3;
    I32(ids)[4] = 3;   // the padding id (3) appears
    lurn_fill(&dw, 0);
    CHECK(lurn_embedding_backward(&dw, &r, &ids, pad, &st) == LURN_OK);
    CHECK(lurn_embedding_rows(&rows, &ids, V, pad, &st) == LURN_OK);
    CHECK(rows.dtype == LURN_INT32 && rows.ndim == 1);
    int64_t j = 0;
    for (int v = 0; v < V; v++) {
      int used = 0;   // naive: does any position hold v (not the padding id)?
      for (int n = 0; n < T * B; n++) used |= I32(ids)[n] == v && v != pad;
      CHECK(used == (F(dw)[v * D] != 0.0f));   // r > 0: a used row's gradient is non-zero
      if (used) {
        CHECK(j < rows.size[0] && I32(rows)[j] == v);
        j++;
      }
    }
    CHECK(j == rows.size[0]);
    lurn_tensor_release(&rows);
  }
  I32(ids)[2] = V;
  CHECK(lurn_embedding_rows(&rows, &ids, V, -1, &st) == LURN_EARG);
  CHECK_MSG(st, "id 40 at position [1,3]");
  CHECK(lurn_embedding_rows(&rows, &ids, 0, -1, &st) == LURN_EARG);
  CHECK_MSG(st, "embedding_rows: vocabulary size 0");
  lurn_tensor *all[] = {&ids, &rows, &r, &dw};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

/* ---- Dropout --------------------------------------------------------------- */

static void test_dropout(void) {
  lurn_status st = {0};
  lurn_rng r;
  lurn_rng_seed(&r, 7);
  lurn_tensor m = {0};
  int64_t sz[2] = {200, 500};
  CHECK(lurn_dropout_mask(&m, &r, 2, sz, 0.3, &st) == LURN_OK);
  int64_t kept = 0, bad = 0, n = lurn_numel(&m);
  for (int64_t i = 0; i < n; i++) {
    if (F(m)[i] == 0.0f) continue;
    kept++;
    if (fabs(F(m)[i] - 1.0 / 0.7) > 1e-6) bad++;
  }
  double frac = (double)kept / (double)n;   // 100000 draws: sd of frac ~ 0.0015
  printf("     dropout p=0.3 kept fraction %.4f\n", frac);
  CHECK(bad == 0 && fabs(frac - 0.7) < 0.01);
  // the same seed gives the same mask
  lurn_tensor m2 = {0};
  lurn_rng_seed(&r, 7);
  CHECK(lurn_dropout_mask(&m2, &r, 2, sz, 0.3, &st) == LURN_OK);
  CHECK(memcmp(F(m), F(m2), sizeof(float) * (size_t)n) == 0);
  // p = 0 keeps everything, p = 1 drops everything
  CHECK(lurn_dropout_mask(&m2, &r, 2, sz, 0.0, &st) == LURN_OK && F(m2)[123] == 1.0f);
  CHECK(lurn_dropout_mask(&m2, &r, 2, sz, 1.0, &st) == LURN_OK && F(m2)[123] == 0.0f);

  // plain dropout: y = x * mask, dx = dy * mask
  lurn_tensor x = randt(3, 5, 3, 4, -1, 1), mk3 = {0}, y = {0}, dx = {0};
  CHECK(lurn_dropout_mask(&mk3, &r, 3, x.size, 0.5, &st) == LURN_OK);
  CHECK(lurn_dropout_forward(&y, &x, &mk3, &st) == LURN_OK);
  for (int i = 0; i < 60; i++) CHECK(F(y)[i] == F(x)[i] * F(mk3)[i]);
  // variational: a [1, B, D] mask is the same at every step
  lurn_tensor mv = {0}, dy = randt(3, 5, 3, 4, -1, 1);
  int64_t vsz[3] = {1, 3, 4};
  CHECK(lurn_dropout_mask(&mv, &r, 3, vsz, 0.5, &st) == LURN_OK);
  CHECK(lurn_dropout_forward(&y, &x, &mv, &st) == LURN_OK);
  CHECK(lurn_dropout_backward(&dx, &dy, &mv, &st) == LURN_OK);
  for (int t = 0; t < 5; t++)
    for (int j = 0; j < 12; j++) {
      CHECK(F(y)[t * 12 + j] == F(x)[t * 12 + j] * F(mv)[j]);
      CHECK(F(dx)[t * 12 + j] == F(dy)[t * 12 + j] * F(mv)[j]);
    }
  // a non-contiguous input: [T, B, D] permuted from storage [B, T, D]
  lurn_tensor xt = {0};
  int perm[3] = {1, 0, 2};
  lurn_tensor xs = randt(3, 3, 5, 4, -1, 1);   // stored [B, T, D], viewed [T, B, D]
  CHECK(lurn_permute(&xt, &xs, perm, &st) == LURN_OK);
  CHECK(lurn_dropout_forward(&y, &xt, &mv, &st) == LURN_OK);
  for (int t = 0; t < 5; t++)
    for (int b = 0; b < 3; b++)
      for (int d = 0; d < 4; d++)
        CHECK(F(y)[(t * 3 + b) * 4 + d] == F(xs)[(b * 5 + t) * 4 + d] * F(mv)[b * 4 + d]);

  // errors
  lurn_tensor mbad = mk(LURN_FLOAT32, 3, 2, 3, 4);
  CHECK(lurn_dropout_forward(&y, &x, &mbad, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "dropout: mask [2,3,4] does not broadcast to input [5,3,4]");
  CHECK(lurn_dropout_mask(&m2, &r, 2, sz, 1.5, &st) == LURN_EARG);
  CHECK_MSG(st, "dropout: probability 1.5 is outside [0, 1]");
  lurn_tensor *all[] = {&m, &m2, &x, &mk3, &y, &dx, &mv, &dy, &xt, &xs, &mbad};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

/* ---- Activations ----------------------------------------------------------- */

struct act_ctx { lurn_activation act; lurn_tensor *x, *r; };
static double act_loss(void *c) {
  struct act_ctx *k = c;
  lurn_tensor y = {0};
  lurn_activation_forward(&y, k->act, k->x, NULL);
  double s = proj(&y, k->r);
  lurn_tensor_release(&y);
  return s;
}

static void test_activations(void) {
  lurn_status st = {0};
  for (int a = 0; a < 3; a++) {
    lurn_activation act = (lurn_activation)a;
    lurn_tensor x = randt(2, 6, 7, 0, -3, 3), r = randt(2, 6, 7, 0, -1, 1), y = {0}, dx = {0};
    // keep ReLU inputs away from the kink, where finite differences are meaningless
    for (int i = 0; i < 42; i++)
      if (fabsf(F(x)[i]) < 0.05f) F(x)[i] = 0.5f;
    F(x)[0] = 100.0f;   // saturation must not give inf or NaN
    F(x)[1] = -100.0f;
    CHECK(lurn_activation_forward(&y, act, &x, &st) == LURN_OK);
    for (int i = 0; i < 42; i++) {
      double v = F(x)[i];
      double ref = act == LURN_ACT_RELU ? fmax(v, 0) : act == LURN_ACT_TANH ? tanh(v)
                                                                           : 1 / (1 + exp(-v));
      CHECK_NEAR(F(y)[i], ref, 1e-6);
    }
    CHECK(lurn_activation_backward(&dx, act, &r, &y, &st) == LURN_OK);
    struct act_ctx k = {act, &x, &r};
    char name[64];
    snprintf(name, sizeof name, "%s dx (from the output)", lurn_activation_name(act));
    FD_OK(name, fd_check(F(x) + 2, 40, F(dx) + 2, act_loss, &k, 1e-2f), 2e-3);
    lurn_tensor_release(&x);
    lurn_tensor_release(&r);
    lurn_tensor_release(&y);
    lurn_tensor_release(&dx);
  }
  lurn_tensor a = mk(LURN_FLOAT32, 2, 2, 3, 0), b = mk(LURN_FLOAT32, 2, 3, 2, 0), d = {0};
  CHECK(lurn_activation_backward(&d, LURN_ACT_TANH, &a, &b, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "tanh: output gradient [2,3] does not match output [3,2]");
  lurn_tensor_release(&a);
  lurn_tensor_release(&b);
}

/* ---- Pool ------------------------------------------------------------------ */

struct pool_ctx { lurn_pool kind; lurn_tensor *x, *len, *r; };
static double pool_loss(void *c) {
  struct pool_ctx *k = c;
  lurn_tensor y = {0};
  lurn_pool_forward(&y, NULL, k->kind, k->x, k->len, NULL);
  double s = proj(&y, k->r);
  lurn_tensor_release(&y);
  return s;
}

static void test_pool(void) {
  lurn_status st = {0};
  const int T = 5, B = 4, D = 3;
  lurn_tensor x = randt(3, T, B, D, -2, 2), len = mk(LURN_INT32, 1, B, 0, 0);
  const int32_t lv[4] = {5, 2, 1, 3};
  memcpy(I32(len), lv, sizeof lv);
  lurn_tensor r = randt(2, B, D, 0, -1, 1);
  for (int kind = 0; kind < 3; kind++)
    for (int use_len = 0; use_len < 2; use_len++) {
      lurn_tensor *lp = use_len ? &len : NULL;
      lurn_tensor y = {0}, am = {0}, dx = {0};
      CHECK(lurn_pool_forward(&y, &am, (lurn_pool)kind, &x, lp, &st) == LURN_OK);
      CHECK(y.ndim == 2 && y.size[0] == B && y.size[1] == D);
      for (int b = 0; b < B; b++) {
        int L = use_len ? lv[b] : T;
        for (int d = 0; d < D; d++) {
          double ref = kind == LURN_POOL_MAX ? -INFINITY : 0;
          for (int t = 0; t < L; t++) {
            double v = F(x)[(t * B + b) * D + d];
            if (kind == LURN_POOL_MEAN) ref += v / L;
            else if (kind == LURN_POOL_MAX) ref = fmax(ref, v);
            else if (t == L - 1) ref = v;
          }
          CHECK_NEAR(F(y)[b * D + d], ref, 1e-6);
          if (kind == LURN_POOL_MAX) {
            int t = I32(am)[b * D + d];
            CHECK(t >= 0 && t < L && F(x)[(t * B + b) * D + d] == F(y)[b * D + d]);
          }
        }
      }
      CHECK(lurn_pool_backward(&dx, (lurn_pool)kind, &r, lp, &am, T, &st) == LURN_OK);
      CHECK(dx.ndim == 3 && dx.size[0] == T);
      // nothing flows to padded steps
      for (int b = 0; b < B && use_len; b++)
        for (int t = lv[b]; t < T; t++)
          for (int d = 0; d < D; d++) CHECK(F(dx)[(t * B + b) * D + d] == 0.0f);
      struct pool_ctx k = {(lurn_pool)kind, &x, lp, &r};
      char name[64];
      snprintf(name, sizeof name, "pool %s dx%s", lurn_pool_name((lurn_pool)kind),
               use_len ? " (lengths)" : "");
      // max: 60 uniform values in [-2, 2] are almost surely more than 2e-4
      // apart, so a step of 1e-4 never moves an argmax; mean and last are
      // linear and take a larger step (less float rounding)
      float eps = kind == LURN_POOL_MAX ? 1e-4f : 1e-2f;
      FD_OK(name, fd_check(F(x), T * B * D, F(dx), pool_loss, &k, eps), 2e-3);
      lurn_tensor_release(&y);
      lurn_tensor_release(&am);
      lurn_tensor_release(&dx);
    }
  // a length-0 sample pools to zeros and gets no gradient
  I32(len)[1] = 0;
  lurn_tensor y = {0}, am = {0}, dx = {0};
  CHECK(lurn_pool_forward(&y, &am, LURN_POOL_MAX, &x, &len, &st) == LURN_OK);
  CHECK(F(y)[1 * D] == 0.0f && I32(am)[1 * D] == -1);
  CHECK(lurn_pool_backward(&dx, LURN_POOL_MAX, &r, &len, &am, T, &st) == LURN_OK);
  // errors
  I32(len)[1] = 7;
  CHECK(lurn_pool_forward(&y, NULL, LURN_POOL_MEAN, &x, &len, &st) == LURN_EARG);
  CHECK_MSG(st, "pool: length 7 at position [2] is outside [0, 5] (input [5,4,3])");
  lurn_tensor x2 = mk(LURN_FLOAT32, 2, 5, 4, 0);
  CHECK(lurn_pool_forward(&y, NULL, LURN_POOL_MEAN, &x2, NULL, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "pool: input must be [T, B, D], got [5,4]");
  lurn_tensor len3 = mk(LURN_INT32, 1, 3, 0, 0);
  CHECK(lurn_pool_forward(&y, NULL, LURN_POOL_LAST, &x, &len3, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "pool: lengths [3] do not match input [5,4,3] (expected [4])");
  CHECK(lurn_pool_backward(&dx, LURN_POOL_MAX, &r, NULL, NULL, T, &st) == LURN_EARG);
  CHECK_MSG(st, "pool: argmax");
  lurn_tensor *all[] = {&x, &len, &r, &y, &am, &dx, &x2, &len3};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

/* ---- Softmax / LogSoftmax -------------------------------------------------- */

struct sm_ctx { int logs; lurn_tensor *x, *r; };
static double sm_loss(void *c) {
  struct sm_ctx *k = c;
  lurn_tensor y = {0};
  (k->logs ? lurn_log_softmax_forward : lurn_softmax_forward)(&y, k->x, NULL);
  double s = proj(&y, k->r);
  lurn_tensor_release(&y);
  return s;
}

static void test_softmax(void) {
  lurn_status st = {0};
  for (int logs = 0; logs < 2; logs++) {
    lurn_tensor x = randt(3, 2, 3, 5, -3, 3), r = randt(3, 2, 3, 5, -1, 1), y = {0}, dx = {0};
    F(x)[0] = 1000.0f;   // a huge logit: stable, no overflow
    CHECK((logs ? lurn_log_softmax_forward : lurn_softmax_forward)(&y, &x, &st) == LURN_OK);
    for (int row = 0; row < 6; row++) {
      const float *xr = F(x) + row * 5;
      double mx = -INFINITY, s = 0;
      for (int c = 0; c < 5; c++) mx = fmax(mx, xr[c]);
      for (int c = 0; c < 5; c++) s += exp(xr[c] - mx);
      for (int c = 0; c < 5; c++) {
        double ref = logs ? xr[c] - mx - log(s) : exp(xr[c] - mx) / s;
        CHECK(isfinite(F(y)[row * 5 + c]));
        CHECK_NEAR(F(y)[row * 5 + c], ref, logs ? 1e-4 : 1e-6);
      }
    }
    CHECK((logs ? lurn_log_softmax_backward : lurn_softmax_backward)(&dx, &r, &y, &st) == LURN_OK);
    F(x)[0] = 0.7f;   // back to a range where finite differences in float work
    lurn_tensor_release(&y);
    lurn_tensor_release(&dx);
    CHECK((logs ? lurn_log_softmax_forward : lurn_softmax_forward)(&y, &x, &st) == LURN_OK);
    CHECK((logs ? lurn_log_softmax_backward : lurn_softmax_backward)(&dx, &r, &y, &st) == LURN_OK);
    struct sm_ctx k = {logs, &x, &r};
    FD_OK(logs ? "log_softmax dx" : "softmax dx", fd_check(F(x), 30, F(dx), sm_loss, &k, 1e-2f),
          2e-3);
    lurn_tensor_release(&x);
    lurn_tensor_release(&r);
    lurn_tensor_release(&y);
    lurn_tensor_release(&dx);
  }
}

/* ---- CrossEntropy ---------------------------------------------------------- */

struct ce_ctx { lurn_tensor *x, *t; const lurn_ce_opts *o; };
static double ce_loss(void *c) {
  struct ce_ctx *k = c;
  double l = NAN;
  lurn_cross_entropy(&l, NULL, k->x, k->t, k->o, NULL);
  return l;
}

static void test_cross_entropy_reference(void) {
  // Reference: torch 1.13 F.cross_entropy(x, t, weight=w) in float64.
  lurn_status st = {0};
  const float xv[12] = {1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f, 0.2f, 0.2f, 0.2f, 2.0f, -2.0f, 1.0f};
  const int32_t tv[4] = {2, 1, -100, 0};
  const double gref[12] = {0.0660639707, 0.1795804912, -0.2456444620, 0.0097987575,
                           -0.5447927871, 0.5349940296, 0, 0, 0,
                           -0.0398001165, 0.0018875553, 0.0379125613};
  lurn_tensor x = mk(LURN_FLOAT32, 2, 4, 3, 0), t = mk(LURN_INT32, 1, 4, 0, 0);
  lurn_tensor w = mk(LURN_FLOAT32, 1, 3, 0, 0), g = {0};
  memcpy(F(x), xv, sizeof xv);
  memcpy(I32(t), tv, sizeof tv);
  F(w)[0] = 0.5f; F(w)[1] = 2.0f; F(w)[2] = 1.0f;
  lurn_ce_opts o;
  lurn_ce_opts_init(&o);
  o.weight = &w;
  double l = 0;
  CHECK(lurn_cross_entropy(&l, &g, &x, &t, &o, &st) == LURN_OK);
  CHECK_NEAR(l, 2.3598336892161536, 1e-6);
  CHECK(maxdiff(F(g), gref, 12) < 1e-6);
  o.reduction = LURN_REDUCE_SUM;
  CHECK(lurn_cross_entropy(&l, NULL, &x, &t, &o, &st) == LURN_OK);
  CHECK_NEAR(l, 8.259417912256538, 1e-5);
  // torch: F.cross_entropy(x, [2,1,1,0], ignore_index=1) = 1.1454657126877077
  lurn_ce_opts_init(&o);
  o.ignore_index = 1;
  I32(t)[2] = 1;
  CHECK(lurn_cross_entropy(&l, NULL, &x, &t, &o, &st) == LURN_OK);
  CHECK_NEAR(l, 1.1454657126877077, 1e-6);
  // everything ignored: 0, not NaN
  for (int i = 0; i < 4; i++) I32(t)[i] = 1;
  CHECK(lurn_cross_entropy(&l, &g, &x, &t, &o, &st) == LURN_OK);
  CHECK(l == 0.0 && F(g)[4] == 0.0f);
  lurn_tensor *all[] = {&x, &t, &w, &g};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

static void test_cross_entropy_fd(void) {
  lurn_status st = {0};
  const int N = 6, C = 4;
  lurn_tensor x = randt(2, N, C, 0, -2, 2), t = mk(LURN_INT32, 1, N, 0, 0), w = randt(1, C, 0, 0, 0.2f, 2);
  const int32_t tv[6] = {0, 3, 1, -1, 3, 2};   // -1 is the ignore index here
  memcpy(I32(t), tv, sizeof tv);
  for (int red = 0; red < 2; red++)
    for (int use_w = 0; use_w < 2; use_w++) {
      lurn_ce_opts o;
      lurn_ce_opts_init(&o);
      o.ignore_index = -1;
      o.reduction = (lurn_reduction)red;
      o.weight = use_w ? &w : NULL;
      lurn_tensor g = {0};
      double l = 0, ref = 0, den = 0;
      CHECK(lurn_cross_entropy(&l, &g, &x, &t, &o, &st) == LURN_OK);
      for (int n = 0; n < N; n++) {
        if (tv[n] == -1) continue;
        double s = 0, wc = use_w ? F(w)[tv[n]] : 1;
        for (int c = 0; c < C; c++) s += exp(F(x)[n * C + c]);
        ref += wc * (log(s) - F(x)[n * C + tv[n]]);
        den += wc;
      }
      if (red == LURN_REDUCE_MEAN) ref /= den;
      CHECK_NEAR(l, ref, 1e-6 * fmax(1, fabs(ref)));
      struct ce_ctx k = {&x, &t, &o};
      char name[64];
      snprintf(name, sizeof name, "cross_entropy %s%s dlogits", red ? "sum" : "mean",
               use_w ? " weighted" : "");
      FD_OK(name, fd_check(F(x), N * C, F(g), ce_loss, &k, 1e-2f), 2e-3);
      lurn_tensor_release(&g);
    }
  // error: a target out of range names the value and its position
  I32(t)[4] = 4;
  double l;
  lurn_tensor g = {0};
  lurn_ce_opts o;
  lurn_ce_opts_init(&o);
  o.ignore_index = -1;
  CHECK(lurn_cross_entropy(&l, &g, &x, &t, &o, &st) == LURN_EARG);
  CHECK_MSG(st, "cross_entropy: target 4 at position [5] is out of range [0, 4)");
  CHECK(g.storage == NULL);
  CHECK(lurn_cross_entropy(&l, &g, &x, &t, NULL, &st) == LURN_EARG);   // -1 not ignored now
  CHECK_MSG(st, "cross_entropy: target -1 at position [4] is out of range [0, 4) (logits [6,4], ignore_index -100)");
  lurn_tensor t2 = mk(LURN_INT32, 1, 5, 0, 0);
  CHECK(lurn_cross_entropy(&l, &g, &x, &t2, NULL, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "cross_entropy: targets [5] do not match logits [6,4] (expected [6])");
  lurn_tensor w5 = mk(LURN_FLOAT32, 1, 5, 0, 0);
  o.weight = &w5;
  I32(t)[4] = 3;
  CHECK(lurn_cross_entropy(&l, &g, &x, &t, &o, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "cross_entropy: class weights [5] do not match logits [6,4] (expected [4])");
  lurn_tensor *all[] = {&x, &t, &w, &t2, &w5};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

static void test_cross_entropy_steps(void) {
  // The per-step form [T, B, C] with lengths equals the flat form [T*B, C] with
  // the padded steps' targets set to the ignore index. Padded steps hold
  // garbage targets (99) that must not be read as errors.
  lurn_status st = {0};
  const int T = 4, B = 3, C = 5;
  lurn_tensor x = randt(3, T, B, C, -2, 2), t = mk(LURN_INT32, 2, T, B, 0);
  lurn_tensor len = mk(LURN_INT32, 1, B, 0, 0), w = randt(1, C, 0, 0, 0.5f, 1.5f);
  const int32_t lv[3] = {4, 1, 2};
  memcpy(I32(len), lv, sizeof lv);
  for (int i = 0; i < T * B; i++) I32(t)[i] = i / B < lv[i % B] ? (int32_t)(urand() * C) : 99;
  lurn_ce_opts o;
  lurn_ce_opts_init(&o);
  o.lengths = &len;
  o.weight = &w;
  double l = 0, lf = 0;
  lurn_tensor g = {0}, gf = {0}, xf = {0}, tf = {0};
  CHECK(lurn_cross_entropy(&l, &g, &x, &t, &o, &st) == LURN_OK);
  int64_t fs[2] = {T * B, C}, ts[1] = {T * B};
  CHECK(lurn_view(&xf, &x, 2, fs, &st) == LURN_OK);
  CHECK(lurn_clone(&tf, &t, LURN_INT32, &st) == LURN_OK);
  CHECK(lurn_view(&tf, &tf, 1, ts, &st) == LURN_OK);
  for (int i = 0; i < T * B; i++) if (I32(tf)[i] == 99) I32(tf)[i] = -100;
  lurn_ce_opts of;
  lurn_ce_opts_init(&of);
  of.weight = &w;
  CHECK(lurn_cross_entropy(&lf, &gf, &xf, &tf, &of, &st) == LURN_OK);
  CHECK_NEAR(l, lf, 1e-9);
  CHECK(memcmp(F(g), F(gf), sizeof(float) * T * B * C) == 0);
  for (int c = 0; c < C; c++) CHECK(F(g)[(1 * B + 1) * C + c] == 0.0f);   // t=1 >= len[1]
  struct ce_ctx k = {&x, &t, &o};
  FD_OK("cross_entropy per-step (lengths) dlogits", fd_check(F(x), T * B * C, F(g), ce_loss, &k, 1e-2f), 2e-3);
  // lengths with 2-D logits: an error
  CHECK(lurn_cross_entropy(&l, NULL, &xf, &tf, &o, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "cross_entropy: lengths need per-step logits [T, B, C], got logits [12,5]");
  lurn_tensor *all[] = {&x, &t, &len, &w, &g, &gf, &xf, &tf};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

/* ---- BCEWithLogits and MSE ------------------------------------------------- */

struct bce_ctx { lurn_tensor *x, *t, *pw; lurn_reduction red; int mse; };
static double bce_loss(void *c) {
  struct bce_ctx *k = c;
  double l = NAN;
  if (k->mse) lurn_mse(&l, NULL, k->x, k->t, k->red, NULL);
  else lurn_bce_with_logits(&l, NULL, k->x, k->t, k->pw, k->red, NULL);
  return l;
}

static void test_bce(void) {
  lurn_status st = {0};
  // Reference: torch 1.13 F.binary_cross_entropy_with_logits(x, t, pos_weight=pw), float64.
  const float xv[6] = {0.5f, -1.0f, 3.0f, -20.0f, 40.0f, 0.0f}, tv[6] = {1, 0, 0.3f, 1, 0, 1};
  const double gref[6] = {-0.1258468896, 0.0448235702, 0.1063910608, -0.0833333332,
                          0.1666666667, -0.0416666667};
  lurn_tensor x = mk(LURN_FLOAT32, 2, 3, 2, 0), t = mk(LURN_FLOAT32, 2, 3, 2, 0);
  lurn_tensor pw = mk(LURN_FLOAT32, 1, 2, 0, 0), g = {0};
  memcpy(F(x), xv, sizeof xv);
  memcpy(F(t), tv, sizeof tv);
  F(pw)[0] = 2.0f;
  F(pw)[1] = 0.5f;
  double l = 0;
  CHECK(lurn_bce_with_logits(&l, &g, &x, &t, &pw, LURN_REDUCE_MEAN, &st) == LURN_OK);
  CHECK_NEAR(l, 8.961858800705809, 1e-6);
  CHECK(maxdiff(F(g), gref, 6) < 1e-6);

  // finite differences, with and without pos_weight, mean and sum
  lurn_tensor xr = randt(2, 4, 3, 0, -3, 3), tr = randt(2, 4, 3, 0, 0, 1), pr = randt(1, 3, 0, 0, 0.5f, 3);
  for (int red = 0; red < 2; red++)
    for (int use_pw = 0; use_pw < 2; use_pw++) {
      lurn_tensor gr = {0};
      CHECK(lurn_bce_with_logits(&l, &gr, &xr, &tr, use_pw ? &pr : NULL, (lurn_reduction)red, &st) == LURN_OK);
      double ref = 0;
      for (int i = 0; i < 12; i++) {
        double v = F(xr)[i], y = F(tr)[i], p = use_pw ? F(pr)[i % 3] : 1;
        ref += -(p * y * log(1 / (1 + exp(-v))) + (1 - y) * log(1 - 1 / (1 + exp(-v))));
      }
      if (red == LURN_REDUCE_MEAN) ref /= 12;
      CHECK_NEAR(l, ref, 1e-6 * fmax(1, fabs(ref)));
      struct bce_ctx k = {&xr, &tr, use_pw ? &pr : NULL, (lurn_reduction)red, 0};
      char name[64];
      snprintf(name, sizeof name, "bce_with_logits %s%s dx", red ? "sum" : "mean",
               use_pw ? " pos_weight" : "");
      FD_OK(name, fd_check(F(xr), 12, F(gr), bce_loss, &k, 1e-2f), 2e-3);
      lurn_tensor_release(&gr);
    }
  // errors
  F(t)[3] = 1.5f;
  CHECK(lurn_bce_with_logits(&l, &g, &x, &t, NULL, LURN_REDUCE_MEAN, &st) == LURN_EARG);
  CHECK_MSG(st, "bce_with_logits: target 1.5 at position [2,2] is outside [0, 1]");
  CHECK(lurn_bce_with_logits(&l, &g, &xr, &tr, &pw, LURN_REDUCE_MEAN, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "bce_with_logits: pos_weight [2] does not match input [4,3] (expected [3]");
  CHECK(lurn_bce_with_logits(&l, &g, &x, &tr, NULL, LURN_REDUCE_MEAN, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "bce_with_logits: target [4,3] does not match input [3,2]");
  lurn_tensor *all[] = {&x, &t, &pw, &g, &xr, &tr, &pr};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

static void test_mse(void) {
  lurn_status st = {0};
  lurn_tensor x = randt(3, 2, 3, 4, -2, 2), t = randt(3, 2, 3, 4, -2, 2), g = {0};
  for (int red = 0; red < 2; red++) {
    double l = 0, ref = 0;
    CHECK(lurn_mse(&l, &g, &x, &t, (lurn_reduction)red, &st) == LURN_OK);
    for (int i = 0; i < 24; i++) ref += pow((double)F(x)[i] - F(t)[i], 2);
    if (red == LURN_REDUCE_MEAN) ref /= 24;
    CHECK_NEAR(l, ref, 1e-9 * fmax(1, ref));
    struct bce_ctx k = {&x, &t, NULL, (lurn_reduction)red, 1};
    FD_OK(red ? "mse sum dx" : "mse mean dx", fd_check(F(x), 24, F(g), bce_loss, &k, 1e-2f), 2e-3);
    lurn_tensor_release(&g);
  }
  lurn_tensor t2 = mk(LURN_FLOAT32, 2, 6, 4, 0);
  double l;
  CHECK(lurn_mse(&l, &g, &x, &t2, LURN_REDUCE_MEAN, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "mse: target [6,4] does not match input [2,3,4]");
  lurn_tensor *all[] = {&x, &t, &g, &t2};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

/* ---- non-contiguous inputs ------------------------------------------------- */

/* Every layer must give the same bits on a strided view as on its contiguous
 * copy. The views: a [T, B, D] permuted from storage [B, T, D], and ids /
 * targets / lengths read through a stride of 2. */
static int same_bits(const lurn_tensor *a, const lurn_tensor *b) {
  return lurn_same_shape(a, b) &&
         memcmp(lurn_f32(a), lurn_f32(b), sizeof(float) * (size_t)lurn_numel(a)) == 0;
}

static void test_noncontiguous(void) {
  lurn_status st = {0};
  const int T = 4, B = 3, D = 5;
  int perm[3] = {1, 0, 2};
  lurn_tensor store = randt(3, B, T, D, -2, 2), xv = {0}, xc = {0};
  CHECK(lurn_permute(&xv, &store, perm, &st) == LURN_OK);   // [T, B, D] view
  CHECK(lurn_clone(&xc, &xv, LURN_FLOAT32, &st) == LURN_OK);
  CHECK(!lurn_is_contiguous(&xv) && lurn_is_contiguous(&xc));
  // int32 [B] lengths and [T, B] targets read through a stride of 2
  lurn_tensor l2 = mk(LURN_INT32, 2, B, 2, 0), lv = {0}, lc = {0};
  lurn_tensor t2 = mk(LURN_INT32, 3, T, B, 2), tv = {0}, tc = {0};
  for (int b = 0; b < B; b++) I32(l2)[2 * b] = (int32_t)(1 + b);
  for (int i = 0; i < T * B; i++) I32(t2)[2 * i] = (int32_t)(i % D);
  CHECK(lurn_select(&lv, &l2, 1, 0, &st) == LURN_OK && !lurn_is_contiguous(&lv));
  CHECK(lurn_select(&tv, &t2, 2, 0, &st) == LURN_OK && !lurn_is_contiguous(&tv));
  CHECK(lurn_clone(&lc, &lv, LURN_INT32, &st) == LURN_OK);
  CHECK(lurn_clone(&tc, &tv, LURN_INT32, &st) == LURN_OK);

  lurn_tensor a = {0}, b = {0}, aa = {0}, ab = {0};
  for (int kind = 0; kind < 3; kind++) {
    CHECK(lurn_pool_forward(&a, &aa, (lurn_pool)kind, &xv, &lv, &st) == LURN_OK);
    CHECK(lurn_pool_forward(&b, &ab, (lurn_pool)kind, &xc, &lc, &st) == LURN_OK);
    CHECK(same_bits(&a, &b));
    lurn_tensor_release(&aa);
    lurn_tensor_release(&ab);
  }
  CHECK(lurn_softmax_forward(&a, &xv, &st) == LURN_OK && lurn_softmax_forward(&b, &xc, &st) == LURN_OK);
  CHECK(same_bits(&a, &b));
  CHECK(lurn_log_softmax_forward(&a, &xv, &st) == LURN_OK);
  CHECK(lurn_log_softmax_forward(&b, &xc, &st) == LURN_OK);
  CHECK(same_bits(&a, &b));
  CHECK(lurn_activation_forward(&a, LURN_ACT_TANH, &xv, &st) == LURN_OK);
  CHECK(lurn_activation_forward(&b, LURN_ACT_TANH, &xc, &st) == LURN_OK);
  CHECK(same_bits(&a, &b));
  CHECK(lurn_activation_backward(&aa, LURN_ACT_TANH, &xv, &a, &st) == LURN_OK);
  CHECK(lurn_activation_backward(&ab, LURN_ACT_TANH, &xc, &b, &st) == LURN_OK);
  CHECK(same_bits(&aa, &ab));
  lurn_ce_opts o;
  lurn_ce_opts_init(&o);
  double la = 0, lb = 1;
  o.lengths = &lv;
  CHECK(lurn_cross_entropy(&la, &a, &xv, &tv, &o, &st) == LURN_OK);
  o.lengths = &lc;
  CHECK(lurn_cross_entropy(&lb, &b, &xc, &tc, &o, &st) == LURN_OK);
  CHECK(la == lb && same_bits(&a, &b));
  lurn_tensor sig = {0};   // targets in (0, 1)
  CHECK(lurn_activation_forward(&sig, LURN_ACT_SIGMOID, &xc, &st) == LURN_OK);
  CHECK(lurn_bce_with_logits(&la, &a, &xv, &sig, NULL, LURN_REDUCE_MEAN, &st) == LURN_OK);
  CHECK(lurn_bce_with_logits(&lb, &b, &xc, &sig, NULL, LURN_REDUCE_MEAN, &st) == LURN_OK);
  CHECK(la == lb && same_bits(&a, &b));
  CHECK(lurn_mse(&la, &a, &xv, &sig, LURN_REDUCE_SUM, &st) == LURN_OK);
  CHECK(lurn_mse(&lb, &b, &xc, &sig, LURN_REDUCE_SUM, &st) == LURN_OK);
  CHECK(la == lb && same_bits(&a, &b));
  // embedding with strided ids and a transposed (column-strided) weight
  lurn_tensor wst = randt(2, D, 7, 0, -1, 1), wv = {0}, wc = {0};   // weight [7, D] viewed
  CHECK(lurn_transpose(&wv, &wst, 0, 1, &st) == LURN_OK);
  CHECK(lurn_clone(&wc, &wv, LURN_FLOAT32, &st) == LURN_OK);
  CHECK(lurn_embedding_forward(&a, &tv, &wv, 2, &st) == LURN_OK);
  CHECK(lurn_embedding_forward(&b, &tc, &wc, 2, &st) == LURN_OK);
  CHECK(same_bits(&a, &b));
  lurn_tensor dwv = mk(LURN_FLOAT32, 2, D, 7, 0), dwvt = {0}, dwc = mk(LURN_FLOAT32, 2, 7, D, 0);
  CHECK(lurn_transpose(&dwvt, &dwv, 0, 1, &st) == LURN_OK);   // a strided accumulator
  lurn_tensor g = randt(3, T, B, D, -1, 1);
  CHECK(lurn_embedding_backward(&dwvt, &g, &tv, 2, &st) == LURN_OK);
  CHECK(lurn_embedding_backward(&dwc, &g, &tc, 2, &st) == LURN_OK);
  int eq = 1;
  for (int v = 0; v < 7; v++)
    for (int d = 0; d < D; d++) eq &= F(dwv)[d * 7 + v] == F(dwc)[v * D + d];
  CHECK(eq);
  lurn_tensor *all[] = {&store, &xv, &xc, &l2, &lv, &lc, &t2, &tv, &tc, &a, &b, &aa, &ab,
                        &sig, &wst, &wv, &wc, &dwv, &dwvt, &dwc, &g};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

/* ---- determinism across thread counts -------------------------------------- */

static void test_threads_bitwise(void) {
  // Embedding backward with many repeats and a large cross-entropy: the same
  // bits with 1 and 2 threads.
  lurn_status st = {0};
  const int V = 50, D = 96, N = 4000, C = 300;
  lurn_tensor ids = mk(LURN_INT32, 1, N, 0, 0), dout = randt(2, N, D, 0, -1, 1);
  for (int i = 0; i < N; i++) I32(ids)[i] = (int32_t)(urand() * V);
  lurn_tensor x = randt(2, 200, C, 0, -3, 3), t = mk(LURN_INT32, 1, 200, 0, 0);
  for (int i = 0; i < 200; i++) I32(t)[i] = (int32_t)(urand() * C);
  lurn_tensor dw[2] = {mk(LURN_FLOAT32, 2, V, D, 0), mk(LURN_FLOAT32, 2, V, D, 0)}, g[2] = {{0}, {0}};
  double l[2];
  for (int k = 0; k < 2; k++) {
    lurn_set_threads(k + 1);
    CHECK(lurn_embedding_backward(&dw[k], &dout, &ids, 3, &st) == LURN_OK);
    CHECK(lurn_cross_entropy(&l[k], &g[k], &x, &t, NULL, &st) == LURN_OK);
  }
  lurn_set_threads(0);
  CHECK(memcmp(F(dw[0]), F(dw[1]), sizeof(float) * V * D) == 0);
  CHECK(memcmp(F(g[0]), F(g[1]), sizeof(float) * 200 * C) == 0);
  CHECK(l[0] == l[1]);
  lurn_tensor *all[] = {&ids, &dout, &x, &t, &dw[0], &dw[1], &g[0], &g[1]};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) lurn_tensor_release(all[i]);
}

int main(void) {
  RUN(test_linear_forward);
  RUN(test_linear_backward);
  RUN(test_linear_errors);
  RUN(test_embedding);
  RUN(test_embedding_rows);
  RUN(test_dropout);
  RUN(test_activations);
  RUN(test_pool);
  RUN(test_softmax);
  RUN(test_cross_entropy_reference);
  RUN(test_cross_entropy_fd);
  RUN(test_cross_entropy_steps);
  RUN(test_bce);
  RUN(test_mse);
  RUN(test_noncontiguous);
  RUN(test_threads_bitwise);
  return check_summary();
}
