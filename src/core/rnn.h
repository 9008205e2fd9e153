/*
 * rnn.h — recurrent cells over a whole sequence: forward and BPTT in C.
 *
 * One layer, one direction. Stacking, bidirectional layers and dropout are
 * composed above this (in Lua) without copies: x and y are given as a
 * pointer plus a row stride, so a layer can read a [T, B, 2H] bidirectional
 * output or write its y into one half of one.
 *
 * Cells (PyTorch's equations, gate order and weight layout):
 *   rnn_tanh / rnn_relu  h' = act(W_ih x + b_ih + W_hh h + b_hh)            G = 1
 *   lstm   gates i, f, g, o: c' = f*c + i*g, h' = o*tanh(c')                G = 4
 *   gru    gates r, z, n:    n = tanh(W_in x + b_in + r*(W_hn h + b_hn)),
 *                            h' = (1-z)*n + z*h                              G = 3
 *   w_ih [G*H, I], w_hh [G*H, H], b_ih [G*H], b_hh [G*H] (biases may be NULL).
 *
 * Sequences are time-major: row (t, b) of x is x + (t*B + b)*ldx, I floats;
 * row (t, b) of y is y + (t*B + b)*ldy, H floats. States are [B, H].
 *
 * Variable length: lengths [B] (int32, 0 <= len <= T) or NULL (all T).
 * Padded steps leave the state unchanged and write zeros to y; a sample's
 * final state is that of its own last valid step; gradients flow only
 * through valid steps. reverse = 1 runs each sample from its own last valid
 * step len-1 down to 0 (PyTorch's packed-sequence semantics). The padded
 * rows of x are multiplied by zero in backward, so they must be finite.
 *
 * Memory (floats; N = T*B, W = row width of a gate row: H for the plain RNN,
 * 4H for LSTM (i,f,g,o) and GRU (r,z,n and W_hn h + b_hn)):
 *   training cache   lurn_rnn_cache_floats:   rnn 2NH, lstm 7NH, gru 5NH
 *     gates [N, W] (activations; backward overwrites them with the gate
 *     gradients, so one forward feeds ONE backward), h_prev [N, H], and for
 *     LSTM c_prev [N, H] and tanh(c) [N, H], all in time order (t, b).
 *   forward workspace lurn_rnn_work_floats(d, training):
 *     B*W + 3BH + W, plus W_hh packed (about G*H*H) and the state packed
 *     twice (about 2BH); with the fused input (lurn_rnn_fused_input) also
 *     W_ih packed (about G*H*I) and x_t packed twice (about 2BI); without
 *     it, inference adds C*B*W, where C = min(T, ceil(1024/B)) steps of
 *     input projection are computed at a time (C = T when reverse with
 *     lengths: samples are then on different times); with lengths, B + T + 2
 *     more (the slot order: the kernels work on the samples longest first,
 *     so the per-step products shrink to the ones still running, whatever
 *     the order of the batch; results per sample do not depend on it)
 *   backward workspace lurn_rnn_bwd_work_floats: 2BH + W + H, plus W_hh
 *     packed (about G*H*H) and dG_s packed twice (about 2*B*G*H); with
 *     lengths, B + T + 2 more
 *   (each part is rounded up; packed parts are aligned inside; no size
 *   depends on the thread count). Nothing is allocated inside these
 *   functions.
 *
 * Truncated BPTT: feed hn (cn) of one chunk as h0 (c0) of the next and do
 * not propagate that chunk's dh0 (dc0) further.
 *
 * NaN and Inf: computed as IEEE arithmetic of the equations above says. A
 * NaN in x, a weight, a bias or a state gives NaN in every output and
 * gradient it reaches; an infinite pre-activation saturates its gate as
 * the exact function does (sigmoid 0 or 1, tanh +-1), and the gradients it
 * feeds (0 * Inf) are NaN. Nothing is clamped away (tests/c/test_rnn.c,
 * test_nonfinite).
 *
 * Threads (lurn_set_threads): the big GEMMs run on BLIS's threads; the time
 * loop splits the hidden units among lurn_rnn_threads(d) OpenMP threads
 * (fewer while other processes keep cores busy: lurn_threads_now).
 * Every output element is computed by the same sequence of operations at
 * any thread count, so results are identical run to run and across counts.
 */
#ifndef LURN_RNN_H
#define LURN_RNN_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum {
  LURN_RNN_TANH = 0,
  LURN_RNN_RELU = 1,
  LURN_LSTM = 2,
  LURN_GRU = 3
} lurn_cell;

/* The problem: which cell, the dimensions, lengths and direction. */
typedef struct lurn_rnn_desc {
  lurn_cell cell;
  int64_t T, B, I, H;        /* steps, batch, input width, hidden width */
  const int32_t *lengths;    /* [B] or NULL (every sample has T steps) */
  int reverse;               /* 1: each sample from its own last valid step down to 0 */
} lurn_rnn_desc;

/* "rnn_tanh", "rnn_relu", "lstm", "gru" (or "rnn" for an unknown value). */
const char *lurn_cell_name(lurn_cell cell);
/* Number of weight blocks G: 1, 4, 3. */
int lurn_cell_gates(lurn_cell cell);
/* Parse a cell name (as above; "rnn" means rnn_tanh). Returns -1 if unknown. */
int lurn_cell_parse(const char *name);

/* Check d (cell, dims, lengths). Messages name the cell and the values,
 * e.g. "lstm: length 7 of sample 2 exceeds T=5". */
int lurn_rnn_check(const lurn_rnn_desc *d, lurn_status *st);

/* Threads the step loops of d use at the current lurn_set_threads count
 * (1 for small problems; at most one per nr-unit block). */
int lurn_rnn_threads(const lurn_rnn_desc *d);

/* 1 when the input product x_t W_ih^T is computed per step beside the
 * recurrent one (batches of 16 and more, packed weights up to 4 MB), 0 when
 * it is one projection GEMM over all steps before the time loop. */
int lurn_rnn_fused_input(const lurn_rnn_desc *d);

/* Sizes in floats (0 for an invalid desc). */
size_t lurn_rnn_cache_floats(const lurn_rnn_desc *d);
size_t lurn_rnn_work_floats(const lurn_rnn_desc *d, int training);
size_t lurn_rnn_bwd_work_floats(const lurn_rnn_desc *d);

/*
 * Forward over the whole sequence. Training mode when cache != NULL (it
 * must hold lurn_rnn_cache_floats(d) floats and work lurn_rnn_work_floats(d, 1));
 * inference mode when cache == NULL (work: lurn_rnn_work_floats(d, 0)).
 *   y     [T, B, H] rows ldy apart (ldy >= H), or NULL (not needed)
 *   hn    [B, H] final hidden state, or NULL;  cn [B, H] (LSTM), or NULL
 *   x     [T, B, I] rows ldx apart (ldx >= I)
 *   h0    [B, H] or NULL (zeros);  c0 [B, H] (LSTM) or NULL (zeros)
 */
int lurn_rnn_forward(const lurn_rnn_desc *d,
                     float *y, int64_t ldy, float *hn, float *cn,
                     const float *x, int64_t ldx, const float *h0, const float *c0,
                     const float *w_ih, const float *w_hh,
                     const float *b_ih, const float *b_hh,
                     float *cache, float *work, lurn_status *st);

/*
 * BPTT in one pass, from the cache of the matching training forward (same
 * d, x and weights). The cache is consumed (overwritten).
 *   dx      [T, B, I] rows lddx apart, written; NULL if not needed
 *   dh0     [B, H] written, or NULL;  dc0 [B, H] (LSTM) written, or NULL
 *   dw_ih [G*H, I], dw_hh [G*H, H], db_ih [G*H], db_hh [G*H]: ACCUMULATED
 *           (+=); any may be NULL (not needed)
 *   dy      [T, B, H] rows lddy apart, or NULL (zero)
 *   dhn, dcn [B, H] or NULL (zero)
 *   work    lurn_rnn_bwd_work_floats(d) floats
 */
int lurn_rnn_backward(const lurn_rnn_desc *d,
                      float *dx, int64_t lddx, float *dh0, float *dc0,
                      float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                      const float *dy, int64_t lddy, const float *dhn, const float *dcn,
                      const float *x, int64_t ldx, const float *w_ih, const float *w_hh,
                      float *cache, float *work, lurn_status *st);

#endif
