/*
 * optim.h — optimizer update rules and gradient clipping, on flat float arrays.
 *
 * Each optimizer is three things kept apart (torch-rnn once reset Adam's
 * moments by mixing them):
 *   - a config: plain hyperparameters (lr, betas, ...), freely changed
 *     between steps — changing lr never touches the state;
 *   - a state: the step counter and the per-parameter buffers, owned by the
 *     caller (the Lua binding keeps them as tensors in a state table, so they
 *     are checkpointed like any other tensor);
 *   - a step function: one call updates one parameter array of n elements in
 *     place from its gradient, and increments state->step.
 *
 * The update rules are PyTorch 1.13's (torch/optim/{sgd,adam,adamw,rmsprop,
 * adagrad}.py, single-tensor path, non-sparse), written here from the
 * formulas; see each step function below. Element math is float32 like
 * PyTorch's CPU kernels; step-dependent scalars (bias corrections, decayed
 * learning rates) are computed in double, as Python does.
 *
 * Buffers (all [n], float32, zero-filled by the caller when created unless
 * noted): memory per parameter element is 4 bytes times
 *   SGD 1 (momentum != 0) | Adam/AdamW 2 (+1 amsgrad) |
 *   RMSprop 1 (+1 centered, +1 momentum) | Adagrad 1.
 *
 * Threads: elements are independent; large arrays are split across OpenMP
 * threads, which does not change any result.
 */
#ifndef LURN_OPTIM_H
#define LURN_OPTIM_H

#include <stdint.h>

#include "status.h"

/* ---- SGD ------------------------------------------------------------------
 *   g = grad (negated if maximize);  g += weight_decay * p
 *   if momentum != 0:
 *     b = g                                   on the first use of the buffer
 *     b = momentum * b + (1 - dampening) * g  afterwards
 *     g = nesterov ? g + momentum * b : b
 *   p -= lr * g
 * nesterov needs momentum > 0 and dampening == 0 (as PyTorch checks). */
typedef struct lurn_sgd_config {
  double lr, momentum, dampening, weight_decay;
  int nesterov, maximize;
} lurn_sgd_config;

typedef struct lurn_sgd_state {
  int64_t step;
  float *momentum_buffer;    /* [n]; may be NULL when momentum == 0 */
  int momentum_buffer_set;   /* 0: buffer not filled yet (PyTorch's None) */
} lurn_sgd_state;

/* PyTorch's defaults (lr has no default there; we use 0.01). */
lurn_sgd_config lurn_sgd_defaults(void);
int lurn_sgd_check(const lurn_sgd_config *c, lurn_status *st);
int lurn_sgd_step(float *param, const float *grad, lurn_sgd_state *s, int64_t n,
                  const lurn_sgd_config *c, lurn_status *st);

/* ---- Adam and AdamW -------------------------------------------------------
 *   t += 1; g = grad (negated if maximize)
 *   Adam:  g += weight_decay * p          (L2 penalty folded into g)
 *   AdamW: p *= 1 - lr * weight_decay     (decoupled decay)
 *   m = beta1 * m + (1 - beta1) * g
 *   v = beta2 * v + (1 - beta2) * g * g
 *   vmax = max(vmax, v) if amsgrad, and v := vmax below
 *   denom = sqrt(v) / sqrt(1 - beta2^t) + eps
 *   p -= lr / (1 - beta1^t) * m / denom */
typedef struct lurn_adam_config {
  double lr, beta1, beta2, eps, weight_decay;
  int amsgrad, maximize;
  int lazy;   /* the *_rows steps: skip rows whose gradient is all zero */
} lurn_adam_config;

typedef struct lurn_adam_state {
  int64_t step;
  float *exp_avg;          /* [n] m */
  float *exp_avg_sq;       /* [n] v */
  float *max_exp_avg_sq;   /* [n] vmax; NULL unless amsgrad */
} lurn_adam_state;

lurn_adam_config lurn_adam_defaults(void);   /* lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 0 */
lurn_adam_config lurn_adamw_defaults(void);  /* the same but weight_decay 1e-2 */
int lurn_adam_check(const lurn_adam_config *c, lurn_status *st);
int lurn_adamw_check(const lurn_adam_config *c, lurn_status *st);
int lurn_adam_step(float *param, const float *grad, lurn_adam_state *s, int64_t n,
                   const lurn_adam_config *c, lurn_status *st);
int lurn_adamw_step(float *param, const float *grad, lurn_adam_state *s, int64_t n,
                    const lurn_adam_config *c, lurn_status *st);

/* The same update on a table of `rows` rows of `width` (an embedding's
 * weight, param and grad [rows, width]). With c->lazy, a row whose gradient
 * is zero in every element — a row no sample of the batch looked up — is
 * left alone, parameters and moments (TensorFlow's LazyAdam; PyTorch's
 * SparseAdam on a dense gradient): the cost follows the rows used, and a
 * row's moments decay only in the steps that use it, so results differ from
 * Adam's. Bias corrections use the step count of the whole table, as
 * LazyAdam does. A row with a NaN is updated (and the NaN shows). Without
 * lazy, the same as lurn_adam_step on rows * width elements. `*updated`
 * (may be NULL) = the rows updated. */
int lurn_adam_step_rows(float *param, const float *grad, lurn_adam_state *s, int64_t rows,
                        int64_t width, const lurn_adam_config *c, int64_t *updated,
                        lurn_status *st);
int lurn_adamw_step_rows(float *param, const float *grad, lurn_adam_state *s, int64_t rows,
                         int64_t width, const lurn_adam_config *c, int64_t *updated,
                         lurn_status *st);

/* ---- RMSprop --------------------------------------------------------------
 *   t += 1; g = grad (negated if maximize); g += weight_decay * p
 *   sq = alpha * sq + (1 - alpha) * g * g
 *   centered: ga = alpha * ga + (1 - alpha) * g;  avg = sqrt(sq - ga * ga) + eps
 *   else:     avg = sqrt(sq) + eps
 *   momentum > 0: b = momentum * b + g / avg;  p -= lr * b
 *   else:         p -= lr * g / avg */
typedef struct lurn_rmsprop_config {
  double lr, alpha, eps, weight_decay, momentum;
  int centered, maximize;
} lurn_rmsprop_config;

typedef struct lurn_rmsprop_state {
  int64_t step;
  float *square_avg;       /* [n] sq */
  float *grad_avg;         /* [n] ga; NULL unless centered */
  float *momentum_buffer;  /* [n] b; NULL unless momentum > 0 */
} lurn_rmsprop_state;

lurn_rmsprop_config lurn_rmsprop_defaults(void); /* lr 1e-2, alpha .99, eps 1e-8 */
int lurn_rmsprop_check(const lurn_rmsprop_config *c, lurn_status *st);
int lurn_rmsprop_step(float *param, const float *grad, lurn_rmsprop_state *s, int64_t n,
                      const lurn_rmsprop_config *c, lurn_status *st);

/* ---- Adagrad --------------------------------------------------------------
 *   t += 1; g = grad (negated if maximize); g += weight_decay * p
 *   clr = lr / (1 + (t - 1) * lr_decay)
 *   sum += g * g
 *   p -= clr * g / (sqrt(sum) + eps)
 * `sum` starts at initial_accumulator_value (lurn_adagrad_init). */
typedef struct lurn_adagrad_config {
  double lr, lr_decay, weight_decay, initial_accumulator_value, eps;
  int maximize;
} lurn_adagrad_config;

typedef struct lurn_adagrad_state {
  int64_t step;
  float *sum;              /* [n] */
} lurn_adagrad_state;

lurn_adagrad_config lurn_adagrad_defaults(void); /* lr 1e-2, eps 1e-10 */
int lurn_adagrad_check(const lurn_adagrad_config *c, lurn_status *st);
/* Fill a new `sum` buffer with initial_accumulator_value. */
void lurn_adagrad_init(float *sum, int64_t n, const lurn_adagrad_config *c);
int lurn_adagrad_step(float *param, const float *grad, lurn_adagrad_state *s, int64_t n,
                      const lurn_adagrad_config *c, lurn_status *st);

/* ---- clipping and checks over several tensors -----------------------------
 * `xs[i]` points at ns[i] floats, i = 0 .. count-1. */

/* The global p-norm of all gradients together, computed in double in a fixed
 * order (so it is the same at every thread count):
 *   norm_type = p > 0:   (sum_i sum_j |g_ij|^p)^(1/p)
 *   norm_type = INFINITY: max_ij |g_ij|
 * *total_norm receives it. If it exceeds max_norm, every gradient is scaled
 * by max_norm / (total_norm + 1e-6) (PyTorch's clip_grad_norm_ rule).
 * A non-finite total leaves the gradients untouched and is still returned:
 * the caller decides (lurn_find_nonfinite says where it came from). */
int lurn_clip_grad_norm(float *const *xs, const int64_t *ns, int count, double max_norm,
                        double norm_type, double *total_norm, lurn_status *st);

/* Clamp every element into [-clip, clip] (NaN stays NaN). */
int lurn_clip_grad_value(float *const *xs, const int64_t *ns, int count, double clip,
                         lurn_status *st);

/* An exponential moving average of parameters (Polyak averaging):
 *   avg_k = decay * avg_k + (1 - decay) * x_k     for each of the count tensors
 * avgs[k] and xs[k] hold ns[k] floats each; decay in [0, 1]. */
int lurn_average_update(float *const *avgs, const float *const *xs, const int64_t *ns, int count,
                        double decay, lurn_status *st);

/* 1 if some element is NaN or +-Inf: *which and *element (0-based) name the
 * first one (lowest tensor index, then lowest element). 0 if all are finite. */
int lurn_find_nonfinite(const float *const *xs, const int64_t *ns, int count, int *which,
                        int64_t *element);

#endif
