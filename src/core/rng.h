/*
 * rng.h — lurn's random numbers: a seedable generator in C.
 *
 * xoshiro256** for the bits, 53-bit doubles for uniforms, Box-Muller for
 * normals (the spare is kept in the state). Everything is drawn in one
 * thread in a fixed order, so the same seed gives the same numbers on every
 * run and at every thread count. The whole state is a plain struct that can
 * be copied out and restored (checkpoints save it).
 */
#ifndef LURN_RNG_H
#define LURN_RNG_H

#include <stdint.h>

#include "status.h"
#include "tensor.h"

typedef struct lurn_rng {
  uint64_t s[4];
  uint64_t seed;       /* the seed it was last seeded with */
  int has_spare;       /* Box-Muller keeps its second value */
  double spare;
} lurn_rng;

/* The generator used when none is given (seeded from 0 until lurn_rng_seed). */
lurn_rng *lurn_rng_global(void);

void lurn_rng_seed(lurn_rng *r, uint64_t seed);
uint64_t lurn_rng_u64(lurn_rng *r);
double lurn_rng_uniform(lurn_rng *r);            /* [0, 1) */
double lurn_rng_normal(lurn_rng *r);             /* N(0, 1) */
uint64_t lurn_rng_below(lurn_rng *r, uint64_t n); /* uniform in [0, n), unbiased */

/* Fill a tensor (any strides, either dtype) in its row-major element order. */
void lurn_fill_uniform(lurn_tensor *t, lurn_rng *r, double lo, double hi);
void lurn_fill_normal(lurn_tensor *t, lurn_rng *r, double mean, double std);
int lurn_fill_bernoulli(lurn_tensor *t, lurn_rng *r, double p, lurn_status *st);
/* out := a random permutation of 0..n-1 (int32). */
int lurn_randperm(lurn_tensor *out, lurn_rng *r, int64_t n, lurn_status *st);
/* probs: [K] or [N, K] non-negative weights (need not sum to 1). out: int32
 * [n] or [N, n] sampled indices; without replacement needs n <= K and
 * enough non-zero weights. */
int lurn_multinomial(lurn_tensor *out, lurn_rng *r, const lurn_tensor *probs, int64_t n,
                     int replacement, lurn_status *st);

/* The state as bytes, for saving: LURN_RNG_STATE_BYTES bytes, little-endian. */
#define LURN_RNG_STATE_BYTES 56
void lurn_rng_get_state(const lurn_rng *r, unsigned char out[LURN_RNG_STATE_BYTES]);
int lurn_rng_set_state(lurn_rng *r, const unsigned char in[LURN_RNG_STATE_BYTES],
                       lurn_status *st);

#endif
