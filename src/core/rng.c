/*
 * rng.c — lurn's random numbers (see rng.h).
 *
 * xoshiro256** (Blackman & Vigna) for 64 random bits, its four state words
 * seeded from one 64-bit seed through splitmix64 (so nearby seeds give
 * unrelated streams and the state is never all zero). Uniform doubles take
 * the top 53 bits. Normals use Box-Muller and keep the second value (the
 * "spare") in the state, so a saved state resumes mid-pair exactly.
 *
 * Fills walk the tensor in row-major element order in one thread: the
 * numbers never depend on the thread count.
 *
 * Saved state (LURN_RNG_STATE_BYTES = 56 bytes, little-endian):
 *   s[0..3] (4 x u64) | seed (u64) | has_spare (u64: 0 or 1) | spare (IEEE-754 double bits)
 */
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

lurn_rng *lurn_rng_global(void) {
  static lurn_rng g;
  static int seeded = 0;
  if (!seeded) {
    lurn_rng_seed(&g, 0);
    seeded = 1;
  }
  return &g;
}

void lurn_rng_seed(lurn_rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
  r->seed = seed;
  r->has_spare = 0;
  r->spare = 0.0;
}

uint64_t lurn_rng_u64(lurn_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double lurn_rng_uniform(lurn_rng *r) {
  return (double)(lurn_rng_u64(r) >> 11) * 0x1.0p-53;
}

double lurn_rng_normal(lurn_rng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  /* u1 in (0, 1] keeps log() finite */
  double u1 = 1.0 - lurn_rng_uniform(r);
  double u2 = lurn_rng_uniform(r);
  double rad = sqrt(-2.0 * log(u1));
  double th = 6.283185307179586476925 * u2;
  r->spare = rad * sin(th);
  r->has_spare = 1;
  return rad * cos(th);
}

/* Lemire's multiply-shift with rejection: the high word of x*n is uniform in
 * [0, n) once the low words that would make some results more likely
 * (fewer than 2^64 mod n of them) are rejected. */
uint64_t lurn_rng_below(lurn_rng *r, uint64_t n) {
  if (n == 0) return 0;
  unsigned __int128 m = (unsigned __int128)lurn_rng_u64(r) * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    uint64_t thresh = (0 - n) % n;
    while (lo < thresh) {
      m = (unsigned __int128)lurn_rng_u64(r) * n;
      lo = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

/* ---- fills ----------------------------------------------------------------- */

/* Calls f(ctx, element pointer) for each element of t in row-major order. */
typedef void (*elem_fn)(void *ctx, lurn_tensor *t, void *p);

static void for_each(lurn_tensor *t, elem_fn f, void *ctx) {
  if (!t->storage) return;
  int64_t n = lurn_numel(t);
  if (n == 0) return;
  int64_t idx[LURN_MAXDIM] = {0};
  char *p = (char *)t->storage->data + t->offset * 4;
  for (int64_t i = 0; i < n; i++) {
    f(ctx, t, p);
    for (int d = t->ndim - 1; d >= 0; d--) {
      p += t->stride[d] * 4;
      if (++idx[d] < t->size[d]) break;
      p -= t->stride[d] * t->size[d] * 4;
      idx[d] = 0;
    }
  }
}

static int32_t to_i32(double v) {
  if (v != v) return 0;
  if (v >= 2147483647.0) return INT32_MAX;
  if (v <= -2147483648.0) return INT32_MIN;
  return (int32_t)v;
}

static void put(lurn_tensor *t, void *p, double v) {
  if (t->dtype == LURN_INT32) *(int32_t *)p = to_i32(v);
  else *(float *)p = (float)v;
}

typedef struct { lurn_rng *r; double a, b; } fill_ctx;

static void el_uniform(void *ctx, lurn_tensor *t, void *p) {
  fill_ctx *c = ctx;
  double v = c->a + (c->b - c->a) * lurn_rng_uniform(c->r);
  if (t->dtype == LURN_FLOAT32) {
    /* rounding to float can reach hi itself; keep the interval half-open */
    float f = (float)v;
    if (f >= (float)c->b && c->b > c->a) f = nextafterf((float)c->b, (float)c->a);
    *(float *)p = f;
  } else {
    *(int32_t *)p = to_i32(floor(v));
  }
}

static void el_normal(void *ctx, lurn_tensor *t, void *p) {
  fill_ctx *c = ctx;
  put(t, p, c->a + c->b * lurn_rng_normal(c->r));
}

static void el_bernoulli(void *ctx, lurn_tensor *t, void *p) {
  fill_ctx *c = ctx;
  put(t, p, lurn_rng_uniform(c->r) < c->a ? 1.0 : 0.0);
}

void lurn_fill_uniform(lurn_tensor *t, lurn_rng *r, double lo, double hi) {
  fill_ctx c = {r, lo, hi};
  for_each(t, el_uniform, &c);
}

void lurn_fill_normal(lurn_tensor *t, lurn_rng *r, double mean, double std) {
  fill_ctx c = {r, mean, std};
  for_each(t, el_normal, &c);
}

int lurn_fill_bernoulli(lurn_tensor *t, lurn_rng *r, double p, lurn_status *st) {
  if (!(p >= 0.0 && p <= 1.0))
    return lurn_fail(st, LURN_EARG, "bernoulli: p = %g is not in [0, 1]", p);
  if (!t->storage) return lurn_fail(st, LURN_EARG, "bernoulli: tensor has been released");
  fill_ctx c = {r, p, 0};
  for_each(t, el_bernoulli, &c);
  return LURN_OK;
}

/* ---- permutations and sampling --------------------------------------------- */

int lurn_randperm(lurn_tensor *out, lurn_rng *r, int64_t n, lurn_status *st) {
  if (n < 0 || n > INT32_MAX)
    return lurn_fail(st, LURN_EARG, "randperm: n = %lld is not in [0, %d]", (long long)n, INT32_MAX);
  lurn_tensor p = {0};
  int rc = lurn_tensor_new(&p, LURN_INT32, 1, &n, st);
  if (rc) return rc;
  int32_t *v = lurn_i32(&p);   // [n]
  for (int64_t i = 0; i < n; i++) v[i] = (int32_t)i;
  /* Fisher-Yates: v[i] swaps with a uniform pick among v[0..i] */
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)lurn_rng_below(r, (uint64_t)i + 1);
    int32_t tmp = v[i];
    v[i] = v[j];
    v[j] = tmp;
  }
  lurn_tensor_release(out);
  *out = p;
  return LURN_OK;
}

int lurn_multinomial(lurn_tensor *out, lurn_rng *r, const lurn_tensor *probs, int64_t n,
                     int replacement, lurn_status *st) {
  char b[160];
  if (!probs->storage) return lurn_fail(st, LURN_EARG, "multinomial: tensor has been released");
  if (probs->ndim != 1 && probs->ndim != 2)
    return lurn_fail(st, LURN_ESHAPE, "multinomial: expected probs [K] or [N,K], got %s",
                     lurn_tensor_shape_str(probs, b, sizeof b));
  if (probs->dtype != LURN_FLOAT32)
    return lurn_fail(st, LURN_ESHAPE, "multinomial: expected float32 probs, got %s",
                     lurn_dtype_name(probs->dtype));
  int64_t rows = probs->ndim == 2 ? probs->size[0] : 1;
  int64_t K = probs->size[probs->ndim - 1];
  int64_t rstride = probs->ndim == 2 ? probs->stride[0] : 0, kstride = probs->stride[probs->ndim - 1];
  if (K == 0 || K > INT32_MAX)
    return lurn_fail(st, LURN_ESHAPE, "multinomial: probs %s has %lld categories",
                     lurn_tensor_shape_str(probs, b, sizeof b), (long long)K);
  if (n < 0)
    return lurn_fail(st, LURN_EARG, "multinomial: negative sample count %lld", (long long)n);
  if (!replacement && n > K)
    return lurn_fail(st, LURN_EARG,
                     "multinomial: cannot draw %lld samples without replacement from %lld categories",
                     (long long)n, (long long)K);
  const float *pp = lurn_f32(probs);   // [rows, K] with strides rstride, kstride
  for (int64_t i = 0; i < rows; i++) {
    double total = 0;
    int64_t nonzero = 0;
    for (int64_t k = 0; k < K; k++) {
      float w = pp[i * rstride + k * kstride];
      if (!(w >= 0.0f) || isinf(w))
        return lurn_fail(st, LURN_EVALUE, "multinomial: row %lld of %s has an invalid weight %g at %lld",
                         (long long)i + 1, lurn_tensor_shape_str(probs, b, sizeof b), (double)w,
                         (long long)k + 1);   // 1-based positions
      total += w;
      nonzero += w > 0.0f;
    }
    if (total <= 0.0)
      return lurn_fail(st, LURN_EVALUE, "multinomial: row %lld of %s has only zero weights",
                       (long long)i + 1, lurn_tensor_shape_str(probs, b, sizeof b));
    if (!replacement && n > nonzero)
      return lurn_fail(st, LURN_EVALUE,
                       "multinomial: cannot draw %lld samples without replacement: row %lld of %s has %lld non-zero weights",
                       (long long)n, (long long)i, lurn_tensor_shape_str(probs, b, sizeof b), (long long)nonzero);
  }
  int64_t osize[2] = {rows, n};
  lurn_tensor o = {0};
  int rc = probs->ndim == 2 ? lurn_tensor_new(&o, LURN_INT32, 2, osize, st)
                            : lurn_tensor_new(&o, LURN_INT32, 1, &n, st);
  if (rc) return rc;
  double *w = malloc(sizeof(double) * (size_t)K);   // [K] cumulative (or remaining) weights
  if (!w) {
    lurn_tensor_release(&o);
    return lurn_fail(st, LURN_ENOMEM, "multinomial: out of memory");
  }
  int32_t *res = lurn_i32(&o);   // [rows, n]
  for (int64_t i = 0; i < rows; i++) {
    const float *row = pp + i * rstride;
    if (replacement) {
      /* inverse CDF by binary search: the first k with cdf[k] > u */
      double acc = 0;
      int64_t last = 0;
      for (int64_t k = 0; k < K; k++) {
        acc += row[k * kstride];
        w[k] = acc;
        if (row[k * kstride] > 0.0f) last = k;
      }
      for (int64_t j = 0; j < n; j++) {
        double u = lurn_rng_uniform(r) * acc;
        int64_t lo = 0, hi = K;
        while (lo < hi) {
          int64_t mid = lo + (hi - lo) / 2;
          if (w[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        res[i * n + j] = (int32_t)(lo < K ? lo : last);   /* u rounded up to the total */
      }
    } else {
      /* draw one at a time from the remaining weights, then remove it */
      double total = 0;
      for (int64_t k = 0; k < K; k++) total += (w[k] = row[k * kstride]);
      for (int64_t j = 0; j < n; j++) {
        double u = lurn_rng_uniform(r) * total, acc = 0;
        int64_t pick = -1;
        for (int64_t k = 0; k < K; k++) {
          if (w[k] <= 0) continue;
          pick = k;
          acc += w[k];
          if (acc > u) break;
        }
        res[i * n + j] = (int32_t)pick;
        total -= w[pick];
        w[pick] = 0;
        /* recompute the total now and then so subtraction error cannot drift */
        if ((j & 63) == 63) {
          total = 0;
          for (int64_t k = 0; k < K; k++) total += w[k];
        }
      }
    }
  }
  free(w);
  lurn_tensor_release(out);
  *out = o;
  return LURN_OK;
}

/* ---- state ------------------------------------------------------------------ */

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

void lurn_rng_get_state(const lurn_rng *r, unsigned char out[LURN_RNG_STATE_BYTES]) {
  for (int i = 0; i < 4; i++) put_u64(out + 8 * i, r->s[i]);
  put_u64(out + 32, r->seed);
  put_u64(out + 40, r->has_spare ? 1 : 0);
  uint64_t bits;
  double sp = r->has_spare ? r->spare : 0.0;
  memcpy(&bits, &sp, 8);
  put_u64(out + 48, bits);
}

int lurn_rng_set_state(lurn_rng *r, const unsigned char in[LURN_RNG_STATE_BYTES],
                       lurn_status *st) {
  uint64_t s[4];
  for (int i = 0; i < 4; i++) s[i] = get_u64(in + 8 * i);
  if ((s[0] | s[1] | s[2] | s[3]) == 0)
    return lurn_fail(st, LURN_EFORMAT, "rng: invalid state: the xoshiro256** words are all zero");
  uint64_t has_spare = get_u64(in + 40), bits = get_u64(in + 48);
  if (has_spare > 1)
    return lurn_fail(st, LURN_EFORMAT, "rng: invalid state: spare flag is %llu, expected 0 or 1",
                     (unsigned long long)has_spare);
  double spare;
  memcpy(&spare, &bits, 8);
  if (has_spare && !isfinite(spare))
    return lurn_fail(st, LURN_EFORMAT, "rng: invalid state: the spare normal is not finite");
  memcpy(r->s, s, sizeof s);
  r->seed = get_u64(in + 32);
  r->has_spare = (int)has_spare;
  r->spare = has_spare ? spare : 0.0;
  return LURN_OK;
}
