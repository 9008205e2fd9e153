/*
 * test_rng.c — the random number generator: reproducibility, state
 * save/restore, distribution moments, permutations, multinomial sampling,
 * state validation, and independence from the thread count.
 */
#include <math.h>
#include <string.h>

#include "blas.h"
#include "check.h"
#include "rng.h"
#include "tensor.h"

static lurn_tensor mk(lurn_dtype dt, int ndim, const int64_t *size) {
  lurn_tensor t = {0};
  lurn_status st;
  if (lurn_tensor_new(&t, dt, ndim, size, &st)) fprintf(stderr, "mk: %s\n", st.msg);
  return t;
}
#define MK(dt, ...) mk(dt, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static void test_known_values(void) {
  /* splitmix64 from 0 gives 0xe220a8397b1dcdaf first (Vigna's reference) */
  lurn_rng r;
  lurn_rng_seed(&r, 0);
  CHECK(r.s[0] == 0xe220a8397b1dcdafULL);
  CHECK(r.s[1] == 0x6e789e6aa1b965f4ULL);
  CHECK(r.seed == 0 && r.has_spare == 0);
  /* xoshiro256** from state {1,2,3,4}: first outputs 11520, 0, 1509978240 */
  r.s[0] = 1; r.s[1] = 2; r.s[2] = 3; r.s[3] = 4;
  CHECK(lurn_rng_u64(&r) == 11520);
  CHECK(lurn_rng_u64(&r) == 0);
  CHECK(lurn_rng_u64(&r) == 1509978240);
  CHECK(lurn_rng_global() == lurn_rng_global());
}

static void test_same_seed(void) {
  lurn_rng a, b, c;
  lurn_rng_seed(&a, 42);
  lurn_rng_seed(&b, 42);
  lurn_rng_seed(&c, 43);
  int same = 1, diff = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = lurn_rng_u64(&a), y = lurn_rng_u64(&b), z = lurn_rng_u64(&c);
    same &= x == y;
    diff += x != z;
  }
  CHECK(same);
  CHECK(diff == 1000);
  lurn_rng_seed(&a, 42);
  lurn_rng_seed(&b, 42);
  same = 1;
  for (int i = 0; i < 1001; i++) same &= lurn_rng_normal(&a) == lurn_rng_normal(&b);
  CHECK(same);
}

static void test_state_roundtrip(void) {
  lurn_status st;
  lurn_rng r, s;
  lurn_rng_seed(&r, 77);
  lurn_rng_normal(&r);   /* leaves a spare behind */
  CHECK(r.has_spare == 1);
  unsigned char buf[LURN_RNG_STATE_BYTES];
  lurn_rng_get_state(&r, buf);
  /* little-endian layout: byte 0 is the low byte of s[0], seed at 32 */
  CHECK(buf[0] == (r.s[0] & 0xff) && buf[7] == (r.s[0] >> 56));
  CHECK(buf[32] == 77 && buf[40] == 1);
  memset(&s, 0xab, sizeof s);
  CHECK(lurn_rng_set_state(&s, buf, &st) == 0);
  CHECK(s.seed == 77 && s.has_spare == 1);
  int same = 1;
  for (int i = 0; i < 501; i++) same &= lurn_rng_normal(&r) == lurn_rng_normal(&s);
  for (int i = 0; i < 500; i++) same &= lurn_rng_u64(&r) == lurn_rng_u64(&s);
  CHECK(same);
  /* a fill after a restore continues identically */
  lurn_tensor t1 = MK(LURN_FLOAT32, 100), t2 = MK(LURN_FLOAT32, 100);
  lurn_rng_get_state(&r, buf);
  lurn_fill_normal(&t1, &r, 0, 1);
  lurn_rng_set_state(&r, buf, &st);
  lurn_fill_normal(&t2, &r, 0, 1);
  CHECK(memcmp(t1.storage->data, t2.storage->data, 400) == 0);
  lurn_tensor_release(&t1);
  lurn_tensor_release(&t2);
}

static void test_bad_state(void) {
  lurn_status st;
  lurn_rng r;
  lurn_rng_seed(&r, 5);
  lurn_rng keep = r;
  unsigned char buf[LURN_RNG_STATE_BYTES] = {0};
  CHECK(lurn_rng_set_state(&r, buf, &st) == LURN_EFORMAT);
  CHECK_MSG(st, "rng: invalid state");
  CHECK_MSG(st, "all zero");
  CHECK(memcmp(&r, &keep, sizeof r) == 0);   /* unchanged on failure */
  lurn_rng_get_state(&r, buf);
  buf[40] = 2;   /* has_spare must be 0 or 1 */
  CHECK(lurn_rng_set_state(&r, buf, &st) == LURN_EFORMAT);
  CHECK_MSG(st, "spare flag is 2");
  lurn_rng_get_state(&r, buf);
  buf[40] = 1;
  memset(buf + 48, 0xff, 8);   /* a NaN spare */
  CHECK(lurn_rng_set_state(&r, buf, &st) == LURN_EFORMAT);
  CHECK(memcmp(&r, &keep, sizeof r) == 0);
}

static void test_uniform_normal_moments(void) {
  lurn_rng r;
  lurn_rng_seed(&r, 2024);
  const int n = 100000;
  double s = 0, s2 = 0, lo = 1, hi = 0;
  for (int i = 0; i < n; i++) {
    double u = lurn_rng_uniform(&r);
    s += u;
    s2 += u * u;
    if (u < lo) lo = u;
    if (u > hi) hi = u;
  }
  double mean = s / n, var = s2 / n - mean * mean;
  /* standard errors: mean 0.0009, var 0.0003 — tolerances are ~5 sigma */
  CHECK_NEAR(mean, 0.5, 0.005);
  CHECK_NEAR(var, 1.0 / 12, 0.0015);
  CHECK(lo >= 0 && hi < 1);

  lurn_tensor t = MK(LURN_FLOAT32, 400, 250);
  lurn_fill_normal(&t, &r, 3, 2);
  s = s2 = 0;
  const float *p = lurn_f32(&t);
  for (int i = 0; i < n; i++) {
    s += p[i];
    s2 += (double)p[i] * p[i];
  }
  mean = s / n;
  double sd = sqrt(s2 / n - mean * mean);
  CHECK_NEAR(mean, 3, 0.03);   /* se 0.0063 */
  CHECK_NEAR(sd, 2, 0.03);     /* se 0.0045 */

  lurn_fill_uniform(&t, &r, -2, 6);
  s = 0;
  float mn = 1e9f, mx = -1e9f;
  for (int i = 0; i < n; i++) {
    s += p[i];
    if (p[i] < mn) mn = p[i];
    if (p[i] > mx) mx = p[i];
  }
  CHECK_NEAR(s / n, 2, 0.04);
  CHECK(mn >= -2 && mx < 6);

  /* a float32 fill of [0, 1) never rounds up to 1 even for the top doubles */
  lurn_tensor one = MK(LURN_FLOAT32, 1);
  lurn_rng top;
  lurn_rng_seed(&top, 1);
  int ok = 1;
  for (int i = 0; i < 2000; i++) {
    lurn_fill_uniform(&one, &top, 0, 1);
    ok &= lurn_f32(&one)[0] < 1.0f;
  }
  CHECK(ok);

  lurn_tensor bern = MK(LURN_INT32, 100000);
  lurn_status st;
  CHECK(lurn_fill_bernoulli(&bern, &r, 0.3, &st) == 0);
  int64_t ones = 0;
  for (int i = 0; i < n; i++) ones += lurn_i32(&bern)[i];
  CHECK_NEAR(ones / (double)n, 0.3, 0.007);
  CHECK(lurn_fill_bernoulli(&bern, &r, 1.5, &st) == LURN_EARG);
  CHECK_MSG(st, "bernoulli: p = 1.5 is not in [0, 1]");
  lurn_tensor_release(&bern);
  lurn_tensor_release(&one);
  lurn_tensor_release(&t);
}

/* Fills follow the view's row-major element order, whatever its strides. */
static void test_fill_order(void) {
  lurn_status st;
  lurn_rng r;
  lurn_tensor x = MK(LURN_FLOAT32, 3, 5), xt = {0};
  lurn_transpose(&xt, &x, 0, 1, &st);   /* [5,3] */
  lurn_rng_seed(&r, 8);
  lurn_fill_uniform(&xt, &r, 0, 1);
  lurn_rng_seed(&r, 8);
  int ok = 1;
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 3; j++)
      ok &= lurn_get(&xt, (int64_t[]){i, j}) == (float)lurn_rng_uniform(&r);
  CHECK(ok);
  lurn_tensor_release(&xt);
  lurn_tensor_release(&x);
}

static void test_below(void) {
  lurn_rng r;
  lurn_rng_seed(&r, 99);
  CHECK(lurn_rng_below(&r, 1) == 0);
  /* chi-square over 7 buckets, 70000 draws; 6 dof, p = 0.001 at 22.46 */
  int64_t count[7] = {0};
  for (int i = 0; i < 70000; i++) {
    uint64_t v = lurn_rng_below(&r, 7);
    if (v < 7) count[v]++;
    else count[0] = -1000000;
  }
  double chi = 0;
  for (int k = 0; k < 7; k++) chi += (count[k] - 10000.0) * (count[k] - 10000.0) / 10000.0;
  CHECK(chi < 22.46);
  /* a bound that makes naive modulo visibly biased: 3 * 2^62 */
  uint64_t n = 3ULL << 62;
  int64_t low = 0;
  for (int i = 0; i < 30000; i++) low += lurn_rng_below(&r, n) < (n / 3);
  CHECK_NEAR(low / 30000.0, 1.0 / 3, 0.02);   /* x % n would give 1/2 */
}

static void test_randperm(void) {
  lurn_status st;
  lurn_rng r;
  lurn_rng_seed(&r, 3);
  lurn_tensor p = {0};
  CHECK(lurn_randperm(&p, &r, 1000, &st) == 0 && p.dtype == LURN_INT32 && p.ndim == 1 && p.size[0] == 1000);
  static int seen[1000];
  memset(seen, 0, sizeof seen);
  int ok = 1, fixed = 0;
  for (int i = 0; i < 1000; i++) {
    int v = lurn_i32(&p)[i];
    if (v < 0 || v >= 1000 || seen[v]) ok = 0;
    else seen[v] = 1;
    fixed += v == i;
  }
  CHECK(ok);
  CHECK(fixed < 10);   /* expected 1 fixed point */
  lurn_tensor_release(&p);
  CHECK(lurn_randperm(&p, &r, 0, &st) == 0 && p.size[0] == 0);
  lurn_tensor_release(&p);
  CHECK(lurn_randperm(&p, &r, -1, &st) == LURN_EARG);
  CHECK_MSG(st, "randperm: n = -1");
  /* every position is uniform: where does 0 land over many perms of 4 */
  int64_t pos[4] = {0};
  for (int t = 0; t < 8000; t++) {
    lurn_randperm(&p, &r, 4, &st);
    for (int i = 0; i < 4; i++)
      if (lurn_i32(&p)[i] == 0) pos[i]++;
    lurn_tensor_release(&p);
  }
  for (int i = 0; i < 4; i++) CHECK_NEAR(pos[i] / 8000.0, 0.25, 0.025);
}

static void test_multinomial(void) {
  lurn_status st;
  lurn_rng r;
  lurn_rng_seed(&r, 17);
  lurn_tensor w = MK(LURN_FLOAT32, 4), o = {0};
  float wv[4] = {1, 2, 3, 0};
  memcpy(lurn_f32(&w), wv, sizeof wv);
  CHECK(lurn_multinomial(&o, &r, &w, 60000, 1, &st) == 0 && o.dtype == LURN_INT32 && o.ndim == 1);
  int64_t count[4] = {0};
  for (int i = 0; i < 60000; i++) count[lurn_i32(&o)[i]]++;
  CHECK_NEAR(count[0] / 60000.0, 1.0 / 6, 0.01);
  CHECK_NEAR(count[1] / 60000.0, 2.0 / 6, 0.01);
  CHECK_NEAR(count[2] / 60000.0, 3.0 / 6, 0.01);
  CHECK(count[3] == 0);
  lurn_tensor_release(&o);

  /* without replacement: [N,K] rows, every row distinct, zero weights never */
  lurn_tensor w2 = MK(LURN_FLOAT32, 5, 10);
  lurn_fill_uniform(&w2, &r, 0.1, 1);
  lurn_set(&w2, (int64_t[]){2, 4}, 0);
  CHECK(lurn_multinomial(&o, &r, &w2, 9, 0, &st) == 0 && o.ndim == 2 && o.size[0] == 5 && o.size[1] == 9);
  int ok = 1;
  for (int i = 0; i < 5; i++) {
    int seen[10] = {0};
    for (int j = 0; j < 9; j++) {
      int v = lurn_i32(&o)[i * 9 + j];
      if (v < 0 || v >= 10 || seen[v]) ok = 0;
      else seen[v] = 1;
    }
    if (i == 2 && seen[4]) ok = 0;
  }
  CHECK(ok);
  lurn_tensor_release(&o);
  CHECK(lurn_multinomial(&o, &r, &w2, 10, 0, &st) == LURN_EVALUE);
  CHECK_MSG(st, "row 2 of [5,10] has 9 non-zero weights");
  CHECK(lurn_multinomial(&o, &r, &w2, 11, 0, &st) == LURN_EARG);
  CHECK_MSG(st, "cannot draw 11 samples without replacement from 10 categories");
  /* without replacement, the first draw follows the weights */
  int64_t first[4] = {0};
  for (int t = 0; t < 12000; t++) {
    lurn_multinomial(&o, &r, &w, 2, 0, &st);
    first[lurn_i32(&o)[0]]++;
    if (lurn_i32(&o)[1] == 3 || lurn_i32(&o)[0] == lurn_i32(&o)[1]) first[3] += 1000000;
    lurn_tensor_release(&o);
  }
  CHECK_NEAR(first[2] / 12000.0, 0.5, 0.02);
  CHECK(first[3] == 0);
  /* bad weights */
  lurn_set(&w, (int64_t[]){1}, -1);
  CHECK(lurn_multinomial(&o, &r, &w, 1, 1, &st) == LURN_EVALUE);
  CHECK_MSG(st, "invalid weight -1");
  lurn_fill(&w, 0);
  CHECK(lurn_multinomial(&o, &r, &w, 1, 1, &st) == LURN_EVALUE);
  CHECK_MSG(st, "only zero weights");
  CHECK(o.storage == NULL);
  lurn_tensor_release(&w);
  lurn_tensor_release(&w2);
}

/* The numbers do not depend on LURN threads: fills are single-threaded. */
static void test_threads(void) {
  lurn_rng r;
  lurn_tensor a = MK(LURN_FLOAT32, 300, 400), b = MK(LURN_FLOAT32, 300, 400);
  lurn_tensor pa = {0}, pb = {0};
  lurn_status st;
  lurn_set_threads(1);
  lurn_rng_seed(&r, 55);
  lurn_fill_normal(&a, &r, 0, 1);
  lurn_randperm(&pa, &r, 5000, &st);
  lurn_set_threads(2);
  lurn_rng_seed(&r, 55);
  lurn_fill_normal(&b, &r, 0, 1);
  lurn_randperm(&pb, &r, 5000, &st);
  CHECK(memcmp(a.storage->data, b.storage->data, 300 * 400 * 4) == 0);
  CHECK(memcmp(pa.storage->data, pb.storage->data, 5000 * 4) == 0);
  lurn_tensor_release(&a);
  lurn_tensor_release(&b);
  lurn_tensor_release(&pa);
  lurn_tensor_release(&pb);
}

int main(void) {
  RUN(test_known_values);
  RUN(test_same_seed);
  RUN(test_state_roundtrip);
  RUN(test_bad_state);
  RUN(test_uniform_normal_moments);
  RUN(test_fill_order);
  RUN(test_below);
  RUN(test_randperm);
  RUN(test_multinomial);
  RUN(test_threads);
  return check_summary();
}
