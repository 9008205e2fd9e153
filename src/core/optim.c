/*
 * optim.c — optimizer update rules (PyTorch 1.13's) and gradient clipping.
 * See optim.h for the formulas, the state layout and the memory per element.
 *
 * Every step function checks its config and its state pointers before
 * writing anything, so a failed call leaves param and state untouched.
 */
#include "optim.h"

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

/* Split large element loops across threads: elements are independent, so
 * the split cannot change results. Small arrays stay on one thread because
 * starting a team costs more than the work. */
#define LURN_OPTIM_PAR_MIN 32768

/* Partial sums of clip_grad_norm (see there): 16 doubles, two AVX-512 or
 * four AVX registers. */
#define NORM_LANES 16

/* One element into lane *at of clip_grad_norm's partial sums (|x|^2 or |x|),
 * moving on to the next lane. */
static inline void lane_add(double *lane, int *at, float x, int two) {
  const double a = fabs((double)x);
  lane[*at] += two ? a * a : a;
  *at = (*at + 1) % NORM_LANES;
}

/* ---- argument checks ------------------------------------------------------ */

static int check_common(const char *op, const float *param, const float *grad, const void *s,
                        int64_t n, const void *c, lurn_status *st) {
  if (!c || !s) return lurn_fail(st, LURN_EARG, "%s: missing config or state", op);
  if (n < 0) return lurn_fail(st, LURN_EARG, "%s: negative element count %lld", op, (long long)n);
  if (n > 0 && (!param || !grad))
    return lurn_fail(st, LURN_EARG, "%s: missing param or grad array", op);
  return LURN_OK;
}

/* A hyperparameter that must lie in [lo, hi] (hi_open: [lo, hi)). Written so
 * that NaN fails too. */
static int check_range(const char *op, const char *name, double v, double lo, double hi,
                       int hi_open, lurn_status *st) {
  if (!(v >= lo) || (hi_open ? !(v < hi) : !(v <= hi))) {
    if (isinf(hi))
      return lurn_fail(st, LURN_EARG, "%s: invalid %s %g (needs %s >= %g)", op, name, v, name, lo);
    return lurn_fail(st, LURN_EARG, "%s: invalid %s %g (needs %g <= %s %s %g)", op, name, v, lo,
                     name, hi_open ? "<" : "<=", hi);
  }
  return LURN_OK;
}

/* ---- SGD ------------------------------------------------------------------ */

lurn_sgd_config lurn_sgd_defaults(void) {
  lurn_sgd_config c = {0.01, 0.0, 0.0, 0.0, 0, 0};
  return c;
}

int lurn_sgd_check(const lurn_sgd_config *c, lurn_status *st) {
  int rc;
  if ((rc = check_range("sgd", "lr", c->lr, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range("sgd", "momentum", c->momentum, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range("sgd", "dampening", c->dampening, -INFINITY, INFINITY, 0, st))) return rc;
  if ((rc = check_range("sgd", "weight_decay", c->weight_decay, 0, INFINITY, 0, st))) return rc;
  if (c->nesterov && (c->momentum <= 0 || c->dampening != 0))
    return lurn_fail(st, LURN_EARG,
                     "sgd: nesterov needs momentum > 0 and dampening == 0 (got momentum %g, "
                     "dampening %g)", c->momentum, c->dampening);
  return LURN_OK;
}

int lurn_sgd_step(float *param, const float *grad, lurn_sgd_state *s, int64_t n,
                  const lurn_sgd_config *c, lurn_status *st) {
  int rc;
  if ((rc = check_common("sgd", param, grad, s, n, c, st))) return rc;
  if ((rc = lurn_sgd_check(c, st))) return rc;
  const int use_mom = c->momentum != 0;
  if (use_mom && n > 0 && !s->momentum_buffer)
    return lurn_fail(st, LURN_EARG, "sgd: momentum %g needs a momentum_buffer", c->momentum);

  const float lr = (float)c->lr, wd = (float)c->weight_decay, mom = (float)c->momentum;
  const float keep = (float)(1.0 - c->dampening);
  const int first = !s->momentum_buffer_set, nesterov = c->nesterov, maximize = c->maximize;
  float *buf = s->momentum_buffer;  // [n] or NULL

#pragma omp parallel for schedule(static) if (n >= LURN_OPTIM_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float g = maximize ? -grad[i] : grad[i];
    if (wd != 0) g += wd * param[i];
    if (use_mom) {
      // PyTorch's buffer starts as a copy of the first gradient, undamped.
      float b = first ? g : mom * buf[i] + keep * g;
      buf[i] = b;
      g = nesterov ? g + mom * b : b;
    }
    param[i] -= lr * g;
  }
  if (use_mom) s->momentum_buffer_set = 1;
  s->step++;
  return LURN_OK;
}

/* ---- Adam / AdamW --------------------------------------------------------- */

lurn_adam_config lurn_adam_defaults(void) {
  lurn_adam_config c = {1e-3, 0.9, 0.999, 1e-8, 0.0, 0, 0, 0};
  return c;
}

lurn_adam_config lurn_adamw_defaults(void) {
  lurn_adam_config c = {1e-3, 0.9, 0.999, 1e-8, 1e-2, 0, 0, 0};
  return c;
}

static int adam_check(const char *op, const lurn_adam_config *c, lurn_status *st) {
  int rc;
  if ((rc = check_range(op, "lr", c->lr, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range(op, "eps", c->eps, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range(op, "beta1", c->beta1, 0, 1, 1, st))) return rc;
  if ((rc = check_range(op, "beta2", c->beta2, 0, 1, 1, st))) return rc;
  if ((rc = check_range(op, "weight_decay", c->weight_decay, 0, INFINITY, 0, st))) return rc;
  return LURN_OK;
}

int lurn_adam_check(const lurn_adam_config *c, lurn_status *st) {
  return adam_check("adam", c, st);
}

int lurn_adamw_check(const lurn_adam_config *c, lurn_status *st) {
  return adam_check("adamw", c, st);
}

/* Adam's step-dependent scalars (in double, like PyTorch's Python-side
 * math, then rounded once) and the element loop both entry points share. */
typedef struct adam_consts {
  float step_size, bc2_sqrt, b1, b2, one_b1, one_b2, eps, l2, shrink;
  int decoupled, amsgrad, maximize;
} adam_consts;

static adam_consts adam_consts_at(int decoupled, int64_t t, const lurn_adam_config *c) {
  const double bc1 = 1.0 - pow(c->beta1, (double)t);
  const double bc2 = 1.0 - pow(c->beta2, (double)t);
  adam_consts k = {(float)(c->lr / bc1), (float)sqrt(bc2), (float)c->beta1, (float)c->beta2,
                   (float)(1.0 - c->beta1), (float)(1.0 - c->beta2), (float)c->eps,
                   decoupled ? 0.0f : (float)c->weight_decay,
                   decoupled ? (float)(1.0 - c->lr * c->weight_decay) : 1.0f,
                   decoupled, c->amsgrad, c->maximize};
  return k;
}

/* Elements [i0, i1) of one Adam update. The constants are copied to
 * locals first: stores through the float pointers could alias *k. */
static inline void adam_span(const adam_consts *k, float *param, const float *grad,
                             lurn_adam_state *s, int64_t i0, int64_t i1) {
  float *m = s->exp_avg, *v = s->exp_avg_sq, *vmax = s->max_exp_avg_sq;  // [n] each
  const float step_size = k->step_size, bc2_sqrt = k->bc2_sqrt, b1 = k->b1, b2 = k->b2;
  const float one_b1 = k->one_b1, one_b2 = k->one_b2, eps = k->eps, l2 = k->l2;
  const float shrink = k->shrink;
  const int decoupled = k->decoupled, amsgrad = k->amsgrad, maximize = k->maximize;
  for (int64_t i = i0; i < i1; i++) {
    float g = maximize ? -grad[i] : grad[i];
    float p = param[i];
    if (l2 != 0) g += l2 * p;
    if (decoupled) p *= shrink;
    float mi = b1 * m[i] + one_b1 * g;
    float vi = b2 * v[i] + one_b2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    if (amsgrad) {
      if (vmax[i] > vi) vi = vmax[i];
      vmax[i] = vi;
    }
    float denom = sqrtf(vi) / bc2_sqrt + eps;
    param[i] = p - step_size * (mi / denom);
  }
}

/* The checks every Adam entry point makes before writing anything. */
static int adam_args(const char *op, const float *param, const float *grad, lurn_adam_state *s,
                     int64_t n, const lurn_adam_config *c, lurn_status *st) {
  int rc;
  if ((rc = check_common(op, param, grad, s, n, c, st))) return rc;
  if ((rc = adam_check(op, c, st))) return rc;
  if (n > 0 && (!s->exp_avg || !s->exp_avg_sq))
    return lurn_fail(st, LURN_EARG, "%s: state needs exp_avg and exp_avg_sq", op);
  if (n > 0 && c->amsgrad && !s->max_exp_avg_sq)
    return lurn_fail(st, LURN_EARG, "%s: amsgrad needs a max_exp_avg_sq buffer", op);
  return LURN_OK;
}

/* One body for both: `decoupled` selects AdamW's decay. */
static int adam_step(const char *op, int decoupled, float *param, const float *grad,
                     lurn_adam_state *s, int64_t n, const lurn_adam_config *c, lurn_status *st) {
  int rc;
  if ((rc = adam_args(op, param, grad, s, n, c, st))) return rc;
  const int64_t t = s->step + 1;
  const adam_consts k = adam_consts_at(decoupled, t, c);
  /* blocks of 4,096: threads split the array; each block is the same loop */
  const int64_t nblk = (n + 4095) / 4096;
#pragma omp parallel for schedule(static) if (n >= LURN_OPTIM_PAR_MIN)
  for (int64_t blk = 0; blk < nblk; blk++) {
    const int64_t i0 = blk * 4096, i1 = i0 + 4096 < n ? i0 + 4096 : n;
    adam_span(&k, param, grad, s, i0, i1);
  }
  s->step = t;
  return LURN_OK;
}

int lurn_adam_step(float *param, const float *grad, lurn_adam_state *s, int64_t n,
                   const lurn_adam_config *c, lurn_status *st) {
  return adam_step("adam", 0, param, grad, s, n, c, st);
}

int lurn_adamw_step(float *param, const float *grad, lurn_adam_state *s, int64_t n,
                    const lurn_adam_config *c, lurn_status *st) {
  return adam_step("adamw", 1, param, grad, s, n, c, st);
}

/* Whether a row holds only zeros (+0 or -0; a NaN is not zero): the bits
 * but the sign ORed together, a loop without an exit, which vectorises (a
 * loop that stops at the first non-zero does not). */
static int row_is_zero(const float *g, int64_t width) {
  uint32_t any = 0;
  for (int64_t j = 0; j < width; j++) {
    uint32_t u;
    memcpy(&u, g + j, sizeof u);
    any |= u & 0x7fffffffu;
  }
  return any == 0;
}

/* Rows of a table: with c->lazy, a row whose gradient is zero in every
 * element is skipped (its parameters and moments stay as they are), so the
 * cost follows the rows the batch used; without, adam_step over them all. */
static int adam_rows(const char *op, int decoupled, float *param, const float *grad,
                     lurn_adam_state *s, int64_t rows, int64_t width, const lurn_adam_config *c,
                     int64_t *updated, lurn_status *st) {
  int rc;
  if (rows < 0 || width < 0)
    return lurn_fail(st, LURN_EARG, "%s: negative table shape [%lld, %lld]", op, (long long)rows,
                     (long long)width);
  if (width > 0 && rows > INT64_MAX / width)
    return lurn_fail(st, LURN_EARG, "%s: table shape [%lld, %lld] overflows", op,
                     (long long)rows, (long long)width);
  const int64_t n = rows * width;
  if (!c->lazy) {   /* every row: the dense step */
    if ((rc = adam_step(op, decoupled, param, grad, s, n, c, st))) return rc;
    if (updated) *updated = rows;
    return LURN_OK;
  }
  if ((rc = adam_args(op, param, grad, s, n, c, st))) return rc;
  const int64_t t = s->step + 1;
  const adam_consts k = adam_consts_at(decoupled, t, c);
  int64_t used = 0;
#pragma omp parallel for schedule(static) reduction(+ : used) if (n >= LURN_OPTIM_PAR_MIN)
  for (int64_t r = 0; r < rows; r++) {
    if (width > 0 && row_is_zero(grad + r * width, width)) continue;
    adam_span(&k, param, grad, s, r * width, (r + 1) * width);
    used++;
  }
  s->step = t;
  if (updated) *updated = used;
  return LURN_OK;
}

int lurn_adam_step_rows(float *param, const float *grad, lurn_adam_state *s, int64_t rows,
                        int64_t width, const lurn_adam_config *c, int64_t *updated,
                        lurn_status *st) {
  return adam_rows("adam", 0, param, grad, s, rows, width, c, updated, st);
}

int lurn_adamw_step_rows(float *param, const float *grad, lurn_adam_state *s, int64_t rows,
                         int64_t width, const lurn_adam_config *c, int64_t *updated,
                         lurn_status *st) {
  return adam_rows("adamw", 1, param, grad, s, rows, width, c, updated, st);
}

/* ---- RMSprop -------------------------------------------------------------- */

lurn_rmsprop_config lurn_rmsprop_defaults(void) {
  lurn_rmsprop_config c = {1e-2, 0.99, 1e-8, 0.0, 0.0, 0, 0};
  return c;
}

int lurn_rmsprop_check(const lurn_rmsprop_config *c, lurn_status *st) {
  int rc;
  if ((rc = check_range("rmsprop", "lr", c->lr, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range("rmsprop", "eps", c->eps, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range("rmsprop", "momentum", c->momentum, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range("rmsprop", "weight_decay", c->weight_decay, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range("rmsprop", "alpha", c->alpha, 0, INFINITY, 0, st))) return rc;
  return LURN_OK;
}

int lurn_rmsprop_step(float *param, const float *grad, lurn_rmsprop_state *s, int64_t n,
                      const lurn_rmsprop_config *c, lurn_status *st) {
  int rc;
  if ((rc = check_common("rmsprop", param, grad, s, n, c, st))) return rc;
  if ((rc = lurn_rmsprop_check(c, st))) return rc;
  if (n > 0 && !s->square_avg)
    return lurn_fail(st, LURN_EARG, "rmsprop: state needs square_avg");
  if (n > 0 && c->centered && !s->grad_avg)
    return lurn_fail(st, LURN_EARG, "rmsprop: centered needs a grad_avg buffer");
  if (n > 0 && c->momentum > 0 && !s->momentum_buffer)
    return lurn_fail(st, LURN_EARG, "rmsprop: momentum %g needs a momentum_buffer", c->momentum);

  const float lr = (float)c->lr, alpha = (float)c->alpha, one_a = (float)(1.0 - c->alpha);
  const float eps = (float)c->eps, wd = (float)c->weight_decay, mom = (float)c->momentum;
  const int centered = c->centered, use_mom = c->momentum > 0, maximize = c->maximize;
  float *sq = s->square_avg, *ga = s->grad_avg, *buf = s->momentum_buffer;  // [n] each

#pragma omp parallel for schedule(static) if (n >= LURN_OPTIM_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float g = maximize ? -grad[i] : grad[i];
    if (wd != 0) g += wd * param[i];
    float sqi = alpha * sq[i] + one_a * (g * g);
    sq[i] = sqi;
    float avg;
    if (centered) {
      float gai = alpha * ga[i] + one_a * g;
      ga[i] = gai;
      avg = sqrtf(sqi - gai * gai) + eps;
    } else {
      avg = sqrtf(sqi) + eps;
    }
    if (use_mom) {
      float b = mom * buf[i] + g / avg;
      buf[i] = b;
      param[i] -= lr * b;
    } else {
      param[i] -= lr * (g / avg);
    }
  }
  s->step++;
  return LURN_OK;
}

/* ---- Adagrad -------------------------------------------------------------- */

lurn_adagrad_config lurn_adagrad_defaults(void) {
  lurn_adagrad_config c = {1e-2, 0.0, 0.0, 0.0, 1e-10, 0};
  return c;
}

int lurn_adagrad_check(const lurn_adagrad_config *c, lurn_status *st) {
  int rc;
  if ((rc = check_range("adagrad", "lr", c->lr, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range("adagrad", "lr_decay", c->lr_decay, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range("adagrad", "weight_decay", c->weight_decay, 0, INFINITY, 0, st))) return rc;
  if ((rc = check_range("adagrad", "initial_accumulator_value", c->initial_accumulator_value, 0,
                        INFINITY, 0, st)))
    return rc;
  if ((rc = check_range("adagrad", "eps", c->eps, 0, INFINITY, 0, st))) return rc;
  return LURN_OK;
}

void lurn_adagrad_init(float *sum, int64_t n, const lurn_adagrad_config *c) {
  for (int64_t i = 0; i < n; i++) sum[i] = (float)c->initial_accumulator_value;
}

int lurn_adagrad_step(float *param, const float *grad, lurn_adagrad_state *s, int64_t n,
                      const lurn_adagrad_config *c, lurn_status *st) {
  int rc;
  if ((rc = check_common("adagrad", param, grad, s, n, c, st))) return rc;
  if ((rc = lurn_adagrad_check(c, st))) return rc;
  if (n > 0 && !s->sum) return lurn_fail(st, LURN_EARG, "adagrad: state needs sum");

  const int64_t t = s->step + 1;
  const float clr = (float)(c->lr / (1.0 + (double)(t - 1) * c->lr_decay));
  const float wd = (float)c->weight_decay, eps = (float)c->eps;
  const int maximize = c->maximize;
  float *sum = s->sum;  // [n]

#pragma omp parallel for schedule(static) if (n >= LURN_OPTIM_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    float g = maximize ? -grad[i] : grad[i];
    if (wd != 0) g += wd * param[i];
    float si = sum[i] + g * g;
    sum[i] = si;
    param[i] -= clr * (g / (sqrtf(si) + eps));
  }
  s->step = t;
  return LURN_OK;
}

/* ---- clipping ------------------------------------------------------------- */

static int check_list(const char *op, const void *xs, const int64_t *ns, int count,
                      lurn_status *st) {
  if (count < 0 || (count > 0 && (!xs || !ns)))
    return lurn_fail(st, LURN_EARG, "%s: bad tensor list (count %d)", op, count);
  for (int i = 0; i < count; i++)
    if (ns[i] < 0)
      return lurn_fail(st, LURN_EARG, "%s: tensor %d has negative size %lld", op, i + 1,
                       (long long)ns[i]);
  return LURN_OK;
}

int lurn_clip_grad_norm(float *const *xs, const int64_t *ns, int count, double max_norm,
                        double norm_type, double *total_norm, lurn_status *st) {
  int rc;
  if ((rc = check_list("clip_grad_norm", xs, ns, count, st))) return rc;
  if (!(max_norm >= 0))
    return lurn_fail(st, LURN_EARG, "clip_grad_norm: max_norm must be >= 0 (got %g)", max_norm);
  if (!(norm_type > 0))
    return lurn_fail(st, LURN_EARG, "clip_grad_norm: norm_type must be > 0 or inf (got %g)",
                     norm_type);

  // In double, in a fixed order that does not depend on the thread count:
  // element j of every tensor goes to partial sum j % NORM_LANES (the lanes
  // run on from one tensor to the next as if the tensors were one array), and
  // the lanes are added 0, 1, ... at the end. Independent lanes let the
  // compiler keep them in vector registers (a single running sum waits for
  // each add in turn); double keeps the sums of squares exact enough that the
  // norm is float-accurate, and cannot overflow: a float squared is below
  // 1.2e77. p = 2 and p = 1 take the lanes; inf is a max (order-free); other
  // p one sequential pass.
  double acc = 0;
  const int inf = isinf(norm_type), two = norm_type == 2.0, one = norm_type == 1.0;
  if (two || one) {
    double lane[NORM_LANES] = {0};
    int at = 0;   // the lane of the next element
    for (int k = 0; k < count; k++) {
      const float *x = xs[k];  // [ns[k]]
      int64_t i = 0, n = ns[k];
      for (; i < n && at != 0; i++) lane_add(lane, &at, x[i], two);   // up to lane 0
      if (two) {
        for (; i + NORM_LANES <= n; i += NORM_LANES)
          for (int j = 0; j < NORM_LANES; j++) {
            double a = (double)x[i + j];
            lane[j] += a * a;
          }
      } else {
        for (; i + NORM_LANES <= n; i += NORM_LANES)
          for (int j = 0; j < NORM_LANES; j++) lane[j] += fabs((double)x[i + j]);
      }
      for (; i < n; i++) lane_add(lane, &at, x[i], two);
    }
    for (int j = 0; j < NORM_LANES; j++) acc += lane[j];
  } else {
    for (int k = 0; k < count; k++) {
      const float *x = xs[k];  // [ns[k]]
      for (int64_t i = 0; i < ns[k]; i++) {
        double a = fabs((double)x[i]);
        if (inf) {
          if (a > acc || isnan(a)) acc = a;
          if (isnan(acc)) break;
        } else {
          acc += pow(a, norm_type);
        }
      }
    }
  }
  double total = inf ? acc : two ? sqrt(acc) : one ? acc : pow(acc, 1.0 / norm_type);
  if (total_norm) *total_norm = total;
  if (!isfinite(total)) return LURN_OK;

  double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    const float cf = (float)coef;
    for (int k = 0; k < count; k++) {
      float *x = xs[k];  // [ns[k]]
      const int64_t n = ns[k];
#pragma omp parallel for schedule(static) if (n >= LURN_OPTIM_PAR_MIN)
      for (int64_t i = 0; i < n; i++) x[i] *= cf;
    }
  }
  return LURN_OK;
}

int lurn_clip_grad_value(float *const *xs, const int64_t *ns, int count, double clip,
                         lurn_status *st) {
  int rc;
  if ((rc = check_list("clip_grad_value", xs, ns, count, st))) return rc;
  if (!(clip >= 0))
    return lurn_fail(st, LURN_EARG, "clip_grad_value: clip value must be >= 0 (got %g)", clip);
  const float hi = (float)clip, lo = -(float)clip;
  for (int k = 0; k < count; k++) {
    float *x = xs[k];  // [ns[k]]
    const int64_t n = ns[k];
#pragma omp parallel for schedule(static) if (n >= LURN_OPTIM_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
      // Comparisons are false for NaN, so NaN passes through unchanged.
      if (x[i] > hi) x[i] = hi;
      else if (x[i] < lo) x[i] = lo;
    }
  }
  return LURN_OK;
}

int lurn_average_update(float *const *avgs, const float *const *xs, const int64_t *ns, int count,
                        double decay, lurn_status *st) {
  int rc;
  if ((rc = check_list("average_update", xs, ns, count, st))) return rc;
  if (count > 0 && !avgs)
    return lurn_fail(st, LURN_EARG, "average_update: bad average list (count %d)", count);
  if ((rc = check_range("average_update", "decay", decay, 0, 1, 0, st))) return rc;
  const float keep = (float)decay, take = (float)(1.0 - decay);
  for (int k = 0; k < count; k++) {
    float *a = avgs[k];  // [ns[k]]
    const float *x = xs[k];
    const int64_t n = ns[k];
#pragma omp parallel for schedule(static) if (n >= LURN_OPTIM_PAR_MIN)
    for (int64_t i = 0; i < n; i++) a[i] = keep * a[i] + take * x[i];
  }
  return LURN_OK;
}

int lurn_find_nonfinite(const float *const *xs, const int64_t *ns, int count, int *which,
                        int64_t *element) {
  // Blocks of 4096 are scanned without an early exit (a loop the compiler
  // vectorises: NaN compares false, so !(|x| <= FLT_MAX) catches NaN and
  // Inf); only a block that holds one is searched element by element.
  enum { BLOCK = 4096 };
  for (int k = 0; k < count; k++) {
    const float *x = xs[k];  // [ns[k]]
    for (int64_t b = 0; b < ns[k]; b += BLOCK) {
      const int64_t end = ns[k] - b < BLOCK ? ns[k] : b + BLOCK;
      int bad = 0;
      for (int64_t i = b; i < end; i++) bad |= !(fabsf(x[i]) <= FLT_MAX);
      if (!bad) continue;
      for (int64_t i = b; i < end; i++) {
        if (!isfinite(x[i])) {
          if (which) *which = k;
          if (element) *element = i;
          return 1;
        }
      }
    }
  }
  return 0;
}
