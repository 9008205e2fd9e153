/*
 * rnn.c — whole-sequence forward and BPTT of the recurrent cells (see rnn.h).
 *
 * The kernel plan, the same for every cell:
 *   forward   per step s: the step's pre-activation sums
 *                hp[B, GH] := x_t[B, I] * W_ih^T + h[B, H] * W_hh^T
 *                and one fused pointwise pass per sample (bias, gate
 *                nonlinearities, state update, y, cache). For batches of 16
 *                and more both products run per step ("fused input", see
 *                lurn_rnn_fused_input); smaller batches and large layers
 *                compute the input part for all steps first as one GEMM
 *                (BLIS) over N = T*B rows (inference: ~1024 rows at a time,
 *                see proj_steps) and copy each step's rows into hp.
 *   backward  per step s (T-1 down to 0): one fused pointwise pass turning
 *                the cached activations into pre-activation gradients dG (in
 *                place), the bias column sums of that step, and the product
 *                dh[B, H] += dG_s[B, GH] * W_hh;
 *             after the sweep: dX := dG * W_ih, dW_ih += dG^T * X,
 *                dW_hh += dG^T * H_prev as single GEMMs (BLIS) over all N rows.
 * The per-step products do not go through bli_sgemm, which would re-pack
 * the weights (4 MB of W_hh at H = 512) into micro-panels at every step.
 * W_hh (and W_ih when fused) is packed once per sweep and BLIS's own
 * micro-kernel is driven over it (blas.h, "packed operands"); the small A
 * operands are packed per step: the state h (or dG_s) is written into its
 * packed layout by the pointwise pass that produces it, x_t by the threads
 * together during the step before. The whole time loop runs in one OpenMP
 * region: each thread owns a range of hidden units (blocks of the
 * micro-kernel's nr columns), computes those units' gate columns of the
 * products and their pointwise update while the sums are in cache, and
 * meets the others at one barrier per step (see "step threads" below).
 * Every transpose is a stride swap; nothing is allocated. The per-step
 * products shrink to the samples still running: the kernel works on the
 * samples in "slots" ordered by length, longest first (slot b holds sample
 * perm[b]; see slot_order), so the running ones are always a prefix. The
 * state, the packed operands and the products are in slot order; x, y, the
 * cache and every array the caller sees stay in sample order. A row's
 * product does not depend on the other rows, so each sample's results are
 * the same in any slot; only the bias gradient's sum over samples runs in
 * slot order.
 *
 * Rows of the cache are in time order (t, b), the order of x, so the three
 * big GEMMs after the sweep see matching rows. Step s of sample b works on
 * time t = s going forward; going in reverse t = len_b-1-s while s < len_b,
 * and t = s for the padded steps s >= len_b. That map is a bijection on
 * 0..T-1 for every sample, so each (t, b) row is visited exactly once and
 * padded rows get their zeros (y, dG) on the way.
 *
 * The biases are added in the pointwise pass rather than folded into the
 * projection GEMM: the pass reads a [W] vector that stays in L1, while a
 * bias pre-fill of gates[N, W] would cost a full extra sweep of memory.
 */
#include "rnn.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "blas.h"

/* The pointwise loops below are `omp simd` loops over the hidden units, and
 * they are compute-bound (5 transcendentals per LSTM unit). Two local
 * assumptions let GCC vectorise them without -ffast-math for the whole
 * build (and without its reassociation, which would undo fast_expf's
 * rounding trick):
 *   no-trapping-math   lurn never inspects FP exception flags;
 *   no-signed-zeros    no result depends on the sign of a zero.
 * NOT finite-math-only: a NaN or Inf in an input, weight or state must
 * reach the outputs and gradients (issue 12), so every clamp below is
 * written so that a NaN falls through it (`x < lo ? lo : x` is false for
 * NaN), which GCC compiles to the IEEE max/min instructions (same speed as
 * the finite-math min/max: see docs/performance.md, "NaN and Inf").
 * 256-bit vectors where AVX has them: 1.4x faster pointwise passes than
 * the default 128 even on Zen 1, which splits them (measured, B=16 H=64
 * LSTM rows in L1: 9.2 -> 6.7 ns per unit). */
#ifdef LURN_BENCH_FINITE_MATH   /* the old build, for bench/bench_pointwise.c only */
#pragma GCC optimize("no-trapping-math", "finite-math-only", "no-signed-zeros")
#else
#pragma GCC optimize("no-trapping-math", "no-signed-zeros")
#endif
#if defined(__x86_64__) && defined(__AVX__)
#pragma GCC target("prefer-vector-width=256")
#endif

/* ---- fast, accurate nonlinearities ---------------------------------------
 * Written so GCC vectorises them inside `omp simd` loops (no libm calls).
 * Both are bounded for any finite input, so long sequences and large
 * pre-activations never produce Inf or NaN; +-Inf saturates as the exact
 * functions do (sigmoid(+-Inf) = 1 / ~0, tanh(+-Inf) = +-1), and a NaN in
 * gives a NaN out. */

/* e^x, within about 2 ulp; x clamped to [-87, 88] (no overflow, no
 * denormals). Cephes' expf: x = k*ln2 + r, |r| <= ln2/2, e^r by polynomial.
 * k is rounded by adding 1.5*2^23 (its low mantissa bits are then k), not
 * by floorf, which GCC will not vectorise without -ffast-math. */
typedef union { float f; uint32_t i; } f32bits;
static inline float fast_expf(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  f32bits k;
  k.f = x * 1.44269504088896341f + 0x1.8p23f;
  float kf = k.f - 0x1.8p23f;
  float r = x - kf * 0.693359375f + kf * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  f32bits scale;
  /* 2^k; unsigned, so a NaN's bits (any k) shift without overflow */
  scale.i = (k.i - 0x4B400000u + 127u) << 23;
  return p * scale.f;
}

static inline float fast_sigmoid(float x) { return 1.0f / (1.0f + fast_expf(-x)); }

/* tanh(x) as Eigen's rational 13/6 approximation: a few ulp over the whole
 * range, relative accuracy near 0 (where 1 - 2/(e^2x + 1) would cancel),
 * and exactly odd. Beyond |x| ~ 8 tanh is 1 in float32. */
static inline float fast_tanhf(float x) {
  float xc = x < -7.99881172f ? -7.99881172f : x;
  xc = xc > 7.99881172f ? 7.99881172f : xc;
  float x2 = xc * xc;
  float p = -2.76076847742355e-16f;
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 + -8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  p = p * xc;
  float q = 1.19825839466702e-06f;
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return p / q;
}

/* ---- names, checks, sizes ------------------------------------------------ */

const char *lurn_cell_name(lurn_cell cell) {
  switch (cell) {
    case LURN_RNN_TANH: return "rnn_tanh";
    case LURN_RNN_RELU: return "rnn_relu";
    case LURN_LSTM: return "lstm";
    case LURN_GRU: return "gru";
  }
  return "rnn";
}

int lurn_cell_gates(lurn_cell cell) {
  switch (cell) {
    case LURN_RNN_TANH: case LURN_RNN_RELU: return 1;
    case LURN_LSTM: return 4;
    case LURN_GRU: return 3;
  }
  return 0;
}

int lurn_cell_parse(const char *name) {
  if (!name) return -1;
  if (!strcmp(name, "rnn_tanh") || !strcmp(name, "rnn") || !strcmp(name, "tanh"))
    return LURN_RNN_TANH;
  if (!strcmp(name, "rnn_relu") || !strcmp(name, "relu")) return LURN_RNN_RELU;
  if (!strcmp(name, "lstm")) return LURN_LSTM;
  if (!strcmp(name, "gru")) return LURN_GRU;
  return -1;
}

/* Width of one cache gate row: GRU keeps W_hn h + b_hn beside r, z, n. */
static int64_t row_width(const lurn_rnn_desc *d) {
  return d->cell == LURN_RNN_TANH || d->cell == LURN_RNN_RELU ? d->H : 4 * d->H;
}

int lurn_rnn_check(const lurn_rnn_desc *d, lurn_status *st) {
  if (!d) return lurn_fail(st, LURN_EARG, "rnn: no descriptor");
  if (lurn_cell_gates(d->cell) == 0)
    return lurn_fail(st, LURN_EARG, "rnn: unknown cell kind %d", (int)d->cell);
  const char *nm = lurn_cell_name(d->cell);
  if (d->T < 0 || d->B < 0 || d->I < 1 || d->H < 1)
    return lurn_fail(st, LURN_ESHAPE,
                     "%s: bad dims T=%lld B=%lld I=%lld H=%lld (need T,B >= 0, I,H >= 1)", nm,
                     (long long)d->T, (long long)d->B, (long long)d->I, (long long)d->H);
  if (d->lengths)
    for (int64_t b = 0; b < d->B; b++) {
      if (d->lengths[b] < 0)
        return lurn_fail(st, LURN_EARG, "%s: length %d of sample %lld is negative", nm,
                         (int)d->lengths[b], (long long)b + 1);   // 1-based, as Lua reads it
      if (d->lengths[b] > d->T)
        return lurn_fail(st, LURN_EARG, "%s: length %d of sample %lld exceeds T=%lld", nm,
                         (int)d->lengths[b], (long long)b + 1, (long long)d->T);
    }
  return LURN_OK;
}

/* Sub-buffers start on 64-byte boundaries (given an aligned base). */
static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }
static size_t slot_floats(const lurn_rnn_desc *d);


/* The input product x_t * W_ih^T is computed per step, beside the recurrent
 * one, from W_ih packed once ("fused"), when the batch fills the
 * micro-kernel's rows well and both packed weight matrices stay in the
 * last-level cache from step to step; the projection then never goes
 * through memory (at (B, T, I, H) = (64, 100, 128, 256) an LSTM inference
 * forward is 12 % faster). Small batches (a micro-tile of mr rows would be
 * mostly empty) and large layers (at I = H = 512 the 8 MB of packed weights
 * stream from memory every step: 1 % slower) keep one big projection GEMM.
 * Both limits were measured on the 2-core Zen machine of
 * docs/performance.md. */
#ifndef LURN_FUSE_MIN_B
#define LURN_FUSE_MIN_B 16        /* -D to compare the two paths (bench) */
#endif
#ifndef LURN_FUSE_MAX_BYTES
#define LURN_FUSE_MAX_BYTES (4 << 20)   /* likewise */
#endif

int lurn_rnn_fused_input(const lurn_rnn_desc *d) {
  const double bytes = 4.0 * lurn_cell_gates(d->cell) * (double)d->H * (double)(d->I + d->H);
  return d->B >= LURN_FUSE_MIN_B && bytes <= LURN_FUSE_MAX_BYTES;
}

/* Steps per input-projection GEMM (unfused). Training projects all T steps at once
 * into the cache. Inference projects a chunk of steps at a time into a
 * small buffer (~1024 rows: still a large, efficient GEMM, and the chunk
 * stays in cache for the steps that read it), which needs every sample on
 * the same time at each step (forward, or reverse without lengths);
 * otherwise it projects all T steps too. */
static int64_t proj_steps(const lurn_rnn_desc *d, int training) {
  if (training || lurn_rnn_fused_input(d) || (d->reverse && d->lengths) || d->T == 0) return d->T;
  int64_t c = d->B > 0 ? (1024 + d->B - 1) / d->B : d->T;
  return c < 1 ? 1 : (c > d->T ? d->T : c);
}

size_t lurn_rnn_cache_floats(const lurn_rnn_desc *d) {
  if (lurn_rnn_check(d, NULL)) return 0;
  size_t N = (size_t)(d->T * d->B), H = (size_t)d->H, W = (size_t)row_width(d);
  size_t n = round16(N * W) + round16(N * H);          /* gates, h_prev */
  if (d->cell == LURN_LSTM) n += 2 * round16(N * H);  /* c_prev, tanh(c) */
  return n;
}

size_t lurn_rnn_work_floats(const lurn_rnn_desc *d, int training) {
  if (lurn_rnn_check(d, NULL)) return 0;
  size_t B = (size_t)d->B, H = (size_t)d->H, W = (size_t)row_width(d);
  size_t n = round16(B * W) + 3 * round16(B * H) + round16(W);  /* hp, h[2], c, bias */
  n += slot_floats(d);                                           /* the slot order */
  const size_t G = (size_t)lurn_cell_gates(d->cell);
  if (lurn_rnn_fused_input(d)) {
    /* packed W_ih^T, one [I, H] per gate; x_t packed, double-buffered */
    n += round16(G * lurn_pack_b_floats(d->I, d->H) + 16);
    n += 2 * round16(lurn_pack_a_floats(d->B, d->I) + 16);
  } else if (!training) {
    n += round16((size_t)proj_steps(d, 0) * B * W);              /* projection chunk */
  }
  /* packed W_hh^T, one [H, H] per gate; the packed state, double-buffered */
  n += round16(G * lurn_pack_b_floats(d->H, d->H) + 16);
  n += 2 * round16(lurn_pack_a_floats(d->B, d->H) + 16);
  return n;
}

size_t lurn_rnn_bwd_work_floats(const lurn_rnn_desc *d) {
  if (lurn_rnn_check(d, NULL)) return 0;
  size_t B = (size_t)d->B, H = (size_t)d->H, W = (size_t)row_width(d);
  const int64_t GHh = d->cell == LURN_GRU ? 3 * d->H : lurn_cell_gates(d->cell) * d->H;
  size_t n = 2 * round16(B * H) + round16(W) + round16(H);  /* dh, dc, db, zeros */
  n += slot_floats(d);                                       /* the slot order */
  n += round16(lurn_pack_b_floats(GHh, d->H) + 16);          /* packed W_hh [GHh, H] */
  n += 2 * round16(lurn_pack_a_floats(d->B, GHh) + 16);      /* packed dG_s, double-buffered */
  if (d->lengths && lurn_rnn_fused_input(d))                 /* compact x and dx rows */
    n += 2 * round16((size_t)(d->T * d->B) * (size_t)d->I);
  return n;
}

/* Carve n floats off *p. */
static float *carve(float **p, size_t n) {
  float *r = *p;
  *p += round16(n);
  return r;
}

/* A row stride below the row width it must hold: e.g. "lstm_forward: x row
 * stride 3 < I=4". Returns the status code, 0 when ld is enough. */
static int check_stride(lurn_status *st, const char *cell, const char *fn, const char *what,
                        int64_t ld, const char *dim, int64_t need) {
  if (ld >= need) return LURN_OK;
  return lurn_fail(st, LURN_ESHAPE, "%s_%s: %s row stride %lld < %s=%lld", cell, fn, what,
                   (long long)ld, dim, (long long)need);
}

/* The parts of a training cache (layout: rnn.h): gates [N, W], h_prev
 * [N, H], and for LSTM c_prev [N, H] and tanh(c) [N, H] (else NULL). */
static void cache_views(const lurn_rnn_desc *d, float *cache, float **gates, float **hprev,
                        float **cprev, float **tanhc) {
  const size_t N = (size_t)(d->T * d->B), H = (size_t)d->H;
  *gates = carve(&cache, N * (size_t)row_width(d));
  *hprev = carve(&cache, N * H);
  *cprev = d->cell == LURN_LSTM ? carve(&cache, N * H) : NULL;
  *tanhc = d->cell == LURN_LSTM ? carve(&cache, N * H) : NULL;
}

/* Number of slots still running at step s: with lengths, the slots are in
 * descending order of length, so the running ones are a prefix; B without. */
static int64_t active_rows(const lurn_rnn_desc *d, const int32_t *perm, int64_t s) {
  if (!d->lengths) return d->B;
  int64_t n = d->B;
  while (n > 0 && d->lengths[perm ? perm[n - 1] : n - 1] <= s) n--;
  return n;
}

/* Floats of workspace the slot order takes: perm [B] and the counts of
 * each length [T + 2], as int32, and the compact rows' offsets [T + 1] as
 * int64. */
static size_t slot_floats(const lurn_rnn_desc *d) {
  return d->lengths ? round16((size_t)d->B) + round16((size_t)d->T + 2) +
                          round16(2 * ((size_t)d->T + 1)) : 0;
}

/* The slot order: NULL (slot b is sample b) without lengths or when they
 * are already in descending order; else perm[b] = the sample in slot b,
 * the samples sorted by length, longest first, ties in sample order (a
 * counting sort: O(B + T), the same order every call). `*p` is the
 * workspace, advanced past slot_floats(d). */
static const int32_t *slot_order(const lurn_rnn_desc *d, float **p) {
  if (!d->lengths) return NULL;
  int32_t *perm = (int32_t *)carve(p, (size_t)d->B);
  int32_t *count = (int32_t *)carve(p, (size_t)d->T + 2);
  const int64_t B = d->B, T = d->T;
  int sorted = 1;
  for (int64_t b = 1; b < B; b++)
    if (d->lengths[b] > d->lengths[b - 1]) sorted = 0;
  if (sorted) return NULL;
  for (int64_t l = 0; l <= T + 1; l++) count[l] = 0;
  for (int64_t b = 0; b < B; b++) count[d->lengths[b]]++;
  /* count[l] := the first slot of length l (longer lengths first) */
  int32_t at = 0;
  for (int64_t l = T; l >= 0; l--) {
    const int32_t c = count[l];
    count[l] = at;
    at += c;
  }
  for (int64_t b = 0; b < B; b++) perm[count[d->lengths[b]]++] = (int32_t)b;
  return perm;
}

/* Compact cache rows (training with the fused input, when lengths leave
 * padded steps): the cache then holds only the rows of running samples,
 * step after step, slot order within a step: row off[s] + b for slot b <
 * active_rows(s), N_valid = off[T] rows in all; the GEMMs after BPTT then
 * run over N_valid rows instead of T * B (on SST-2's phrases about a
 * quarter). Returns NULL (rows in time order (t, b), as without lengths)
 * when every sample runs all T steps or the input is not fused (the
 * unfused projection fills the cache in time order). `*p` is the
 * workspace, advanced past its part of slot_floats(d). */
static const int64_t *compact_rows(const lurn_rnn_desc *d, const int32_t *perm, int training,
                                   float **p) {
  if (!d->lengths) return NULL;
  int64_t *off = (int64_t *)carve(p, 2 * ((size_t)d->T + 1));
  if (!training || !lurn_rnn_fused_input(d)) return NULL;
  int64_t total = 0;
  for (int64_t s = 0; s < d->T; s++) {
    off[s] = total;
    total += active_rows(d, perm, s);
  }
  off[d->T] = total;
  return total < d->T * d->B ? off : NULL;
}

/* The sample in slot b. */
static inline int64_t slot_sample(const int32_t *perm, int64_t b) { return perm ? perm[b] : b; }

/* [B, H] rows from sample order (src; NULL: zeros) into slot order, and back. */
static void to_slots(const int32_t *perm, int64_t B, int64_t H, const float *src, float *dst) {
  for (int64_t b = 0; b < B; b++) {
    if (src) memcpy(dst + b * H, src + slot_sample(perm, b) * H, sizeof(float) * (size_t)H);
    else memset(dst + b * H, 0, sizeof(float) * (size_t)H);
  }
}

static void from_slots(const int32_t *perm, int64_t B, int64_t H, const float *src, float *dst) {
  for (int64_t b = 0; b < B; b++)
    memcpy(dst + slot_sample(perm, b) * H, src + b * H, sizeof(float) * (size_t)H);
}

/* The time t sample b (a sample index, not a slot) works on at step s (see
 * the top); *valid = s < len. */
static inline int64_t step_time(const lurn_rnn_desc *d, int64_t s, int64_t b, int *valid) {
  int64_t len = d->lengths ? d->lengths[b] : d->T;
  *valid = s < len;
  if (!d->reverse) return s;
  return *valid ? len - 1 - s : s;
}

/* ---- step threads -----------------------------------------------------------
 * The time loop runs inside ONE OpenMP parallel region per sweep (per
 * projection chunk in inference). Thread `tid` owns a contiguous range of
 * hidden units, in blocks of the micro-kernel's nr columns: it packs the
 * weight panels of those units once, computes their gate columns of every
 * step's recurrent GEMM from BLIS's micro-kernel, and runs their pointwise
 * update at once, while the products are still in cache. A step then needs
 * a single barrier: the next GEMM reads every unit of the new state. The
 * state is double-buffered (h[2]) so no thread overwrites a value another
 * thread is still packing. */

/* Below this many multiply-adds per step the loop runs on one thread: the
 * step then takes a few microseconds, about what a barrier costs. */
#define STEP_PAR_MIN (1 << 17)

/* Unit blocks per pointwise group: the group's gate products (B rows x
 * G gates x UG*nr units) stay in L2 between the GEMM and the pass. */
#define UNIT_GROUP 4

int lurn_rnn_threads(const lurn_rnn_desc *d) {
  const lurn_ukr *u = lurn_ukr_get();
  int64_t blocks = (d->H + u->nr - 1) / u->nr;
  int64_t n = lurn_get_threads();
  if (n > blocks) n = blocks;
  const int64_t k = d->H + (lurn_rnn_fused_input(d) ? d->I : 0);   /* per-step inner size */
  if (d->B * lurn_cell_gates(d->cell) * d->H * k < STEP_PAR_MIN) n = 1;
  return n < 1 ? 1 : (int)n;
}

/* This thread's number and the team's size (0 and 1 outside a region). */
static void thread_id(int *tid, int *nt) {
#ifdef _OPENMP
  *tid = omp_get_thread_num();
  *nt = omp_get_num_threads();
#else
  *tid = 0;
  *nt = 1;
#endif
}

/* Unit blocks [*u0, *u1) of thread tid out of nt. */
static void unit_range(int64_t H, int tid, int nt, int64_t *u0, int64_t *u1) {
  const int64_t nr = lurn_ukr_get()->nr, blocks = (H + nr - 1) / nr;
  *u0 = blocks * tid / nt;
  *u1 = blocks * (tid + 1) / nt;
}

/* Align a carved pointer up to 64 bytes (the packed panels need it; the
 * sizes below include 16 floats of slack for each). */
static float *align64(float *p) {
  return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

/* Store n values of row i, columns p0.. of a packed A with k columns
 * (the layout of blas.h: consecutive columns are pmr floats apart). */
static void scatter_packed(const lurn_ukr *u, float *pa, int64_t k, int64_t i, int64_t p0,
                           const float *v, int64_t n) {
  float *dst = pa + lurn_pack_a_at(u, i, p0, k);
  const int64_t pmr = u->pmr;
  for (int64_t j = 0; j < n; j++) dst[j * pmr] = v[j];
}

static void scatter_zeros(const lurn_ukr *u, float *pa, int64_t k, int64_t i, int64_t p0,
                          int64_t n) {
  float *dst = pa + lurn_pack_a_at(u, i, p0, k);
  const int64_t pmr = u->pmr;
  for (int64_t j = 0; j < n; j++) dst[j * pmr] = 0.0f;
}

/* ---- per-sample, per-step pointwise kernels -------------------------------
 * Each works on n units of one row, from unit j0 on: every pointer below
 * already points at unit j0, and gate block q of a gate row is q*H further.
 * Forward: g holds the input projection of this (t, b) row on entry and the
 * activations on exit; hp is this sample's recurrent GEMM row; hi the state
 * going in, ho the state coming out (c updated in place). */

/* Forward rows: pre holds this sample's pre-activation sums without the
 * biases (x W_ih^T + h W_hh^T per gate; GRU: r, z, W_hn h, W_in x), g its
 * cache row, hi the state going in, ho the state coming out (c updated in
 * place). `keep` (a constant at every call, so each use compiles to its own
 * loop): store the activations into g (and tanh(c') into tc) for BPTT;
 * inference skips those stores. */
#define ROW_INLINE static inline __attribute__((always_inline))

ROW_INLINE void rnn_fwd_row(int relu, int64_t n, const float *pre, const float *bias, float *g,
                            float *ho, const int keep) {
  if (relu) {
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
      float a = pre[j] + bias[j];
      a = a < 0.0f ? 0.0f : a;   /* relu(NaN) = NaN */
      if (keep) g[j] = a;
      ho[j] = a;
    }
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
      float a = fast_tanhf(pre[j] + bias[j]);
      if (keep) g[j] = a;
      ho[j] = a;
    }
  }
}

ROW_INLINE void lstm_fwd_row(int64_t H, int64_t n, const float *pre, const float *bias,
                             float *g, float *ho, float *c, float *tc, const int keep) {
  /* pre, bias, g: gates i, f, g, o H apart */
  const float *pi = pre, *pf = pre + H, *pg = pre + 2 * H, *po = pre + 3 * H;
  const float *bi = bias, *bf = bias + H, *bg = bias + 2 * H, *bo = bias + 3 * H;
  float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
#pragma omp simd
  for (int64_t j = 0; j < n; j++) {
    float i = fast_sigmoid(pi[j] + bi[j]);
    float f = fast_sigmoid(pf[j] + bf[j]);
    float u = fast_tanhf(pg[j] + bg[j]);
    float o = fast_sigmoid(po[j] + bo[j]);
    float cn = f * c[j] + i * u;
    float t = fast_tanhf(cn);
    if (keep) {
      gi[j] = i;
      gf[j] = f;
      gg[j] = u;
      go[j] = o;
      tc[j] = t;
    }
    c[j] = cn;
    ho[j] = o * t;
  }
}

ROW_INLINE void gru_fwd_row(int64_t H, int64_t n, const float *pre, const float *bias, float *g,
                            const float *hi, float *ho, const int keep) {
  /* pre: r, z, W_hn h, W_in x; bias: b_ir+b_hr, b_iz+b_hz, b_hn, b_in;
   * g out: r, z, n, W_hn h + b_hn */
  const float *pr = pre, *pz = pre + H, *phn = pre + 2 * H, *pxn = pre + 3 * H;
  const float *br = bias, *bz = bias + H, *bhn = bias + 2 * H, *bin = bias + 3 * H;
  float *gr = g, *gz = g + H, *gn = g + 2 * H, *ghn = g + 3 * H;
#pragma omp simd
  for (int64_t j = 0; j < n; j++) {
    float r = fast_sigmoid(pr[j] + br[j]);
    float z = fast_sigmoid(pz[j] + bz[j]);
    float a = phn[j] + bhn[j];
    float v = fast_tanhf(pxn[j] + bin[j] + r * a);
    if (keep) {
      gr[j] = r;
      gz[j] = z;
      gn[j] = v;
      ghn[j] = a;
    }
    ho[j] = v + z * (hi[j] - v);
  }
}

/* Backward: g holds the cached activations on entry and the pre-activation
 * gradients on exit; dh (and dc) hold dL/dh (dL/dc) flowing in from later
 * steps and are left as the part that bypasses the recurrent GEMM (zero for
 * RNN/LSTM, dh*z for GRU; dc*f for LSTM); dy is this row's output gradient. */

static void rnn_bwd_row(int relu, int64_t n, float *g, const float *dy, float *dh) {
  if (relu) {
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
      float d = dh[j] + dy[j];
      /* relu' = 1 above 0, 0 at 0 (relu's output is never below 0); a NaN
       * activation stays NaN, so NaN never turns into a finite gradient.
       * (Not g * 0: GCC folds that to 0 under no-signed-zeros.) */
      g[j] = g[j] > 0.0f ? d : (g[j] == 0.0f ? 0.0f : g[j]);
      dh[j] = 0.0f;
    }
  } else {
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
      float d = dh[j] + dy[j];
      g[j] = d * (1.0f - g[j] * g[j]);
      dh[j] = 0.0f;
    }
  }
}

static void lstm_bwd_row(int64_t H, int64_t n, float *g, const float *tc, const float *cp,
                         const float *dy, float *dh, float *dc) {
  /* g: i, f, g, o -> di, df, dg, do (H apart); tc tanh(c), cp c_prev */
  float *gi = g, *gf = g + H, *gg = g + 2 * H, *go = g + 3 * H;
#pragma omp simd
  for (int64_t j = 0; j < n; j++) {
    float i = gi[j], f = gf[j], u = gg[j], o = go[j], t = tc[j];
    float d = dh[j] + dy[j];
    float dcv = dc[j] + d * o * (1.0f - t * t);
    go[j] = d * t * o * (1.0f - o);
    gi[j] = dcv * u * i * (1.0f - i);
    gf[j] = dcv * cp[j] * f * (1.0f - f);
    gg[j] = dcv * i * (1.0f - u * u);
    dc[j] = dcv * f;
    dh[j] = 0.0f;
  }
}

static void gru_bwd_row(int64_t H, int64_t n, float *g, const float *hprev, const float *dy,
                        float *dh) {
  /* g: r, z, n, W_hn h + b_hn -> dr, dz, dn*r, dn (H apart) */
  float *gr = g, *gz = g + H, *gn = g + 2 * H, *ghn = g + 3 * H;
#pragma omp simd
  for (int64_t j = 0; j < n; j++) {
    float r = gr[j], z = gz[j], v = gn[j], a = ghn[j];
    float d = dh[j] + dy[j];
    float dn = d * (1.0f - z) * (1.0f - v * v);
    gz[j] = d * (hprev[j] - v) * z * (1.0f - z);
    gr[j] = dn * a * r * (1.0f - r);
    gn[j] = dn * r;
    ghn[j] = dn;
    dh[j] = d * z;
  }
}

/* ---- forward ------------------------------------------------------------- */

/* What every thread of a forward sweep needs. */
typedef struct fwd_ctx {
  const lurn_rnn_desc *d;
  int64_t W, G, r0;          /* gate row width, gate blocks, first row of `gates` */
  int training, nth, fused;
  const int32_t *perm;       /* slot -> sample (slot_order), NULL: the same */
  const int64_t *off;        /* compact cache rows (compact_rows), NULL: time order */
  float *gates;              /* cache rows (training) / projection chunk (unfused) */
  float *hp;                 /* [B, W] this step's pre-activation sums */
  float *h[2], *pa[2];       /* state and packed state, double-buffered */
  float *px[2];              /* x_t packed, double-buffered (fused) */
  float *c, *bias, *wp, *wxp;
  float *hprev, *cprev, *tanhc, *y;
  int64_t ldy, ldx;
  const float *x, *w_ih, *w_hh;
} fwd_ctx;

/* Column of hp where gate q's input product goes: GRU keeps W_in x apart
 * (block 3), since n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). */
static int64_t x_col(const fwd_ctx *k, int64_t q) {
  return k->d->cell == LURN_GRU && q == 2 ? 3 * k->d->H : q * k->d->H;
}

/* Pack row panels [ip0, ip1) of x_s (sample b at its time of step s) into
 * px, a packed A [B, I]. */
static void pack_x_step(const fwd_ctx *k, int64_t s, int64_t ip0, int64_t ip1, float *px) {
  const lurn_rnn_desc *d = k->d;
  const lurn_ukr *u = lurn_ukr_get();
  const int64_t B = d->B, I = d->I, mr = u->mr, pmr = u->pmr;
  for (int64_t ip = ip0; ip < ip1; ip++) {
    float *panel = px + ip * pmr * I;
    for (int64_t ii = 0; ii < pmr; ii++) {
      const int64_t b = ip * mr + ii;
      if (ii < mr && b < B) {
        int valid;
        const int64_t smp = slot_sample(k->perm, b);
        const float *src = k->x + (step_time(d, s, smp, &valid) * B + smp) * k->ldx;
        for (int64_t p = 0; p < I; p++) panel[p * pmr + ii] = src[p];
      } else {
        for (int64_t p = 0; p < I; p++) panel[p * pmr + ii] = 0.0f;
      }
    }
  }
}

/* Slot b's pointwise update of units [j0, j0+n) at step s: state hc -> hn
 * (slot rows), and the new state also into the packed A of the next step's
 * GEMM; y and the cache rows are the sample's. */
ROW_INLINE void fwd_row(const fwd_ctx *k, int64_t s, int64_t b, int64_t j0, int64_t n,
                        const float *hc, float *hn, float *pa_next, const int keep) {
  const lurn_rnn_desc *d = k->d;
  const int64_t B = d->B, H = d->H, W = k->W;
  const size_t bytes = sizeof(float) * (size_t)n;
  int valid;
  const int64_t smp = slot_sample(k->perm, b);
  const int64_t t = step_time(d, s, smp, &valid);
  const int64_t yrow = t * B + smp;                        /* x, y: sample order */
  const int64_t row = k->off ? k->off[s] + b : yrow;        /* the cache's */
  float *yr = k->y ? k->y + yrow * k->ldy + j0 : NULL;
  const float *hi = hc + b * H + j0;
  float *ho = hn + b * H + j0;
  if (!valid) {
    /* a padded step: state unchanged, y zero; in time order the cache row
     * of h_prev only has to be finite (its gate gradient row will be
     * zero); compact caches have no row for it */
    memcpy(ho, hi, bytes);
    if (yr) memset(yr, 0, bytes);
    if (keep && !k->off) memset(k->hprev + row * H + j0, 0, bytes);
  } else {
    float *g = keep ? k->gates + row * W + j0 : NULL, *cb = k->c + b * H + j0;
    const float *pre = k->hp + b * W + j0, *bias = k->bias + j0;
    if (keep) {
      memcpy(k->hprev + row * H + j0, hi, bytes);
      if (d->cell == LURN_LSTM) memcpy(k->cprev + row * H + j0, cb, bytes);
    }
    switch (d->cell) {
      case LURN_LSTM:
        lstm_fwd_row(H, n, pre, bias, g, ho, cb, keep ? k->tanhc + row * H + j0 : NULL, keep);
        break;
      case LURN_GRU: gru_fwd_row(H, n, pre, bias, g, hi, ho, keep); break;
      default: rnn_fwd_row(d->cell == LURN_RNN_RELU, n, pre, bias, g, ho, keep); break;
    }
    if (yr) memcpy(yr, ho, bytes);
  }
  scatter_packed(lurn_ukr_get(), pa_next, H, b, j0, ho, n);
}

/* Steps s0..s1-1 on thread tid of nt; the state starts in h[cur], pa[cur]
 * (and x_s0 in px[cur] when fused). */
static void fwd_steps(const fwd_ctx *k, int64_t s0, int64_t s1, int cur, int pack_w,
                      int tid, int nt) {
  const lurn_rnn_desc *d = k->d;
  const lurn_ukr *u = lurn_ukr_get();
  const int64_t T = d->T, B = d->B, I = d->I, H = d->H, W = k->W, G = k->G;
  const int gru = d->cell == LURN_GRU;
  const size_t wsz = lurn_pack_b_floats(H, H), wxsz = lurn_pack_b_floats(I, H);
  const int64_t mp = (B + u->mr - 1) / u->mr;
  int64_t u0, u1;
  unit_range(H, tid, nt, &u0, &u1);
  /* this thread's panels of W_hh^T (and W_ih^T): gate q is W[q*H:(q+1)*H, :]^T */
  if (pack_w)
    for (int64_t q = 0; q < G; q++) {
      lurn_pack_b(H, H, k->w_hh + q * H * H, 1, H, u0, u1, k->wp + q * wsz);
      if (k->fused) lurn_pack_b(I, H, k->w_ih + q * H * I, 1, I, u0, u1, k->wxp + q * wxsz);
    }
  for (int64_t s = s0; s < s1; s++) {
    const int64_t nact = active_rows(d, k->perm, s);
    const float *hc = k->h[cur];
    /* x of the next step into the other buffer, row panels split among threads */
    if (k->fused && s + 1 < T) pack_x_step(k, s + 1, mp * tid / nt, mp * (tid + 1) / nt, k->px[cur ^ 1]);
    /* Odd steps walk the unit groups (and gates) backwards: when this
     * thread's packed weights outgrow its L2 (H = 512: 2 MB per thread),
     * a step in the same order as the last would find none of them left
     * (LRU evicts a cyclic stream entirely); turning around starts on the
     * panels just used. Units are independent, so the results do not
     * change. */
    const int back = (int)(s & 1);
    const int64_t ngroups = (u1 - u0 + UNIT_GROUP - 1) / UNIT_GROUP;
    for (int64_t gi = 0; gi < ngroups; gi++) {
      const int64_t g0 = u0 + (back ? ngroups - 1 - gi : gi) * UNIT_GROUP;
      const int64_t g1 = g0 + UNIT_GROUP < u1 ? g0 + UNIT_GROUP : u1;
      const int64_t j0 = g0 * u->nr, n = (g1 * u->nr < H ? g1 * u->nr : H) - j0;
      for (int64_t qi = 0; qi < G; qi++) {
        const int64_t q = back ? G - 1 - qi : qi;
        /* input part: x_t * W_ih[q]^T, into column x_col(q) */
        float *hx = k->hp + x_col(k, q);
        if (k->fused) {
          lurn_gemm_packed(nact, H, I, k->px[cur], k->wxp + q * wxsz, g0, g1, 0.0f, hx, W);
        } else {
          for (int64_t b = 0; b < nact; b++) {
            int valid;
            const int64_t smp = slot_sample(k->perm, b);
            const int64_t row = step_time(d, s, smp, &valid) * B + smp;
            memcpy(hx + b * W + j0, k->gates + (row - k->r0) * W + q * H + j0,
                   sizeof(float) * (size_t)n);
          }
        }
        /* recurrent part: h * W_hh[q]^T, onto it (GRU's n: its own column);
         * one sample: a GEMV from the plain state row */
        const int apart = gru && q == 2;
        if (B == 1) {
          if (nact > 0)
            lurn_gemv_packed(H, H, hc, k->wp + q * wsz, g0, g1, apart ? 0.0f : 1.0f, k->hp + q * H);
        } else {
          lurn_gemm_packed(nact, H, H, k->pa[cur], k->wp + q * wsz, g0, g1, apart ? 0.0f : 1.0f,
                           k->hp + q * H, W);
        }
      }
      for (int64_t b = 0; b < B; b++) {
        if (k->training) fwd_row(k, s, b, j0, n, hc, k->h[cur ^ 1], k->pa[cur ^ 1], 1);
        else fwd_row(k, s, b, j0, n, hc, k->h[cur ^ 1], k->pa[cur ^ 1], 0);
      }
    }
    cur ^= 1;
    if (nt > 1) {
#pragma omp barrier
    }
  }
}

int lurn_rnn_forward(const lurn_rnn_desc *d,
                     float *y, int64_t ldy, float *hn, float *cn,
                     const float *x, int64_t ldx, const float *h0, const float *c0,
                     const float *w_ih, const float *w_hh,
                     const float *b_ih, const float *b_hh,
                     float *cache, float *work, lurn_status *st) {
  int rc = lurn_rnn_check(d, st);
  if (rc) return rc;
  const char *nm = lurn_cell_name(d->cell);
  const int64_t T = d->T, B = d->B, I = d->I, H = d->H, N = T * B;
  const int lstm = d->cell == LURN_LSTM, gru = d->cell == LURN_GRU;
  const int64_t W = row_width(d), G = lurn_cell_gates(d->cell), GH = G * H;
  if (!x && N > 0) return lurn_fail(st, LURN_EARG, "%s_forward: x is NULL", nm);
  if (!w_ih || !w_hh) return lurn_fail(st, LURN_EARG, "%s_forward: w_ih or w_hh is NULL", nm);
  if (!work) return lurn_fail(st, LURN_EARG, "%s_forward: no workspace", nm);
  if ((x && (rc = check_stride(st, nm, "forward", "x", ldx, "I", I))) ||
      (y && (rc = check_stride(st, nm, "forward", "y", ldy, "H", H))))
    return rc;
  if (!lstm && (c0 || cn))
    return lurn_fail(st, LURN_EARG, "%s_forward: c0/cn given but only lstm has a cell state",
                     nm);
  const int training = cache != NULL;

  /* carve the workspace and the cache (layout: rnn.h) */
  fwd_ctx k = {.d = d, .W = W, .G = G, .training = training, .fused = lurn_rnn_fused_input(d),
               .y = y, .ldy = ldy, .x = x, .ldx = ldx, .w_ih = w_ih, .w_hh = w_hh};
  float *p = work;
  const int64_t chunk = proj_steps(d, training);
  float *xp = training || k.fused ? NULL : carve(&p, (size_t)(chunk * B * W)); /* [chunk*B, W] */
  k.hp = carve(&p, (size_t)(B * W));                        /* [B, W] (GH used) */
  k.h[0] = carve(&p, (size_t)(B * H));                      /* [B, H] state, double- */
  k.h[1] = carve(&p, (size_t)(B * H));                      /*   buffered */
  k.c = carve(&p, (size_t)(B * H));                         /* [B, H] */
  k.bias = carve(&p, (size_t)W);                            /* [W] */
  k.wp = align64(carve(&p, (size_t)G * lurn_pack_b_floats(H, H) + 16));
  const size_t pasz = lurn_pack_a_floats(B, H);
  k.pa[0] = align64(carve(&p, pasz + 16));                 /* packed state, double- */
  k.pa[1] = align64(carve(&p, pasz + 16));                 /*   buffered */
  size_t pxsz = 0;
  if (k.fused) {
    k.wxp = align64(carve(&p, (size_t)G * lurn_pack_b_floats(I, H) + 16));
    pxsz = lurn_pack_a_floats(B, I);
    k.px[0] = align64(carve(&p, pxsz + 16));               /* x_t packed, double- */
    k.px[1] = align64(carve(&p, pxsz + 16));               /*   buffered */
  }
  k.perm = slot_order(d, &p);
  k.off = compact_rows(d, k.perm, training, &p);
  k.nth = lurn_threads_now(lurn_rnn_threads(d));   /* fewer when cores are busy */
  k.gates = xp;
  if (training) {
    cache_views(d, cache, &k.gates, &k.hprev, &k.cprev, &k.tanhc);
  }

  /* Combined biases in the pointwise order. GRU keeps b_hn apart because it
   * sits inside r * (W_hn h + b_hn). */
  float *bias = k.bias;
  for (int64_t j = 0; j < W; j++) bias[j] = 0.0f;
  if (gru) {
    for (int64_t j = 0; j < 2 * H; j++)
      bias[j] = (b_ih ? b_ih[j] : 0.0f) + (b_hh ? b_hh[j] : 0.0f);
    for (int64_t j = 0; j < H; j++) {
      bias[2 * H + j] = b_hh ? b_hh[2 * H + j] : 0.0f;
      bias[3 * H + j] = b_ih ? b_ih[2 * H + j] : 0.0f;
    }
  } else {
    for (int64_t j = 0; j < GH; j++)
      bias[j] = (b_ih ? b_ih[j] : 0.0f) + (b_hh ? b_hh[j] : 0.0f);
  }
  /* the initial state into slot order */
  to_slots(k.perm, B, H, h0, k.h[0]);
  if (lstm) to_slots(k.perm, B, H, c0, k.c);
  /* the first GEMM's A: h0 packed (padding rows stay zero) */
  memset(k.pa[0], 0, sizeof(float) * pasz);
  memset(k.pa[1], 0, sizeof(float) * pasz);
  for (int64_t b = 0; b < B; b++)
    scatter_packed(lurn_ukr_get(), k.pa[0], H, b, 0, k.h[0] + b * H, H);
  if (k.fused && T > 0) pack_x_step(&k, 0, 0, (B + lurn_ukr_get()->mr - 1) / lurn_ukr_get()->mr, k.px[0]);

  int cur = 0;
  for (int64_t s0 = 0; s0 < T; s0 += chunk) {
    const int64_t s1 = s0 + chunk < T ? s0 + chunk : T;
    /* the times of steps s0..s1-1: [t_lo, t_lo + s1 - s0) (all of them when
     * chunk == T); gates row r of time-order row `row` is row - r0 */
    const int64_t t_lo = chunk == T ? 0 : (d->reverse ? T - s1 : s0);
    k.r0 = t_lo * B;
    /* unfused: gates[rows, GH] (row stride W) := X[rows, I] * W_ih^T */
    if (B > 0 && !k.fused)
      lurn_sgemm((s1 - s0) * B, GH, I, 1.0f, x + k.r0 * ldx, ldx, 1, w_ih, 1, I, 0.0f, k.gates,
                 W, 1);
    if (B > 0) {
#pragma omp parallel num_threads(k.nth) if (k.nth > 1)
      {
        int tid, nt;
        thread_id(&tid, &nt);
        fwd_steps(&k, s0, s1, cur, s0 == 0, tid, nt);
      }
    }
    cur ^= (int)((s1 - s0) & 1);
  }
  if (hn) from_slots(k.perm, B, H, k.h[cur], hn);
  if (cn) from_slots(k.perm, B, H, k.c, cn);
  return LURN_OK;
}

/* ---- backward ------------------------------------------------------------ */

typedef struct bwd_ctx {
  const lurn_rnn_desc *d;
  int64_t W, GHh;
  int nth;
  const int32_t *perm;       /* slot -> sample (slot_order), NULL: the same */
  const int64_t *off;        /* compact cache rows (compact_rows), NULL: time order */
  float *gates, *hprev, *cprev, *tanhc, *dh, *dc, *db, *zeros, *wp, *pa[2];
  const float *dy, *w_hh;
  int64_t lddy;
} bwd_ctx;

/* The pointwise backward of units [j0, j1) of every sample at step s (the
 * gate gradients also go into pa, the packed A of this step's dh GEMM), and
 * the bias column sums of those units' gate columns. */
static void bwd_units(const bwd_ctx *k, int64_t s, int64_t j0, int64_t j1, float *pa) {
  const lurn_rnn_desc *d = k->d;
  const lurn_ukr *u = lurn_ukr_get();
  const int64_t B = d->B, H = d->H, W = k->W, n = j1 - j0, nblk = W / H, GHh = k->GHh;
  for (int64_t b = 0; b < B; b++) {
    int valid;
    const int64_t smp = slot_sample(k->perm, b);
    const int64_t t = step_time(d, s, smp, &valid);
    const int64_t yrow = t * B + smp;                     /* dy: sample order */
    const int64_t row = k->off ? k->off[s] + b : yrow;     /* the cache's */
    float *g = k->gates + row * W + j0;
    if (!valid) {
      if (!k->off)
        for (int64_t q = 0; q < nblk; q++) memset(g + q * H, 0, sizeof(float) * (size_t)n);
      for (int64_t q = 0; q < GHh / H; q++) scatter_zeros(u, pa, GHh, b, q * H + j0, n);
      continue;
    }
    const float *dyr = (k->dy ? k->dy + yrow * k->lddy : k->zeros) + j0;
    float *dh = k->dh + b * H + j0;
    switch (d->cell) {
      case LURN_LSTM:
        lstm_bwd_row(H, n, g, k->tanhc + row * H + j0, k->cprev + row * H + j0, dyr, dh,
                     k->dc + b * H + j0);
        break;
      case LURN_GRU: gru_bwd_row(H, n, g, k->hprev + row * H + j0, dyr, dh); break;
      default: rnn_bwd_row(d->cell == LURN_RNN_RELU, n, g, dyr, dh); break;
    }
    for (int64_t q = 0; q < GHh / H; q++) scatter_packed(u, pa, GHh, b, q * H + j0, g + q * H, n);
    /* db[q*H + j] += dG_s[b, q*H + j]: b in order, whatever the thread count */
    for (int64_t q = 0; q < nblk; q++) {
      float *dbq = k->db + q * H + j0;
      const float *gq = g + q * H;
#pragma omp simd
      for (int64_t j = 0; j < n; j++) dbq[j] += gq[j];
    }
  }
}

static void bwd_steps(const bwd_ctx *k, int tid, int nt) {
  const lurn_rnn_desc *d = k->d;
  const lurn_ukr *u = lurn_ukr_get();
  const int64_t T = d->T, H = d->H, GHh = k->GHh;
  int64_t u0, u1;
  unit_range(H, tid, nt, &u0, &u1);
  const int64_t j0 = u0 * u->nr, j1 = u1 * u->nr < H ? u1 * u->nr : H;
  /* this thread's unit panels of W_hh [GHh, H] */
  lurn_pack_b(GHh, H, k->w_hh, H, 1, u0, u1, k->wp);
  for (int64_t s = T - 1; s >= 0; s--) {
    const int64_t nact = active_rows(d, k->perm, s);
    float *pa = k->pa[s & 1];
    if (j1 > j0) bwd_units(k, s, j0, j1, pa);
    if (nt > 1) {
#pragma omp barrier
    }
    /* dh[0:nact, my units] += dG_s[0:nact, 0:GHh] * W_hh[:, my units]; one
     * sample: a GEMV from its gate-gradient row (the first GHh columns of
     * its cache row; a padded step's row is zeros) */
    if (d->B == 1) {
      int valid;
      const int64_t t0 = step_time(d, s, 0, &valid);
      const int64_t row = k->off ? k->off[s] : t0;   /* (nact > 0: the row exists) */
      if (nact > 0)
        for (int64_t i = u0; i < u1; i++) {   /* odd steps backwards, as in forward */
          const int64_t jp = s & 1 ? u1 - 1 - i + u0 : i;
          lurn_gemv_packed(H, GHh, k->gates + row * k->W, k->wp, jp, jp + 1, 1.0f, k->dh);
        }
    } else if (s & 1) {
      for (int64_t jp = u1 - 1; jp >= u0; jp--)
        lurn_gemm_packed(nact, H, GHh, pa, k->wp, jp, jp + 1, 1.0f, k->dh, H);
    } else {
      lurn_gemm_packed(nact, H, GHh, pa, k->wp, u0, u1, 1.0f, k->dh, H);
    }
  }
}

/* Compact caches: rows of an [N, I] array in sample order (ld its row
 * stride) and in the cache's order ([N_valid, I]) for every running
 * sample's step: gather (to_compact: xc[off[s] + b] = x[t * B + sample(b)])
 * or scatter back (x[t * B + sample(b)] = xc[off[s] + b]). */
static void copy_compact(const bwd_ctx *k, float *x, int64_t ld, float *xc, int to_compact) {
  const lurn_rnn_desc *d = k->d;
  const int64_t B = d->B, I = d->I;
  const size_t bytes = sizeof(float) * (size_t)I;
  for (int64_t s = 0; s < d->T; s++) {
    const int64_t nact = k->off[s + 1] - k->off[s];
    for (int64_t b = 0; b < nact; b++) {
      int valid;
      const int64_t smp = slot_sample(k->perm, b);
      float *xr = x + (step_time(d, s, smp, &valid) * B + smp) * ld;
      float *cr = xc + (k->off[s] + b) * I;
      if (to_compact) memcpy(cr, xr, bytes);
      else memcpy(xr, cr, bytes);
    }
  }
}

int lurn_rnn_backward(const lurn_rnn_desc *d,
                      float *dx, int64_t lddx, float *dh0, float *dc0,
                      float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                      const float *dy, int64_t lddy, const float *dhn, const float *dcn,
                      const float *x, int64_t ldx, const float *w_ih, const float *w_hh,
                      float *cache, float *work, lurn_status *st) {
  int rc = lurn_rnn_check(d, st);
  if (rc) return rc;
  const char *nm = lurn_cell_name(d->cell);
  const int64_t T = d->T, B = d->B, I = d->I, H = d->H, N = T * B;
  const int lstm = d->cell == LURN_LSTM, gru = d->cell == LURN_GRU;
  const int64_t W = row_width(d), GH = lurn_cell_gates(d->cell) * H;
  if (!cache) return lurn_fail(st, LURN_EARG, "%s_backward: no cache (forward not in training mode)", nm);
  if (!work) return lurn_fail(st, LURN_EARG, "%s_backward: no workspace", nm);
  if (!w_hh || (dx && !w_ih))
    return lurn_fail(st, LURN_EARG, "%s_backward: w_ih or w_hh is NULL", nm);
  if (dw_ih && !x && N > 0) return lurn_fail(st, LURN_EARG, "%s_backward: x is NULL", nm);
  if ((dw_ih && x && (rc = check_stride(st, nm, "backward", "x", ldx, "I", I))) ||
      (dx && (rc = check_stride(st, nm, "backward", "dx", lddx, "I", I))) ||
      (dy && (rc = check_stride(st, nm, "backward", "dy", lddy, "H", H))))
    return rc;
  if (!lstm && (dc0 || dcn))
    return lurn_fail(st, LURN_EARG, "%s_backward: dc0/dcn given but only lstm has a cell state",
                     nm);

  /* W_hh's rows: GRU's dG_h = dr, dz, dn*r */
  bwd_ctx k = {.d = d, .W = W, .GHh = gru ? 3 * H : GH, .dy = dy, .lddy = lddy, .w_hh = w_hh};
  cache_views(d, cache, &k.gates, &k.hprev, &k.cprev, &k.tanhc);
  float *gates = k.gates, *hprev = k.hprev;
  float *p = work;
  float *dh = k.dh = carve(&p, (size_t)(B * H));              /* [B, H] */
  float *dc = k.dc = carve(&p, (size_t)(B * H));              /* [B, H] */
  float *db = k.db = carve(&p, (size_t)W);                    /* [W] column sums */
  k.zeros = carve(&p, (size_t)H);                             /* [H] */
  k.wp = align64(carve(&p, lurn_pack_b_floats(k.GHh, H) + 16));
  const size_t pasz = lurn_pack_a_floats(B, k.GHh);
  k.pa[0] = align64(carve(&p, pasz + 16));                   /* packed dG_s, double- */
  k.pa[1] = align64(carve(&p, pasz + 16));                   /*   buffered */
  memset(k.pa[0], 0, sizeof(float) * pasz);                  /* padding rows stay zero */
  memset(k.pa[1], 0, sizeof(float) * pasz);
  k.perm = slot_order(d, &p);
  k.off = compact_rows(d, k.perm, 1, &p);
  float *xc = NULL, *dxc = NULL;   /* compact x and dx rows [N_valid, I] */
  if (d->lengths && lurn_rnn_fused_input(d)) {
    xc = carve(&p, (size_t)N * (size_t)I);
    dxc = carve(&p, (size_t)N * (size_t)I);
  }
  k.nth = lurn_threads_now(lurn_rnn_threads(d));

  to_slots(k.perm, B, H, dhn, dh);   /* the final state's gradients into slot order */
  if (lstm) to_slots(k.perm, B, H, dcn, dc);
  memset(db, 0, sizeof(float) * (size_t)W);
  memset(k.zeros, 0, sizeof(float) * (size_t)H);
  if (T > 0 && B > 0) {
#pragma omp parallel num_threads(k.nth) if (k.nth > 1)
    {
      int tid, nt;
      thread_id(&tid, &nt);
      bwd_steps(&k, tid, nt);
    }
  }
  if (dh0) from_slots(k.perm, B, H, dh, dh0);
  if (dc0) from_slots(k.perm, B, H, dc, dc0);

  /* The gate gradients dG[N, W] are complete: the big GEMMs over all rows
   * (compact caches: over the N_valid rows of running samples, against x
   * gathered into the same order, dx scattered back after).
   * GRU rows are (dr, dz, dn*r, dn): W_hh's gradient takes columns 0..3H,
   * W_ih's takes r, z from 0..2H and n from 3H..4H. */
  const int64_t Nr = k.off ? k.off[T] : N;
  const float *xr = x;
  float *dxr = dx;
  int64_t ldxr = ldx, lddxr = lddx;
  if (k.off) {
    if (dw_ih) {
      copy_compact(&k, (float *)x, ldx, xc, 1);   /* read only: to_compact */
      xr = xc;
      ldxr = I;
    }
    if (dx) {
      dxr = dxc;
      lddxr = I;
    }
  }
  if (gru) {
    if (dx) {
      /* dX[N, I] := dG[:, 0:2H] * W_ih[0:2H, :] + dG[:, 3H:4H] * W_ih[2H:3H, :] */
      lurn_sgemm(Nr, I, 2 * H, 1.0f, gates, W, 1, w_ih, I, 1, 0.0f, dxr, lddxr, 1);
      lurn_sgemm(Nr, I, H, 1.0f, gates + 3 * H, W, 1, w_ih + 2 * H * I, I, 1, 1.0f, dxr, lddxr,
                 1);
    }
    if (dw_ih) {
      /* dW_ih[0:2H] += dG[:, 0:2H]^T * X;  dW_ih[2H:3H] += dG[:, 3H:4H]^T * X */
      lurn_sgemm(2 * H, I, Nr, 1.0f, gates, 1, W, xr, ldxr, 1, 1.0f, dw_ih, I, 1);
      lurn_sgemm(H, I, Nr, 1.0f, gates + 3 * H, 1, W, xr, ldxr, 1, 1.0f, dw_ih + 2 * H * I, I,
                 1);
    }
    /* dW_hh[3H, H] += dG[:, 0:3H]^T * H_prev */
    if (dw_hh) lurn_sgemm(3 * H, H, Nr, 1.0f, gates, 1, W, hprev, H, 1, 1.0f, dw_hh, H, 1);
    if (db_ih) {
      for (int64_t j = 0; j < 2 * H; j++) db_ih[j] += db[j];
      for (int64_t j = 0; j < H; j++) db_ih[2 * H + j] += db[3 * H + j];
    }
    if (db_hh)
      for (int64_t j = 0; j < 3 * H; j++) db_hh[j] += db[j];
  } else {
    /* dX[N, I] := dG[N, GH] * W_ih[GH, I] */
    if (dx) lurn_sgemm(Nr, I, GH, 1.0f, gates, W, 1, w_ih, I, 1, 0.0f, dxr, lddxr, 1);
    /* dW_ih[GH, I] += dG^T * X */
    if (dw_ih) lurn_sgemm(GH, I, Nr, 1.0f, gates, 1, W, xr, ldxr, 1, 1.0f, dw_ih, I, 1);
    /* dW_hh[GH, H] += dG^T * H_prev */
    if (dw_hh) lurn_sgemm(GH, H, Nr, 1.0f, gates, 1, W, hprev, H, 1, 1.0f, dw_hh, H, 1);
    for (int64_t j = 0; j < GH; j++) {
      if (db_ih) db_ih[j] += db[j];
      if (db_hh) db_hh[j] += db[j];
    }
  }
  if (k.off && dx) {
    /* dx back in sample order; the padded rows zero, as the zero gate
     * gradients of a time-order cache give them */
    for (int64_t r = 0; r < N; r++) memset(dx + r * lddx, 0, sizeof(float) * (size_t)I);
    copy_compact(&k, dx, lddx, dxc, 0);
  }
  return LURN_OK;
}
