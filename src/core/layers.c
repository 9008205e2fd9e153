/*
 * layers.c — forward and backward of lurn's non-recurrent layers (see
 * layers.h): Linear, Embedding, Dropout, ReLU/Tanh/Sigmoid, Pool over time,
 * Softmax/LogSoftmax. The losses are in loss.c.
 *
 * Each public function checks everything first, then makes its inputs
 * contiguous (a no-copy retain when they already are), allocates its output
 * and runs a plain llm.c-style loop over raw pointers. Linear is the one
 * exception: it hands strided views straight to BLIS.
 *
 * Memory: every call allocates only its output, plus a copy of an input that
 * is not contiguous (or not BLIS-friendly), plus O(row) scratch in
 * linear_backward (db) and pool mean.
 */
#include "layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "layer_util.h"

/* Below this many elements a loop is not worth waking OpenMP threads for. */
#define PAR_MIN 32768

/* ---- helpers --------------------------------------------------------------- */

/* A size-1 dim's stride is meaningless, but BLIS still checks it: give it
 * the value a contiguous row- or column-major layout would have. */
static void norm_strides(int64_t m, int64_t n, int64_t *rs, int64_t *cs) {
  if (m <= 1) *rs = (*cs == 1) ? (n > 0 ? n : 1) : 1;
  if (n <= 1) *cs = (*rs == 1) ? (m > 0 ? m : 1) : 1;
}

/* BLIS takes a matrix by (rs, cs) but rejects some layouts (zero or
 * overlapping strides) and is slow on general strides, so an operand goes
 * to it only when one stride is 1 and the other spans the matrix. */
static int blis_ok(int64_t m, int64_t n, int64_t *rs, int64_t *cs) {
  norm_strides(m, n, rs, cs);
  return (*cs == 1 && *rs >= n) || (*rs == 1 && *cs >= m);
}

/* lurn_sgemm with every operand's strides normalised (see norm_strides):
 * C[m,n] := beta*C + alpha * A[m,k] * B[k,n]. */
static void gemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t rs_a,
                 int64_t cs_a, const float *b, int64_t rs_b, int64_t cs_b, float beta, float *c,
                 int64_t rs_c, int64_t cs_c) {
  norm_strides(m, k, &rs_a, &cs_a);
  norm_strides(k, n, &rs_b, &cs_b);
  norm_strides(m, n, &rs_c, &cs_c);
  lurn_sgemm(m, n, k, alpha, a, rs_a, cs_a, b, rs_b, cs_b, beta, c, rs_c, cs_c);
}

/* View t [..., K] as a 2-D [N, K] operand for BLIS: shares t's storage when
 * the leading dims collapse into one stride and the result is BLIS-friendly,
 * otherwise copies into contiguous storage. `out` must be released. */
static int as_matrix(lurn_tensor *out, const lurn_tensor *t, lurn_status *st) {
  int nd = t->ndim;
  int64_t K = nd ? t->size[nd - 1] : 1, cs = nd ? t->stride[nd - 1] : 1;
  int64_t N = 1, rs = -1, expect = -1;
  int collapses = 1;
  for (int d = nd - 2; d >= 0; d--) {
    N *= t->size[d];
    if (t->size[d] == 1) continue;
    if (expect < 0) rs = t->stride[d];
    else if (t->stride[d] != expect) collapses = 0;
    expect = t->stride[d] * t->size[d];
  }
  if (rs < 0) rs = K * cs;
  if (collapses && blis_ok(N, K, &rs, &cs)) {
    lurn_tensor_share(out, t);
  } else {
    int rc = lurn_contiguous(out, t, st);
    if (rc) return rc;
    rs = K;
    cs = 1;
  }
  out->ndim = 2;
  out->size[0] = N;
  out->size[1] = K;
  out->stride[0] = rs;
  out->stride[1] = cs;
  return LURN_OK;
}

/* A 2-D tensor as a BLIS operand: shared when friendly, else copied. */
static int as_operand(lurn_tensor *out, const lurn_tensor *t, lurn_status *st) {
  int64_t rs = t->stride[0], cs = t->stride[1];
  if (blis_ok(t->size[0], t->size[1], &rs, &cs)) {
    lurn_tensor_share(out, t);
    out->stride[0] = rs;
    out->stride[1] = cs;
    return LURN_OK;
  }
  return lurn_contiguous(out, t, st);
}

/* A fresh float32 tensor shaped like `t` but with the last dim replaced by
 * `last` (last < 0 keeps it). */
static int new_with_last(lurn_tensor *out, const lurn_tensor *t, int64_t last,
                         lurn_status *st) {
  int64_t size[LURN_MAXDIM];
  for (int d = 0; d < t->ndim; d++) size[d] = t->size[d];
  if (last >= 0 && t->ndim > 0) size[t->ndim - 1] = last;
  return lurn_tensor_new(out, LURN_FLOAT32, t->ndim, size, st);
}

/* Product of all dims but the last. */
static int64_t leading(const lurn_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim - 1; d++) n *= t->size[d];
  return n;
}

/* ---- Linear ---------------------------------------------------------------- */

static int linear_check_w(const lurn_tensor *x, const lurn_tensor *w, const lurn_tensor *b,
                          lurn_status *st) {
  char sx[96], sw[96], sb[96];
  int rc;
  if ((rc = lurn__check("linear", "input", x, LURN_FLOAT32, st)) ||
      (rc = lurn__check("linear", "weight", w, LURN_FLOAT32, st)))
    return rc;
  if (b && (rc = lurn__check("linear", "bias", b, LURN_FLOAT32, st))) return rc;
  if (w->ndim != 2)
    return lurn_fail(st, LURN_ESHAPE, "linear: weight must be 2-D [out, in], got %s",
                     LURN_SHP(w, sw));
  if (x->ndim < 1 || x->size[x->ndim - 1] != w->size[1])
    return lurn_fail(st, LURN_ESHAPE,
                     "linear: input %s does not match weight %s (expected last dim %lld)",
                     LURN_SHP(x, sx), LURN_SHP(w, sw), (long long)w->size[1]);
  if (b && (b->ndim != 1 || b->size[0] != w->size[0]))
    return lurn_fail(st, LURN_ESHAPE, "linear: bias %s does not match weight %s (expected [%lld])",
                     LURN_SHP(b, sb), LURN_SHP(w, sw), (long long)w->size[0]);
  return LURN_OK;
}

int lurn_linear_forward(lurn_tensor *y, const lurn_tensor *x, const lurn_tensor *w,
                        const lurn_tensor *b, lurn_status *st) {
  int rc = linear_check_w(x, w, b, st);
  if (rc) return rc;
  int64_t O = w->size[0], I = w->size[1], N = leading(x);
  lurn_tensor x2 = {0}, w2 = {0};   // x2 [N, I], w2 [O, I]
  if ((rc = as_matrix(&x2, x, st)) || (rc = as_operand(&w2, w, st)) ||
      (rc = new_with_last(y, x, O, st)))
    goto done;
  float *out = lurn_f32(y);   // [N, O]
  if (b) {
    const float *bp = lurn_f32(b);   // [O], stride b->stride[0]
    for (int64_t n = 0; n < N; n++)
      for (int64_t o = 0; o < O; o++) out[n * O + o] = bp[o * b->stride[0]];
  }
  // y[N,O] := beta*y + x[N,I] * w^T[I,O]   (w^T: w's strides swapped; beta = 1 keeps the bias)
  gemm(N, O, I, 1.0f, lurn_f32(&x2), x2.stride[0], x2.stride[1],
             lurn_f32(&w2), w2.stride[1], w2.stride[0], b ? 1.0f : 0.0f, out, O, 1);
done:
  lurn_tensor_release(&x2);
  lurn_tensor_release(&w2);
  return rc;
}

int lurn_linear_backward(lurn_tensor *dx, lurn_tensor *dw, lurn_tensor *db,
                         const lurn_tensor *dy, const lurn_tensor *x, const lurn_tensor *w,
                         lurn_status *st) {
  char s1[96], s2[96], s3[96];
  int rc = linear_check_w(x, w, NULL, st);
  if (rc) return rc;
  if ((rc = lurn__check("linear", "output gradient", dy, LURN_FLOAT32, st))) return rc;
  int64_t O = w->size[0], I = w->size[1], N = leading(x);
  int ok = dy->ndim == x->ndim && dy->size[dy->ndim - 1] == O;
  for (int d = 0; ok && d < x->ndim - 1; d++) ok = dy->size[d] == x->size[d];
  if (!ok) {
    int64_t want[LURN_MAXDIM];
    memcpy(want, x->size, sizeof want);
    want[x->ndim - 1] = O;
    return lurn_fail(st, LURN_ESHAPE,
                     "linear: output gradient %s does not match input %s and weight %s"
                     " (expected %s)", LURN_SHP(dy, s1), LURN_SHP(x, s2), LURN_SHP(w, s3),
                     lurn_shape_str((char[96]){0}, 96, x->ndim, want));
  }
  if (dw && (rc = lurn__check("linear", "weight gradient", dw, LURN_FLOAT32, st))) return rc;
  if (dw && !lurn_same_shape(dw, w))
    return lurn_fail(st, LURN_ESHAPE, "linear: weight gradient %s does not match weight %s",
                     LURN_SHP(dw, s1), LURN_SHP(w, s2));
  if (db && (rc = lurn__check("linear", "bias gradient", db, LURN_FLOAT32, st))) return rc;
  if (db && (db->ndim != 1 || db->size[0] != O))
    return lurn_fail(st, LURN_ESHAPE, "linear: bias gradient %s does not match weight %s"
                     " (expected [%lld])", LURN_SHP(db, s1), LURN_SHP(w, s2), (long long)O);

  lurn_tensor dy2 = {0}, x2 = {0}, w2 = {0}, tmp = {0};   // dy2 [N, O], x2 [N, I], w2 [O, I]
  double *acc = NULL;                                      // [O] column sums of dy
  if ((rc = as_matrix(&dy2, dy, st))) goto done;
  const float *g = lurn_f32(&dy2);
  int64_t grs = dy2.stride[0], gcs = dy2.stride[1];
  if (dx) {
    if ((rc = as_operand(&w2, w, st)) || (rc = new_with_last(dx, x, -1, st))) goto done;
    // dx[N,I] := dy[N,O] * w[O,I]
    gemm(N, I, O, 1.0f, g, grs, gcs, lurn_f32(&w2), w2.stride[0], w2.stride[1], 0.0f,
               lurn_f32(dx), I, 1);
  }
  if (dw) {
    if ((rc = as_matrix(&x2, x, st))) goto done;
    int64_t rs = dw->stride[0], cs = dw->stride[1];
    if (blis_ok(O, I, &rs, &cs)) {
      // dw[O,I] += dy^T[O,N] * x[N,I]   (dy^T: dy's strides swapped)
      gemm(O, I, N, 1.0f, g, gcs, grs, lurn_f32(&x2), x2.stride[0], x2.stride[1], 1.0f,
                 lurn_f32(dw), rs, cs);
    } else {
      // An accumulator BLIS cannot write: tmp[O,I] := dy^T x, then dw += tmp elementwise.
      if ((rc = lurn_tensor_new(&tmp, LURN_FLOAT32, 2, w->size, st))) goto done;
      float *t = lurn_f32(&tmp), *d = lurn_f32(dw);
      gemm(O, I, N, 1.0f, g, gcs, grs, lurn_f32(&x2), x2.stride[0], x2.stride[1], 0.0f,
                 t, I, 1);
      for (int64_t o = 0; o < O; o++)
        for (int64_t i = 0; i < I; i++) d[o * dw->stride[0] + i * dw->stride[1]] += t[o * I + i];
    }
  }
  if (db) {
    // db[o] += sum_n dy[n,o], summed in double in row order (deterministic).
    acc = calloc((size_t)(O > 0 ? O : 1), sizeof *acc);
    if (!acc) { rc = lurn_fail(st, LURN_ENOMEM, "linear: out of memory"); goto done; }
    for (int64_t n = 0; n < N; n++)
      for (int64_t o = 0; o < O; o++) acc[o] += g[n * grs + o * gcs];
    float *d = lurn_f32(db);
    for (int64_t o = 0; o < O; o++) d[o * db->stride[0]] += (float)acc[o];
  }
done:
  if (rc && dx) lurn_tensor_release(dx);
  free(acc);
  lurn_tensor_release(&dy2);
  lurn_tensor_release(&x2);
  lurn_tensor_release(&w2);
  lurn_tensor_release(&tmp);
  return rc;
}

/* ---- Embedding ------------------------------------------------------------- */

/* Checks shared by forward and backward: ids int32 in [0, V) (padding may be
 * -1 or any row). `ids` is contiguous here, so flat index = position. */
static int embedding_check_ids(const lurn_tensor *ids, const int32_t *id, int64_t V,
                               int64_t padding, lurn_status *st) {
  char sp[96], sw[96];
  if (padding < -1 || padding >= V)
    return lurn_fail(st, LURN_EARG, "embedding: padding index %lld is outside [0, %lld) (V = %lld)"
                     " and is not -1 (none)", (long long)padding, (long long)V, (long long)V);
  int64_t n = lurn_numel(ids);
  for (int64_t i = 0; i < n; i++)
    if (id[i] < 0 || id[i] >= V)
      return lurn_fail(st, LURN_EARG,
                       "embedding: id %d at position %s of ids %s is out of range [0, %lld) (V = %lld)",
                       (int)id[i], lurn__pos_str(sp, sizeof sp, ids->ndim, ids->size, i),
                       LURN_SHP(ids, sw), (long long)V, (long long)V);
  return LURN_OK;
}

int lurn_embedding_forward(lurn_tensor *out, const lurn_tensor *ids, const lurn_tensor *w,
                           int64_t padding, lurn_status *st) {
  char s1[96];
  int rc;
  if ((rc = lurn__check("embedding", "ids", ids, LURN_INT32, st)) ||
      (rc = lurn__check("embedding", "weight", w, LURN_FLOAT32, st)))
    return rc;
  if (w->ndim != 2)
    return lurn_fail(st, LURN_ESHAPE, "embedding: weight must be 2-D [V, D], got %s",
                     LURN_SHP(w, s1));
  if (ids->ndim >= LURN_MAXDIM)
    return lurn_fail(st, LURN_ESHAPE, "embedding: ids %s have too many dims (at most %d)",
                     LURN_SHP(ids, s1), LURN_MAXDIM - 1);
  int64_t V = w->size[0], D = w->size[1], N = lurn_numel(ids);
  lurn_tensor idc = {0};
  if ((rc = lurn_contiguous(&idc, ids, st))) return rc;
  const int32_t *id = lurn_i32(&idc);   // [N]
  if ((rc = embedding_check_ids(ids, id, V, padding, st))) goto done;
  int64_t size[LURN_MAXDIM];
  memcpy(size, ids->size, sizeof(int64_t) * (size_t)ids->ndim);
  size[ids->ndim] = D;
  if ((rc = lurn_tensor_new(out, LURN_FLOAT32, ids->ndim + 1, size, st))) goto done;
  float *o = lurn_f32(out);              // [N, D]
  const float *wp = lurn_f32(w);         // [V, D], strides w->stride
  int64_t rs = w->stride[0], cs = w->stride[1];
#pragma omp parallel for schedule(static) if (N * D >= PAR_MIN)
  for (int64_t n = 0; n < N; n++) {
    float *dst = o + n * D;
    if (id[n] == padding) { memset(dst, 0, sizeof(float) * (size_t)D); continue; }
    const float *row = wp + (int64_t)id[n] * rs;
    if (cs == 1) memcpy(dst, row, sizeof(float) * (size_t)D);
    else for (int64_t d = 0; d < D; d++) dst[d] = row[d * cs];
  }
done:
  lurn_tensor_release(&idc);
  return rc;
}

int lurn_embedding_backward(lurn_tensor *dw, const lurn_tensor *dout, const lurn_tensor *ids,
                            int64_t padding, lurn_status *st) {
  char s1[96], s2[96], s3[96];
  int rc;
  if ((rc = lurn__check("embedding", "weight gradient", dw, LURN_FLOAT32, st)) ||
      (rc = lurn__check("embedding", "output gradient", dout, LURN_FLOAT32, st)) ||
      (rc = lurn__check("embedding", "ids", ids, LURN_INT32, st)))
    return rc;
  if (dw->ndim != 2)
    return lurn_fail(st, LURN_ESHAPE, "embedding: weight gradient must be 2-D [V, D], got %s",
                     LURN_SHP(dw, s1));
  int64_t V = dw->size[0], D = dw->size[1], N = lurn_numel(ids);
  int ok = dout->ndim == ids->ndim + 1 && dout->size[ids->ndim] == D;
  for (int d = 0; ok && d < ids->ndim; d++) ok = dout->size[d] == ids->size[d];
  if (!ok)
    return lurn_fail(st, LURN_ESHAPE, "embedding: output gradient %s does not match ids %s"
                     " and weight gradient %s (expected ids' shape + [%lld])",
                     LURN_SHP(dout, s1), LURN_SHP(ids, s2), LURN_SHP(dw, s3), (long long)D);
  lurn_tensor idc = {0}, gc = {0};
  if ((rc = lurn_contiguous(&idc, ids, st))) return rc;
  const int32_t *id = lurn_i32(&idc);   // [N]
  if ((rc = embedding_check_ids(ids, id, V, padding, st)) ||
      (rc = lurn_contiguous(&gc, dout, st)))
    goto done;
  const float *g = lurn_f32(&gc);       // [N, D]
  float *dp = lurn_f32(dw);             // [V, D], strides dw->stride
  int64_t rs = dw->stride[0], cs = dw->stride[1];
  /* Repeated ids must sum in a fixed order and no two threads may touch the
   * same element: threads take disjoint column blocks, and each walks all
   * positions in order — a single pass, no atomics, bit-identical results
   * at any thread count. */
  enum { CB = 32 };
  int64_t nblocks = (D + CB - 1) / CB;
#pragma omp parallel for schedule(static) if (N * D >= PAR_MIN)
  for (int64_t blk = 0; blk < nblocks; blk++) {
    int64_t d0 = blk * CB, d1 = d0 + CB < D ? d0 + CB : D;
    for (int64_t n = 0; n < N; n++) {
      if (id[n] == padding) continue;
      float *row = dp + (int64_t)id[n] * rs;
      const float *src = g + n * D;
      for (int64_t d = d0; d < d1; d++) row[d * cs] += src[d];
    }
  }
done:
  lurn_tensor_release(&idc);
  lurn_tensor_release(&gc);
  return rc;
}

/* The distinct ids of `ids` but `padding`, ascending: the rows of dw that
 * embedding_backward writes. Data-parallel training sends only these rows
 * of the gradient (lurn.dist's sparse exchange). One pass with a mark per
 * row: O(N + V) time, V bytes. */
int lurn_embedding_rows(lurn_tensor *out, const lurn_tensor *ids, int64_t V, int64_t padding,
                        lurn_status *st) {
  int rc;
  if ((rc = lurn__check("embedding_rows", "ids", ids, LURN_INT32, st))) return rc;
  if (V < 1 || V > INT32_MAX)
    return lurn_fail(st, LURN_EARG, "embedding_rows: vocabulary size %lld is outside [1, 2^31)",
                     (long long)V);
  lurn_tensor idc = {0};
  if ((rc = lurn_contiguous(&idc, ids, st))) return rc;
  const int32_t *id = lurn_i32(&idc);   // [N]
  int64_t N = lurn_numel(ids), k = 0;
  unsigned char *mark = NULL;
  if ((rc = embedding_check_ids(ids, id, V, padding, st))) goto done;
  mark = calloc((size_t)V, 1);
  if (!mark) {
    rc = lurn_fail(st, LURN_ENOMEM, "embedding_rows: out of memory for %lld marks", (long long)V);
    goto done;
  }
  for (int64_t n = 0; n < N; n++)
    if (id[n] != padding && !mark[id[n]]) {
      mark[id[n]] = 1;
      k++;
    }
  int64_t size[1] = {k};
  if ((rc = lurn_tensor_new(out, LURN_INT32, 1, size, st))) goto done;
  int32_t *o = lurn_i32(out);   // [k]
  for (int64_t v = 0, j = 0; v < V && j < k; v++)
    if (mark[v]) o[j++] = (int32_t)v;
done:
  free(mark);
  lurn_tensor_release(&idc);
  return rc;
}

/* ---- Dropout --------------------------------------------------------------- */

int lurn_dropout_mask(lurn_tensor *mask, lurn_rng *r, int ndim, const int64_t *size, double p,
                      lurn_status *st) {
  if (!(p >= 0.0 && p <= 1.0))
    return lurn_fail(st, LURN_EARG, "dropout: probability %g is outside [0, 1]", p);
  if (ndim < 0 || ndim > LURN_MAXDIM)
    return lurn_fail(st, LURN_ESHAPE, "dropout: a mask needs 0..%d dims, got %d", LURN_MAXDIM,
                     ndim);
  for (int d = 0; d < ndim; d++)
    if (size[d] < 0)
      return lurn_fail(st, LURN_ESHAPE, "dropout: negative mask size %s",
                       lurn_shape_str((char[96]){0}, 96, ndim, size));
  int rc = lurn_tensor_new(mask, LURN_FLOAT32, ndim, size, st);
  if (rc) return rc;
  float *m = lurn_f32(mask);
  int64_t n = lurn_numel(mask);
  if (p == 1.0) return LURN_OK;   // all dropped: zeros, nothing drawn
  if (p == 0.0) {                  // nothing dropped: ones, nothing drawn
    for (int64_t i = 0; i < n; i++) m[i] = 1.0f;
    return LURN_OK;
  }
  if (!r) r = lurn_rng_global();
  /* Inverted dropout: scale the kept units by 1/(1-p) now, so evaluation
   * needs no rescaling and backward is the same multiply. Drawn serially in
   * row-major order: the same seed gives the same mask at any thread count. */
  float scale = (float)(1.0 / (1.0 - p));
  for (int64_t i = 0; i < n; i++) m[i] = lurn_rng_uniform(r) >= p ? scale : 0.0f;
  return LURN_OK;
}

/* out := x * mask, mask broadcast to x's shape. `what` names x in messages. */
static int mul_mask(lurn_tensor *out, const lurn_tensor *x, const lurn_tensor *mask,
                    const char *what, lurn_status *st) {
  char sx[96], sm[96];
  int rc;
  if ((rc = lurn__check("dropout", what, x, LURN_FLOAT32, st)) ||
      (rc = lurn__check("dropout", "mask", mask, LURN_FLOAT32, st)))
    return rc;
  int nd = x->ndim, off = nd - mask->ndim;
  int64_t mst[LURN_MAXDIM];   // mask strides over x's dims; 0 where broadcast
  int ok = off >= 0;
  for (int d = 0; ok && d < nd; d++) {
    if (d < off) { mst[d] = 0; continue; }
    int64_t ms = mask->size[d - off];
    ok = ms == x->size[d] || ms == 1;
    mst[d] = ms == 1 ? 0 : mask->stride[d - off];
  }
  if (!ok)
    return lurn_fail(st, LURN_ESHAPE, "dropout: mask %s does not broadcast to %s %s",
                     LURN_SHP(mask, sm), what, LURN_SHP(x, sx));
  lurn_tensor xc = {0};
  if ((rc = lurn_contiguous(&xc, x, st))) return rc;
  if ((rc = lurn_tensor_new_like(out, &xc, st))) goto done;
  const float *xp = lurn_f32(&xc), *mp = lurn_f32(mask);
  float *o = lurn_f32(out);
  int64_t n = lurn_numel(&xc);
  if (nd == 0) {
    if (n) o[0] = xp[0] * mp[0];
    goto done;
  }
  /* Walk x in row-major order, the last dim as the inner loop, carrying a
   * multi-index for the (broadcast) mask offset of each row. */
  int64_t inner = x->size[nd - 1], rows = inner ? n / inner : 0, idx[LURN_MAXDIM] = {0};
  int64_t moff = 0, ms = mst[nd - 1];
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = xp + r * inner;
    float *orow = o + r * inner;
    for (int64_t i = 0; i < inner; i++) orow[i] = xr[i] * mp[moff + i * ms];
    for (int d = nd - 2; d >= 0; d--) {   // advance the row index (odometer)
      moff += mst[d];
      if (++idx[d] < x->size[d]) break;
      moff -= mst[d] * x->size[d];
      idx[d] = 0;
    }
  }
done:
  if (rc) lurn_tensor_release(out);
  lurn_tensor_release(&xc);
  return rc;
}

int lurn_dropout_forward(lurn_tensor *y, const lurn_tensor *x, const lurn_tensor *mask,
                         lurn_status *st) {
  return mul_mask(y, x, mask, "input", st);
}

int lurn_dropout_backward(lurn_tensor *dx, const lurn_tensor *dy, const lurn_tensor *mask,
                          lurn_status *st) {
  return mul_mask(dx, dy, mask, "output gradient", st);
}

/* ---- Activations ----------------------------------------------------------- */

const char *lurn_activation_name(lurn_activation act) {
  switch (act) {
    case LURN_ACT_RELU: return "relu";
    case LURN_ACT_TANH: return "tanh";
    case LURN_ACT_SIGMOID: return "sigmoid";
  }
  return "?";
}

static int check_act(lurn_activation act, lurn_status *st) {
  if (act != LURN_ACT_RELU && act != LURN_ACT_TANH && act != LURN_ACT_SIGMOID)
    return lurn_fail(st, LURN_EARG, "activation: unknown kind %d", (int)act);
  return LURN_OK;
}

int lurn_activation_forward(lurn_tensor *y, lurn_activation act, const lurn_tensor *x,
                            lurn_status *st) {
  int rc;
  if ((rc = check_act(act, st)) ||
      (rc = lurn__check(lurn_activation_name(act), "input", x, LURN_FLOAT32, st)))
    return rc;
  lurn_tensor xc = {0};
  if ((rc = lurn_contiguous(&xc, x, st))) return rc;
  if ((rc = lurn_tensor_new_like(y, &xc, st))) goto done;
  const float *in = lurn_f32(&xc);
  float *out = lurn_f32(y);
  int64_t n = lurn_numel(&xc);
  switch (act) {
    case LURN_ACT_RELU:
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
      for (int64_t i = 0; i < n; i++) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
      break;
    case LURN_ACT_TANH:
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
      for (int64_t i = 0; i < n; i++) out[i] = tanhf(in[i]);
      break;
    case LURN_ACT_SIGMOID:
      // Two branches so exp never overflows: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below.
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
      for (int64_t i = 0; i < n; i++) {
        float v = in[i];
        if (v >= 0.0f) out[i] = 1.0f / (1.0f + expf(-v));
        else { float e = expf(v); out[i] = e / (1.0f + e); }
      }
      break;
  }
done:
  lurn_tensor_release(&xc);
  return rc;
}

int lurn_activation_backward(lurn_tensor *dx, lurn_activation act, const lurn_tensor *dy,
                             const lurn_tensor *y, lurn_status *st) {
  char s1[96], s2[96];
  int rc;
  if ((rc = check_act(act, st))) return rc;
  const char *op = lurn_activation_name(act);
  if ((rc = lurn__check(op, "output gradient", dy, LURN_FLOAT32, st)) ||
      (rc = lurn__check(op, "output", y, LURN_FLOAT32, st)))
    return rc;
  if (!lurn_same_shape(dy, y))
    return lurn_fail(st, LURN_ESHAPE, "%s: output gradient %s does not match output %s", op,
                     LURN_SHP(dy, s1), LURN_SHP(y, s2));
  lurn_tensor gc = {0}, yc = {0};
  if ((rc = lurn_contiguous(&gc, dy, st)) || (rc = lurn_contiguous(&yc, y, st)) ||
      (rc = lurn_tensor_new_like(dx, &gc, st)))
    goto done;
  const float *g = lurn_f32(&gc), *o = lurn_f32(&yc);
  float *d = lurn_f32(dx);
  int64_t n = lurn_numel(&gc);
  switch (act) {
    case LURN_ACT_RELU:
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
      for (int64_t i = 0; i < n; i++) d[i] = o[i] > 0.0f ? g[i] : 0.0f;
      break;
    case LURN_ACT_TANH:
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
      for (int64_t i = 0; i < n; i++) d[i] = g[i] * (1.0f - o[i] * o[i]);
      break;
    case LURN_ACT_SIGMOID:
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
      for (int64_t i = 0; i < n; i++) d[i] = g[i] * o[i] * (1.0f - o[i]);
      break;
  }
done:
  lurn_tensor_release(&gc);
  lurn_tensor_release(&yc);
  return rc;
}

/* ---- Pool over time -------------------------------------------------------- */

const char *lurn_pool_name(lurn_pool kind) {
  switch (kind) {
    case LURN_POOL_MEAN: return "mean";
    case LURN_POOL_MAX: return "max";
    case LURN_POOL_LAST: return "last";
  }
  return "?";
}

static int check_pool_kind(lurn_pool kind, lurn_status *st) {
  if (kind != LURN_POOL_MEAN && kind != LURN_POOL_MAX && kind != LURN_POOL_LAST)
    return lurn_fail(st, LURN_EARG, "pool: unknown kind %d (mean, max or last)", (int)kind);
  return LURN_OK;
}

int lurn_pool_forward(lurn_tensor *y, lurn_tensor *argmax, lurn_pool kind, const lurn_tensor *x,
                      const lurn_tensor *lengths, lurn_status *st) {
  char s1[96];
  int rc;
  if ((rc = check_pool_kind(kind, st)) ||
      (rc = lurn__check("pool", "input", x, LURN_FLOAT32, st)))
    return rc;
  if (x->ndim != 3)
    return lurn_fail(st, LURN_ESHAPE, "pool: input must be [T, B, D], got %s", LURN_SHP(x, s1));
  int64_t T = x->size[0], B = x->size[1], D = x->size[2];
  if ((rc = lurn__check_lengths("pool", lengths, T, B, "input", x, st))) return rc;
  lurn_tensor xc = {0};
  double *acc = NULL;   // [D] running sums for mean
  if ((rc = lurn_contiguous(&xc, x, st))) return rc;
  if ((rc = lurn_tensor_new(y, LURN_FLOAT32, 2, x->size + 1, st))) goto done;
  int want_arg = kind == LURN_POOL_MAX && argmax;
  if (want_arg && (rc = lurn_tensor_new(argmax, LURN_INT32, 2, x->size + 1, st))) goto done;
  if (kind == LURN_POOL_MEAN && !(acc = malloc(sizeof *acc * (size_t)(D > 0 ? D : 1)))) {
    rc = lurn_fail(st, LURN_ENOMEM, "pool: out of memory");
    goto done;
  }
  const float *xp = lurn_f32(&xc);          // [T, B, D]
  float *out = lurn_f32(y);                 // [B, D]
  int32_t *am = want_arg ? lurn_i32(argmax) : NULL;   // [B, D]
  for (int64_t b = 0; b < B; b++) {
    int64_t L = lurn__len(lengths, b, T);
    float *ob = out + b * D;
    if (L == 0) {   // an empty sample pools to zeros (already zero-filled)
      if (am) for (int64_t d = 0; d < D; d++) am[b * D + d] = -1;
      continue;
    }
    switch (kind) {
      case LURN_POOL_MEAN:
        for (int64_t d = 0; d < D; d++) acc[d] = 0.0;
        for (int64_t t = 0; t < L; t++) {
          const float *xt = xp + (t * B + b) * D;
          for (int64_t d = 0; d < D; d++) acc[d] += xt[d];
        }
        for (int64_t d = 0; d < D; d++) ob[d] = (float)(acc[d] / (double)L);
        break;
      case LURN_POOL_MAX: {
        int32_t *ab = am ? am + b * D : NULL;
        memcpy(ob, xp + b * D, sizeof(float) * (size_t)D);
        if (ab) for (int64_t d = 0; d < D; d++) ab[d] = 0;
        for (int64_t t = 1; t < L; t++) {
          const float *xt = xp + (t * B + b) * D;
          for (int64_t d = 0; d < D; d++)
            if (xt[d] > ob[d]) {   // strict: the first of equal values wins
              ob[d] = xt[d];
              if (ab) ab[d] = (int32_t)t;
            }
        }
        break;
      }
      case LURN_POOL_LAST:
        memcpy(ob, xp + ((L - 1) * B + b) * D, sizeof(float) * (size_t)D);
        break;
    }
  }
done:
  if (rc) {
    lurn_tensor_release(y);
    if (argmax) lurn_tensor_release(argmax);
  }
  free(acc);
  lurn_tensor_release(&xc);
  return rc;
}

int lurn_pool_backward(lurn_tensor *dx, lurn_pool kind, const lurn_tensor *dy,
                       const lurn_tensor *lengths, const lurn_tensor *argmax, int64_t T,
                       lurn_status *st) {
  char s1[96], s2[96];
  int rc;
  if ((rc = check_pool_kind(kind, st)) ||
      (rc = lurn__check("pool", "output gradient", dy, LURN_FLOAT32, st)))
    return rc;
  if (dy->ndim != 2)
    return lurn_fail(st, LURN_ESHAPE, "pool: output gradient must be [B, D], got %s",
                     LURN_SHP(dy, s1));
  if (T < 0) return lurn_fail(st, LURN_EARG, "pool: negative sequence length T = %lld", (long long)T);
  int64_t B = dy->size[0], D = dy->size[1];
  if ((rc = lurn__check_lengths("pool", lengths, T, B, "output gradient", dy, st))) return rc;
  if (kind == LURN_POOL_MAX) {
    if ((rc = lurn__check("pool", "argmax (max pooling's backward needs the forward's argmax)",
                          argmax, LURN_INT32, st)))
      return rc;
    if (!lurn_same_shape(argmax, dy))
      return lurn_fail(st, LURN_ESHAPE, "pool: argmax %s does not match output gradient %s",
                       LURN_SHP(argmax, s1), LURN_SHP(dy, s2));
  }
  lurn_tensor gc = {0}, ac = {0};
  if ((rc = lurn_contiguous(&gc, dy, st))) return rc;
  if (kind == LURN_POOL_MAX) {
    if ((rc = lurn_contiguous(&ac, argmax, st))) goto done;
    const int32_t *a = lurn_i32(&ac);
    for (int64_t b = 0; b < B; b++) {
      int64_t L = lurn__len(lengths, b, T);
      for (int64_t d = 0; d < D; d++)
        if (a[b * D + d] < (L ? 0 : -1) || a[b * D + d] >= L) {
          rc = lurn_fail(st, LURN_EARG, "pool: argmax %d at position [%lld,%lld] is not a valid"
                         " step (length %lld)", (int)a[b * D + d], (long long)b + 1, (long long)d + 1,
                         (long long)L);
          goto done;
        }
    }
  }
  int64_t size[3] = {T, B, D};
  if ((rc = lurn_tensor_new(dx, LURN_FLOAT32, 3, size, st))) goto done;
  const float *g = lurn_f32(&gc);   // [B, D]
  float *d = lurn_f32(dx);          // [T, B, D], zero at invalid steps
  for (int64_t b = 0; b < B; b++) {
    int64_t L = lurn__len(lengths, b, T);
    const float *gb = g + b * D;
    if (L == 0) continue;
    switch (kind) {
      case LURN_POOL_MEAN: {
        float inv = (float)(1.0 / (double)L);
        for (int64_t t = 0; t < L; t++) {
          float *dt = d + (t * B + b) * D;
          for (int64_t j = 0; j < D; j++) dt[j] = gb[j] * inv;
        }
        break;
      }
      case LURN_POOL_MAX: {
        const int32_t *ab = lurn_i32(&ac) + b * D;
        for (int64_t j = 0; j < D; j++) d[((int64_t)ab[j] * B + b) * D + j] = gb[j];
        break;
      }
      case LURN_POOL_LAST:
        memcpy(d + ((L - 1) * B + b) * D, gb, sizeof(float) * (size_t)D);
        break;
    }
  }
done:
  lurn_tensor_release(&gc);
  lurn_tensor_release(&ac);
  return rc;
}

/* ---- Softmax / LogSoftmax -------------------------------------------------- */

static int softmax_fwd(lurn_tensor *y, const lurn_tensor *x, int logs, lurn_status *st) {
  const char *op = logs ? "log_softmax" : "softmax";
  int rc;
  if ((rc = lurn__check(op, "input", x, LURN_FLOAT32, st))) return rc;
  if (x->ndim < 1)
    return lurn_fail(st, LURN_ESHAPE, "%s: input must have at least 1 dim, got []", op);
  lurn_tensor xc = {0};
  if ((rc = lurn_contiguous(&xc, x, st))) return rc;
  if ((rc = lurn_tensor_new_like(y, &xc, st))) goto done;
  int64_t C = x->size[x->ndim - 1], R = leading(x);
  const float *in = lurn_f32(&xc);   // [R, C]
  float *out = lurn_f32(y);          // [R, C]
#pragma omp parallel for schedule(static) if (R * C >= PAR_MIN)
  for (int64_t r = 0; r < R; r++) {
    const float *xr = in + r * C;
    float *yr = out + r * C;
    float mx = -INFINITY;
    for (int64_t c = 0; c < C; c++) mx = xr[c] > mx ? xr[c] : mx;
    // exp of (x - max) is in (0, 1]: float exp is safe; the sum is in double
    double sum = 0.0;
    if (logs) {
      for (int64_t c = 0; c < C; c++) sum += expf(xr[c] - mx);
      float lse = mx + (float)log(sum);
      for (int64_t c = 0; c < C; c++) yr[c] = xr[c] - lse;
    } else {
      for (int64_t c = 0; c < C; c++) sum += (yr[c] = expf(xr[c] - mx));
      float inv = (float)(1.0 / sum);
      for (int64_t c = 0; c < C; c++) yr[c] *= inv;
    }
  }
done:
  lurn_tensor_release(&xc);
  return rc;
}

static int softmax_bwd(lurn_tensor *dx, const lurn_tensor *dy, const lurn_tensor *y, int logs,
                       lurn_status *st) {
  const char *op = logs ? "log_softmax" : "softmax";
  char s1[96], s2[96];
  int rc;
  if ((rc = lurn__check(op, "output gradient", dy, LURN_FLOAT32, st)) ||
      (rc = lurn__check(op, "output", y, LURN_FLOAT32, st)))
    return rc;
  if (!lurn_same_shape(dy, y) || y->ndim < 1)
    return lurn_fail(st, LURN_ESHAPE, "%s: output gradient %s does not match output %s", op,
                     LURN_SHP(dy, s1), LURN_SHP(y, s2));
  lurn_tensor gc = {0}, yc = {0};
  if ((rc = lurn_contiguous(&gc, dy, st)) || (rc = lurn_contiguous(&yc, y, st)) ||
      (rc = lurn_tensor_new_like(dx, &gc, st)))
    goto done;
  int64_t C = y->size[y->ndim - 1], R = leading(y);
  const float *g = lurn_f32(&gc), *o = lurn_f32(&yc);   // [R, C]
  float *d = lurn_f32(dx);                              // [R, C]
#pragma omp parallel for schedule(static) if (R * C >= PAR_MIN)
  for (int64_t r = 0; r < R; r++) {
    const float *gr = g + r * C, *yr = o + r * C;
    float *dr = d + r * C;
    double s = 0.0;
    if (logs) {
      // y = x - lse(x):  dx = dy - softmax(x) * sum(dy), softmax(x) = exp(y)
      for (int64_t c = 0; c < C; c++) s += gr[c];
      for (int64_t c = 0; c < C; c++) dr[c] = gr[c] - expf(yr[c]) * (float)s;
    } else {
      // dx = y * (dy - <dy, y>)
      for (int64_t c = 0; c < C; c++) s += (double)gr[c] * yr[c];
      for (int64_t c = 0; c < C; c++) dr[c] = yr[c] * (gr[c] - (float)s);
    }
  }
done:
  lurn_tensor_release(&gc);
  lurn_tensor_release(&yc);
  return rc;
}

int lurn_softmax_forward(lurn_tensor *y, const lurn_tensor *x, lurn_status *st) {
  return softmax_fwd(y, x, 0, st);
}
int lurn_log_softmax_forward(lurn_tensor *y, const lurn_tensor *x, lurn_status *st) {
  return softmax_fwd(y, x, 1, st);
}
int lurn_softmax_backward(lurn_tensor *dx, const lurn_tensor *dy, const lurn_tensor *y,
                          lurn_status *st) {
  return softmax_bwd(dx, dy, y, 0, st);
}
int lurn_log_softmax_backward(lurn_tensor *dx, const lurn_tensor *dy, const lurn_tensor *y,
                              lurn_status *st) {
  return softmax_bwd(dx, dy, y, 1, st);
}
