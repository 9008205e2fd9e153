/*
 * layers.h — the non-recurrent layers and the losses of lurn, forward and
 * backward side by side (llm.c style): Linear, Embedding, Dropout,
 * ReLU/Tanh/Sigmoid, Pool over time, Softmax/LogSoftmax, and the losses
 * CrossEntropy, BCEWithLogits, MSE. The recurrent cells live in rnn.h.
 *
 * Conventions, shared by every function here:
 *   - outputs first, inputs next, options last, `lurn_status *st` at the end;
 *   - arguments (shapes, dtypes, ids, targets) are all checked before anything
 *     is allocated; a failure names the layer and the shapes involved, e.g.
 *       "linear: input [4,7] does not match weight [5,8] (expected last dim 8)";
 *   - a *fresh* output (y, dx, ...) must be released (or zeroed) on entry and
 *     comes back owning new contiguous storage; on failure it is left released;
 *   - a *gradient accumulator* of a parameter (dw, db) is an existing float32
 *     tensor of the parameter's shape (any strides) and is added to (+=), never
 *     overwritten: zeroing is the caller's job (module protocol: zero_grad);
 *   - inputs may have any strides (non-contiguous inputs are copied once, or
 *     passed to BLIS with their strides where a GEMM reads them);
 *   - float32 values, int32 ids / targets / lengths, all 0-based;
 *   - sequences are time-major [T, B, D]; `lengths` (int32 [B], values 0..T)
 *     marks the valid steps t < lengths[b] of each sample; NULL = all T valid.
 *
 * Determinism: every reduction (column sums, repeated-id accumulation, loss
 * sums) runs in a fixed order, so results are identical bit for bit at every
 * thread count; threads only ever split independent outputs.
 */
#ifndef LURN_LAYERS_H
#define LURN_LAYERS_H

#include <stdint.h>

#include "rng.h"
#include "status.h"
#include "tensor.h"

/* ---- Linear: y = x w^T + b ------------------------------------------------ */

/* x [..., I], w [O, I], b [O] or NULL -> y [..., O] (leading dims of x kept).
 * One GEMM; w is read through its strides (a transposed or tied weight needs
 * no copy). */
int lurn_linear_forward(lurn_tensor *y, const lurn_tensor *x, const lurn_tensor *w,
                        const lurn_tensor *b, lurn_status *st);
/* dy [..., O] -> dx [..., I] (fresh; skipped when dx is NULL);
 * dw [O, I] += dy^T x; db [O] += column sums of dy (each skipped when NULL). */
int lurn_linear_backward(lurn_tensor *dx, lurn_tensor *dw, lurn_tensor *db,
                         const lurn_tensor *dy, const lurn_tensor *x, const lurn_tensor *w,
                         lurn_status *st);

/* ---- Embedding: a row lookup --------------------------------------------- */

/* ids int32 [...] (any shape), w [V, D] -> out [..., D]. Ids outside [0, V)
 * are an error naming the id, its position and V. `padding` (in [0, V), or
 * -1 for none): positions holding it get a zero row in the output whatever
 * the row holds, and that row never receives gradient. */
int lurn_embedding_forward(lurn_tensor *out, const lurn_tensor *ids, const lurn_tensor *w,
                           int64_t padding, lurn_status *st);
/* dw [V, D] += dout [..., D] scattered by ids. Repeated ids accumulate in
 * position order (one pass, no atomics: threads split the D columns). */
int lurn_embedding_backward(lurn_tensor *dw, const lurn_tensor *dout, const lurn_tensor *ids,
                            int64_t padding, lurn_status *st);

/* out int32 [k]: the distinct ids of `ids` but `padding` (-1: none), in
 * ascending order — the rows of dw that embedding_backward writes. Ids
 * outside [0, V) are an error as in embedding_forward. */
int lurn_embedding_rows(lurn_tensor *out, const lurn_tensor *ids, int64_t V, int64_t padding,
                        lurn_status *st);

/* ---- Dropout (inverted) --------------------------------------------------- */

/* mask := a fresh float32 tensor of `size` whose elements are 0 with
 * probability p and 1/(1-p) otherwise (all 0 when p == 1), drawn from `r`
 * (NULL: the global generator) in row-major order. p in [0, 1]. */
int lurn_dropout_mask(lurn_tensor *mask, lurn_rng *r, int ndim, const int64_t *size, double p,
                      lurn_status *st);
/* y := x * mask with mask broadcast to x's shape (NumPy rules: mask's dims
 * align to the right, each equal or 1). A mask of x's shape is plain dropout;
 * a mask [1, B, D] on x [T, B, D] is variational dropout (one mask per
 * sequence, the same at every step). */
int lurn_dropout_forward(lurn_tensor *y, const lurn_tensor *x, const lurn_tensor *mask,
                         lurn_status *st);
/* dx := dy * mask (the same broadcast). */
int lurn_dropout_backward(lurn_tensor *dx, const lurn_tensor *dy, const lurn_tensor *mask,
                          lurn_status *st);

/* ---- Pointwise activations ------------------------------------------------ */

typedef enum { LURN_ACT_RELU = 0, LURN_ACT_TANH, LURN_ACT_SIGMOID } lurn_activation;

const char *lurn_activation_name(lurn_activation act);   /* "relu", "tanh", "sigmoid" */
/* y := f(x), any shape. */
int lurn_activation_forward(lurn_tensor *y, lurn_activation act, const lurn_tensor *x,
                            lurn_status *st);
/* dx := dy * f'(x), computed from the *output* y (no need to keep x):
 * relu: y > 0; tanh: 1 - y^2; sigmoid: y (1 - y). */
int lurn_activation_backward(lurn_tensor *dx, lurn_activation act, const lurn_tensor *dy,
                             const lurn_tensor *y, lurn_status *st);

/* ---- Pool over time, lengths-aware ---------------------------------------- */

typedef enum { LURN_POOL_MEAN = 0, LURN_POOL_MAX, LURN_POOL_LAST } lurn_pool;

const char *lurn_pool_name(lurn_pool kind);              /* "mean", "max", "last" */
/* x [T, B, D], lengths int32 [B] (each 0..T) or NULL -> y [B, D]:
 *   mean: the mean over the valid steps of each sample;
 *   max:  the maximum over the valid steps; argmax (if not NULL) gets the
 *         int32 [B, D] step of each maximum (the first of equal values);
 *   last: the step lengths[b] - 1 of each sample.
 * A sample of length 0 pools to zeros (argmax -1) and gets no gradient. */
int lurn_pool_forward(lurn_tensor *y, lurn_tensor *argmax, lurn_pool kind, const lurn_tensor *x,
                      const lurn_tensor *lengths, lurn_status *st);
/* dy [B, D] -> dx [T, B, D] (fresh; zero at invalid steps). max needs the
 * argmax of the forward pass; mean and last ignore it (may be NULL). */
int lurn_pool_backward(lurn_tensor *dx, lurn_pool kind, const lurn_tensor *dy,
                       const lurn_tensor *lengths, const lurn_tensor *argmax, int64_t T,
                       lurn_status *st);

/* ---- Softmax / LogSoftmax over the last dim ------------------------------ */

/* y := softmax(x) or log_softmax(x) along the last dim (max subtracted first,
 * so any finite logits are safe). Any shape with ndim >= 1. */
int lurn_softmax_forward(lurn_tensor *y, const lurn_tensor *x, lurn_status *st);
int lurn_log_softmax_forward(lurn_tensor *y, const lurn_tensor *x, lurn_status *st);
/* From the output y: softmax  dx = y * (dy - sum(dy * y));
 *                    log_softmax  dx = dy - exp(y) * sum(dy). */
int lurn_softmax_backward(lurn_tensor *dx, const lurn_tensor *dy, const lurn_tensor *y,
                          lurn_status *st);
int lurn_log_softmax_backward(lurn_tensor *dx, const lurn_tensor *dy, const lurn_tensor *y,
                              lurn_status *st);

/* ---- Losses: the scalar loss and the gradient of its input ---------------- */
/*
 * Each loss writes the scalar into *loss (double) and, when `dinput` is not
 * NULL, a fresh tensor of the input's shape holding d loss / d input (for an
 * upstream gradient of 1; scale it yourself for another).
 */

typedef enum { LURN_REDUCE_MEAN = 0, LURN_REDUCE_SUM } lurn_reduction;

typedef struct lurn_ce_opts {
  const lurn_tensor *weight;   /* float32 [C] class weights, or NULL (all 1) */
  const lurn_tensor *lengths;  /* int32 [B] for logits [T, B, C]: steps t >= lengths[b]
                                * are ignored (their targets are not even read); or NULL */
  int64_t ignore_index;        /* targets equal to it count for nothing (default -100) */
  lurn_reduction reduction;    /* MEAN: sum of w[target] * nll / sum of w[target] over
                                * counted items (PyTorch's weighted mean); SUM: the sum */
} lurn_ce_opts;

/* The defaults: no weights, no lengths, ignore_index -100, mean. */
void lurn_ce_opts_init(lurn_ce_opts *o);

/* logits [N, C] with targets int32 [N], or the per-step form logits [T, B, C]
 * with targets [T, B] (and optionally opts->lengths [B]). opts may be NULL.
 * A target outside [0, C) that is not ignore_index is an error naming the
 * value and its position. With nothing counted (all ignored) the loss and
 * the gradient are 0 (PyTorch would give NaN). */
int lurn_cross_entropy(double *loss, lurn_tensor *dlogits, const lurn_tensor *logits,
                       const lurn_tensor *targets, const lurn_ce_opts *opts, lurn_status *st);

/* Binary cross-entropy on logits x (any shape) with float targets of the same
 * shape (each in [0, 1]), in the stable form
 *   l = (1 - t) x + (1 + (pw - 1) t) (log(1 + exp(-|x|)) + max(-x, 0));
 * pos_weight: float32 [C] over the last dim of x (or NULL: 1). Mean over all
 * elements, or sum. */
int lurn_bce_with_logits(double *loss, lurn_tensor *dx, const lurn_tensor *x,
                         const lurn_tensor *target, const lurn_tensor *pos_weight,
                         lurn_reduction reduction, lurn_status *st);

/* Mean (or sum) of (x - target)^2 over all elements; shapes must match. */
int lurn_mse(double *loss, lurn_tensor *dx, const lurn_tensor *x, const lurn_tensor *target,
             lurn_reduction reduction, lurn_status *st);

#endif
