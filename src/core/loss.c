/*
 * loss.c — lurn's losses (see layers.h): CrossEntropy from logits (class
 * weights, ignore_index, a per-step form with lengths), BCEWithLogits and
 * MSE. Each returns the scalar loss (accumulated in double) and, on request,
 * the gradient of the loss with respect to its input, fused into the same
 * pass: nothing is cached between a loss's "forward" and "backward".
 *
 * Memory: the gradient (the input's size) and, for cross-entropy, one double
 * per row so the loss can be summed in a fixed order after a parallel pass.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "layer_util.h"
#include "layers.h"

#define PAR_MIN 32768

void lurn_ce_opts_init(lurn_ce_opts *o) {
  o->weight = NULL;
  o->lengths = NULL;
  o->ignore_index = -100;   // PyTorch's default
  o->reduction = LURN_REDUCE_MEAN;
}

static int check_reduction(const char *op, lurn_reduction r, lurn_status *st) {
  if (r != LURN_REDUCE_MEAN && r != LURN_REDUCE_SUM)
    return lurn_fail(st, LURN_EARG, "%s: unknown reduction %d (mean or sum)", op, (int)r);
  return LURN_OK;
}

/* ---- CrossEntropy ---------------------------------------------------------- */

int lurn_cross_entropy(double *loss, lurn_tensor *dlogits, const lurn_tensor *logits,
                       const lurn_tensor *targets, const lurn_ce_opts *opts, lurn_status *st) {
  static const char *op = "cross_entropy";
  char s1[96], s2[96], s3[96];
  lurn_ce_opts def;
  int rc;
  if (!opts) { lurn_ce_opts_init(&def); opts = &def; }
  if (!loss) return lurn_fail(st, LURN_EARG, "cross_entropy: no place for the loss (NULL)");
  if ((rc = check_reduction(op, opts->reduction, st)) ||
      (rc = lurn__check(op, "logits", logits, LURN_FLOAT32, st)) ||
      (rc = lurn__check(op, "targets", targets, LURN_INT32, st)))
    return rc;
  if (logits->ndim != 2 && logits->ndim != 3)
    return lurn_fail(st, LURN_ESHAPE, "cross_entropy: logits must be [N, C] or [T, B, C], got %s",
                     LURN_SHP(logits, s1));
  int nd = logits->ndim;
  int64_t C = logits->size[nd - 1];
  int ok = targets->ndim == nd - 1;
  for (int d = 0; ok && d < nd - 1; d++) ok = targets->size[d] == logits->size[d];
  if (!ok)
    return lurn_fail(st, LURN_ESHAPE, "cross_entropy: targets %s do not match logits %s"
                     " (expected %s)", LURN_SHP(targets, s1), LURN_SHP(logits, s2),
                     lurn_shape_str(s3, sizeof s3, nd - 1, logits->size));
  const lurn_tensor *w = opts->weight, *len = opts->lengths;
  if (w) {
    if ((rc = lurn__check(op, "class weights", w, LURN_FLOAT32, st))) return rc;
    if (w->ndim != 1 || w->size[0] != C)
      return lurn_fail(st, LURN_ESHAPE, "cross_entropy: class weights %s do not match logits %s"
                       " (expected [%lld])", LURN_SHP(w, s1), LURN_SHP(logits, s2), (long long)C);
  }
  int64_t T = nd == 3 ? logits->size[0] : 1, B = nd == 3 ? logits->size[1] : logits->size[0];
  if (len && nd != 3)
    return lurn_fail(st, LURN_ESHAPE, "cross_entropy: lengths need per-step logits [T, B, C],"
                     " got logits %s", LURN_SHP(logits, s1));
  if ((rc = lurn__check_lengths(op, len, T, B, "logits", logits, st))) return rc;

  lurn_tensor xc = {0}, tc = {0};
  double *row = NULL;   // [N] weighted nll of each row (0 if not counted)
  int64_t N = T * B;
  if ((rc = lurn_contiguous(&tc, targets, st))) return rc;
  const int32_t *tg = lurn_i32(&tc);   // [N] (= [T, B] in the per-step form)
  const float *wp = w ? lurn_f32(w) : NULL;
  int64_t ws = w ? w->stride[0] : 0;

  /* Pass 1 (before any allocation but the targets' copy): validate the counted
   * targets and total their weights, the denominator of the weighted mean. */
  double wsum = 0.0;
  for (int64_t n = 0; n < N; n++) {
    if (len && n / B >= lurn__len(len, n % B, T)) continue;   // a padded step
    int64_t c = tg[n];
    if (c == opts->ignore_index) continue;
    if (c < 0 || c >= C) {
      rc = lurn_fail(st, LURN_EARG, "cross_entropy: target %lld at position %s is out of range"
                     " [0, %lld) (logits %s, ignore_index %lld)", (long long)c,
                     lurn__pos_str(s1, sizeof s1, targets->ndim, targets->size, n), (long long)C,
                     LURN_SHP(logits, s2), (long long)opts->ignore_index);
      goto done;
    }
    wsum += wp ? (double)wp[c * ws] : 1.0;
  }
  double scale = opts->reduction == LURN_REDUCE_SUM ? 1.0 : (wsum != 0.0 ? 1.0 / wsum : 0.0);

  if ((rc = lurn_contiguous(&xc, logits, st))) goto done;
  if (dlogits && (rc = lurn_tensor_new_like(dlogits, &xc, st))) goto done;
  if (!(row = calloc((size_t)(N > 0 ? N : 1), sizeof *row))) {
    rc = lurn_fail(st, LURN_ENOMEM, "cross_entropy: out of memory");
    goto done;
  }
  const float *x = lurn_f32(&xc);                   // [N, C]
  float *g = dlogits ? lurn_f32(dlogits) : NULL;    // [N, C], zero rows where not counted
  /* Pass 2, rows in parallel: nll = logsumexp(x) - x[c] with the max taken
   * out first; d nll / dx = softmax(x) - onehot(c), times w[c] * scale. */
#pragma omp parallel for schedule(static) if (N * C >= PAR_MIN)
  for (int64_t n = 0; n < N; n++) {
    if (len && n / B >= lurn__len(len, n % B, T)) continue;
    int64_t c = tg[n];
    if (c == opts->ignore_index) continue;
    const float *xr = x + n * C;
    float mx = xr[0];
    for (int64_t k = 1; k < C; k++) mx = xr[k] > mx ? xr[k] : mx;
    /* One float exp per logit (each in (0, 1] after the max is out), kept in
     * the gradient row for reuse; the sum in double. */
    double sum = 0.0, wc = wp ? (double)wp[c * ws] : 1.0;
    if (g) {
      float *gr = g + n * C;
      for (int64_t k = 0; k < C; k++) sum += (gr[k] = expf(xr[k] - mx));
      float f = (float)(wc * scale / sum);
      for (int64_t k = 0; k < C; k++) gr[k] *= f;
      gr[c] -= (float)(wc * scale);
    } else {
      for (int64_t k = 0; k < C; k++) sum += expf(xr[k] - mx);
    }
    row[n] = wc * ((double)mx + log(sum) - (double)xr[c]);
  }
  double total = 0.0;   // summed in row order: the same at any thread count
  for (int64_t n = 0; n < N; n++) total += row[n];
  *loss = total * scale;
done:
  if (rc && dlogits) lurn_tensor_release(dlogits);
  free(row);
  lurn_tensor_release(&xc);
  lurn_tensor_release(&tc);
  return rc;
}

/* ---- BCEWithLogits --------------------------------------------------------- */

/* Shared checks of the elementwise losses: x and target float32, same shape. */
static int check_pair(const char *op, const lurn_tensor *x, const lurn_tensor *target,
                      lurn_reduction red, double *loss, lurn_status *st) {
  char s1[96], s2[96];
  int rc;
  if (!loss) return lurn_fail(st, LURN_EARG, "%s: no place for the loss (NULL)", op);
  if ((rc = check_reduction(op, red, st)) ||
      (rc = lurn__check(op, "input", x, LURN_FLOAT32, st)) ||
      (rc = lurn__check(op, "target", target, LURN_FLOAT32, st)))
    return rc;
  if (!lurn_same_shape(x, target))
    return lurn_fail(st, LURN_ESHAPE, "%s: target %s does not match input %s", op,
                     LURN_SHP(target, s1), LURN_SHP(x, s2));
  return LURN_OK;
}

int lurn_bce_with_logits(double *loss, lurn_tensor *dx, const lurn_tensor *x,
                         const lurn_tensor *target, const lurn_tensor *pos_weight,
                         lurn_reduction reduction, lurn_status *st) {
  static const char *op = "bce_with_logits";
  char s1[96], s2[96];
  int rc = check_pair(op, x, target, reduction, loss, st);
  if (rc) return rc;
  int64_t C = x->ndim ? x->size[x->ndim - 1] : 1;
  if (pos_weight) {
    if ((rc = lurn__check(op, "pos_weight", pos_weight, LURN_FLOAT32, st))) return rc;
    if (pos_weight->ndim != 1 || pos_weight->size[0] != C)
      return lurn_fail(st, LURN_ESHAPE, "bce_with_logits: pos_weight %s does not match input %s"
                       " (expected [%lld], one per class of the last dim)",
                       LURN_SHP(pos_weight, s1), LURN_SHP(x, s2), (long long)C);
  }
  lurn_tensor xc = {0}, tc = {0};
  if ((rc = lurn_contiguous(&tc, target, st))) return rc;
  const float *t = lurn_f32(&tc);
  int64_t N = lurn_numel(&tc);
  for (int64_t i = 0; i < N; i++)
    if (!(t[i] >= 0.0f && t[i] <= 1.0f)) {
      rc = lurn_fail(st, LURN_EARG, "bce_with_logits: target %g at position %s is outside [0, 1]"
                     " (input %s)", (double)t[i],
                     lurn__pos_str(s1, sizeof s1, x->ndim, x->size, i), LURN_SHP(x, s2));
      goto done;
    }
  if ((rc = lurn_contiguous(&xc, x, st))) goto done;
  if (dx && (rc = lurn_tensor_new_like(dx, &xc, st))) goto done;
  const float *xp = lurn_f32(&xc);
  const float *pw = pos_weight ? lurn_f32(pos_weight) : NULL;
  int64_t ps = pos_weight ? pos_weight->stride[0] : 0;
  float *g = dx ? lurn_f32(dx) : NULL;
  double scale = reduction == LURN_REDUCE_SUM ? 1.0 : (N ? 1.0 / (double)N : 0.0);
  double total = 0.0;
  for (int64_t i = 0; i < N; i++) {
    double v = xp[i], y = t[i], p = pw ? (double)pw[(i % C) * ps] : 1.0;
    /* -[p y log s(v) + (1-y) log(1-s(v))] with log s(v) = -(log1p(e^-|v|) + max(-v,0)):
     * e^-|v| never overflows, so any finite logit is safe. */
    double sp = log1p(exp(-fabs(v))) + (v < 0 ? -v : 0.0);
    total += (1.0 - y) * v + (1.0 + (p - 1.0) * y) * sp;
    if (g) {
      double s = v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
      g[i] = (float)((s * (p * y + 1.0 - y) - p * y) * scale);
    }
  }
  *loss = total * scale;
done:
  if (rc && dx) lurn_tensor_release(dx);
  lurn_tensor_release(&xc);
  lurn_tensor_release(&tc);
  return rc;
}

/* ---- MSE ------------------------------------------------------------------- */

int lurn_mse(double *loss, lurn_tensor *dx, const lurn_tensor *x, const lurn_tensor *target,
             lurn_reduction reduction, lurn_status *st) {
  int rc = check_pair("mse", x, target, reduction, loss, st);
  if (rc) return rc;
  lurn_tensor xc = {0}, tc = {0};
  if ((rc = lurn_contiguous(&xc, x, st)) || (rc = lurn_contiguous(&tc, target, st))) goto done;
  if (dx && (rc = lurn_tensor_new_like(dx, &xc, st))) goto done;
  const float *xp = lurn_f32(&xc), *t = lurn_f32(&tc);
  float *g = dx ? lurn_f32(dx) : NULL;
  int64_t N = lurn_numel(&xc);
  double scale = reduction == LURN_REDUCE_SUM ? 1.0 : (N ? 1.0 / (double)N : 0.0);
  double total = 0.0;
  for (int64_t i = 0; i < N; i++) {
    double e = (double)xp[i] - (double)t[i];
    total += e * e;
    if (g) g[i] = (float)(2.0 * e * scale);
  }
  *loss = total * scale;
done:
  if (rc && dx) lurn_tensor_release(dx);
  lurn_tensor_release(&xc);
  lurn_tensor_release(&tc);
  return rc;
}
