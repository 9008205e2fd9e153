/*
 * test_rnn.c — the recurrent kernels (src/core/rnn.c) against plain loops.
 *
 *   forward   every cell, with and without (unsorted) lengths, reverse,
 *             h0/c0, biases, strided x/y, compared with a naive per-step
 *             reference written below in double precision.
 *   backward  every input, initial state and parameter of every cell and
 *             option, against central finite differences of that double
 *             reference (eps 1e-6, so the check measures the kernel, not
 *             the float noise of a float forward); plus a coarser check
 *             against finite differences of the kernel's own float forward.
 *             The loss is a random projection of y, hn and cn.
 *   also      accumulation (+=) into the parameter gradients, untouched
 *             gaps of strided rows, inference == training forward, a T=2000
 *             run with large weights (finite everywhere), repeatability,
 *             NaN and Inf in inputs and weights (they reach the outputs
 *             and gradients as exact arithmetic says), and the error
 *             messages.
 */
#define _POSIX_C_SOURCE 200809L   /* setenv */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "check.h"
#include "rnn.h"

/* ---- a tiny deterministic RNG (the test must not depend on rng.c) ------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void) {  /* uniform [0, 1) */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}
static double srand1(double a) { return (2.0 * urand() - 1.0) * a; }  /* U(-a, a) */

static float *falloc(size_t n) {
  float *p = aligned_alloc(64, ((n ? n : 1) * sizeof(float) + 63) / 64 * 64);
  memset(p, 0, (n ? n : 1) * sizeof(float));
  return p;
}

static double dsig(double x) { return 1.0 / (1.0 + exp(-x)); }

/* ---- the problem of one test case, in double ------------------------------ */

typedef struct {
  lurn_cell cell;
  int T, B, I, H;
  int reverse, use_len, use_h0, use_bias;
  int32_t len[64];
  /* parameters and inputs (double masters) */
  double *x, *h0, *c0, *wih, *whh, *bih, *bhh;
  /* loss projections */
  double *py, *ph, *pc;
} problem;

static int gates_of(lurn_cell c) { return lurn_cell_gates(c); }

static void problem_init(problem *p, lurn_cell cell, int T, int B, int I, int H, int reverse,
                         int use_len, int use_h0, int use_bias, double wscale) {
  memset(p, 0, sizeof *p);
  p->cell = cell; p->T = T; p->B = B; p->I = I; p->H = H;
  p->reverse = reverse; p->use_len = use_len; p->use_h0 = use_h0; p->use_bias = use_bias;
  int GH = gates_of(cell) * H;
  p->x = calloc((size_t)(T * B * I), sizeof(double));
  p->h0 = calloc((size_t)(B * H), sizeof(double));
  p->c0 = calloc((size_t)(B * H), sizeof(double));
  p->wih = calloc((size_t)(GH * I), sizeof(double));
  p->whh = calloc((size_t)(GH * H), sizeof(double));
  p->bih = calloc((size_t)GH, sizeof(double));
  p->bhh = calloc((size_t)GH, sizeof(double));
  p->py = calloc((size_t)(T * B * H), sizeof(double));
  p->ph = calloc((size_t)(B * H), sizeof(double));
  p->pc = calloc((size_t)(B * H), sizeof(double));
  for (int k = 0; k < T * B * I; k++) p->x[k] = srand1(1.0);
  for (int k = 0; k < GH * I; k++) p->wih[k] = srand1(wscale);
  for (int k = 0; k < GH * H; k++) p->whh[k] = srand1(wscale);
  if (use_bias)
    for (int k = 0; k < GH; k++) { p->bih[k] = srand1(0.5); p->bhh[k] = srand1(0.5); }
  if (use_h0)
    for (int k = 0; k < B * H; k++) { p->h0[k] = srand1(0.8); p->c0[k] = srand1(0.8); }
  for (int k = 0; k < T * B * H; k++) p->py[k] = srand1(1.0);
  for (int k = 0; k < B * H; k++) { p->ph[k] = srand1(1.0); p->pc[k] = srand1(1.0); }
  /* unsorted lengths that include 0 and T where the batch allows */
  for (int b = 0; b < B; b++) p->len[b] = T;
  if (use_len) {
    for (int b = 0; b < B; b++) p->len[b] = (int32_t)((b * 7 + 3) % (T + 1));
    if (B > 1) p->len[1] = T;
    if (B > 2) p->len[2] = 0;
  }
}

static void problem_free(problem *p) {
  free(p->x); free(p->h0); free(p->c0); free(p->wih); free(p->whh); free(p->bih);
  free(p->bhh); free(p->py); free(p->ph); free(p->pc);
}

/* The naive reference: one sample, one step at a time, PyTorch's equations. */
static void ref_forward(const problem *p, double *y, double *hn, double *cn) {
  const int T = p->T, B = p->B, I = p->I, H = p->H, GH = gates_of(p->cell) * H;
  double *h = malloc(sizeof(double) * (size_t)H), *c = malloc(sizeof(double) * (size_t)H);
  double *ai = malloc(sizeof(double) * (size_t)GH), *ah = malloc(sizeof(double) * (size_t)GH);
  double *hnew = malloc(sizeof(double) * (size_t)H);
  for (int k = 0; k < T * B * H; k++) y[k] = 0.0;
  for (int b = 0; b < B; b++) {
    for (int j = 0; j < H; j++) {
      h[j] = p->use_h0 ? p->h0[b * H + j] : 0.0;
      c[j] = p->use_h0 ? p->c0[b * H + j] : 0.0;
    }
    int len = p->len[b];
    for (int k = 0; k < len; k++) {
      int t = p->reverse ? len - 1 - k : k;
      const double *xt = p->x + (t * B + b) * I;
      for (int g = 0; g < GH; g++) {
        double si = p->bih[g], sh = p->bhh[g];
        for (int q = 0; q < I; q++) si += p->wih[g * I + q] * xt[q];
        for (int q = 0; q < H; q++) sh += p->whh[g * H + q] * h[q];
        ai[g] = si;
        ah[g] = sh;
      }
      for (int j = 0; j < H; j++) {
        if (p->cell == LURN_RNN_TANH) {
          hnew[j] = tanh(ai[j] + ah[j]);
        } else if (p->cell == LURN_RNN_RELU) {
          double a = ai[j] + ah[j];
          hnew[j] = a < 0 ? 0 : a;   /* relu(NaN) = NaN, as in PyTorch */
        } else if (p->cell == LURN_LSTM) {
          double i = dsig(ai[j] + ah[j]), f = dsig(ai[H + j] + ah[H + j]);
          double g = tanh(ai[2 * H + j] + ah[2 * H + j]), o = dsig(ai[3 * H + j] + ah[3 * H + j]);
          c[j] = f * c[j] + i * g;
          hnew[j] = o * tanh(c[j]);
        } else {
          double r = dsig(ai[j] + ah[j]), z = dsig(ai[H + j] + ah[H + j]);
          double n = tanh(ai[2 * H + j] + r * ah[2 * H + j]);
          hnew[j] = (1 - z) * n + z * h[j];
        }
      }
      for (int j = 0; j < H; j++) {
        h[j] = hnew[j];
        y[(t * B + b) * H + j] = h[j];
      }
    }
    for (int j = 0; j < H; j++) {
      hn[b * H + j] = h[j];
      cn[b * H + j] = c[j];
    }
  }
  free(h); free(c); free(ai); free(ah); free(hnew);
}

static double ref_loss(const problem *p) {
  const int T = p->T, B = p->B, H = p->H;
  double *y = malloc(sizeof(double) * (size_t)(T * B * H + 1));
  double *hn = malloc(sizeof(double) * (size_t)(B * H)), *cn = malloc(sizeof(double) * (size_t)(B * H));
  ref_forward(p, y, hn, cn);
  double L = 0;
  for (int k = 0; k < T * B * H; k++) L += p->py[k] * y[k];
  for (int k = 0; k < B * H; k++) {
    L += p->ph[k] * hn[k];
    if (p->cell == LURN_LSTM) L += p->pc[k] * cn[k];
  }
  free(y); free(hn); free(cn);
  return L;
}

/* ---- running the kernel on a problem ------------------------------------- */

/* Float copies in the kernel's layouts; x/y/dx/dy rows are strided (with
 * sentinel-filled gaps) when `pad` > 0. */
typedef struct {
  lurn_rnn_desc d;
  int64_t ldx, ldy;
  float *x, *h0, *c0, *wih, *whh, *bih, *bhh;
  float *y, *hn, *cn;
  float *dx, *dh0, *dc0, *dwih, *dwhh, *dbih, *dbhh, *dy, *dhn, *dcn;
  float *cache, *work, *bwork;
} run;

#define SENTINEL 777.0f
/* Accumulators start here to check +=; a small power of two keeps the
 * float sum exact enough to recover the gradient. */
#define PRESET (1.0f / 1024.0f)

static void to_float(float *dst, const double *src, int n) {
  for (int k = 0; k < n; k++) dst[k] = (float)src[k];
}

static void run_init(run *r, const problem *p, int pad) {
  memset(r, 0, sizeof *r);
  const int T = p->T, B = p->B, I = p->I, H = p->H, GH = gates_of(p->cell) * H;
  r->d = (lurn_rnn_desc){p->cell, T, B, I, H, p->use_len ? p->len : NULL, p->reverse};
  r->ldx = I + pad;
  r->ldy = H + (pad ? pad + 1 : 0);
  size_t nx = (size_t)(T * B) * (size_t)r->ldx, ny = (size_t)(T * B) * (size_t)r->ldy;
  r->x = falloc(nx); r->dx = falloc(nx);
  r->y = falloc(ny); r->dy = falloc(ny);
  for (size_t k = 0; k < nx; k++) r->x[k] = r->dx[k] = SENTINEL;
  for (size_t k = 0; k < ny; k++) r->y[k] = r->dy[k] = SENTINEL;
  for (int row = 0; row < T * B; row++) {
    to_float(r->x + row * r->ldx, p->x + row * I, I);
    to_float(r->dy + row * r->ldy, p->py + row * H, H);
  }
  r->h0 = falloc((size_t)(B * H)); r->c0 = falloc((size_t)(B * H));
  to_float(r->h0, p->h0, B * H); to_float(r->c0, p->c0, B * H);
  r->wih = falloc((size_t)(GH * I)); to_float(r->wih, p->wih, GH * I);
  r->whh = falloc((size_t)(GH * H)); to_float(r->whh, p->whh, GH * H);
  r->bih = falloc((size_t)GH); to_float(r->bih, p->bih, GH);
  r->bhh = falloc((size_t)GH); to_float(r->bhh, p->bhh, GH);
  r->hn = falloc((size_t)(B * H)); r->cn = falloc((size_t)(B * H));
  r->dh0 = falloc((size_t)(B * H)); r->dc0 = falloc((size_t)(B * H));
  r->dhn = falloc((size_t)(B * H)); r->dcn = falloc((size_t)(B * H));
  to_float(r->dhn, p->ph, B * H); to_float(r->dcn, p->pc, B * H);
  r->dwih = falloc((size_t)(GH * I)); r->dwhh = falloc((size_t)(GH * H));
  r->dbih = falloc((size_t)GH); r->dbhh = falloc((size_t)GH);
  r->cache = falloc(lurn_rnn_cache_floats(&r->d));
  r->work = falloc(lurn_rnn_work_floats(&r->d, 0));   /* the larger of the two */
  r->bwork = falloc(lurn_rnn_bwd_work_floats(&r->d));
}

static void run_free(run *r) {
  float *ps[] = {r->x, r->h0, r->c0, r->wih, r->whh, r->bih, r->bhh, r->y, r->hn, r->cn,
                 r->dx, r->dh0, r->dc0, r->dwih, r->dwhh, r->dbih, r->dbhh, r->dy, r->dhn,
                 r->dcn, r->cache, r->work, r->bwork};
  for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) free(ps[k]);
}

static int run_forward(run *r, const problem *p, int training, lurn_status *st) {
  int lstm = p->cell == LURN_LSTM;
  return lurn_rnn_forward(&r->d, r->y, r->ldy, r->hn, lstm ? r->cn : NULL, r->x, r->ldx,
                          p->use_h0 ? r->h0 : NULL, p->use_h0 && lstm ? r->c0 : NULL,
                          r->wih, r->whh, p->use_bias ? r->bih : NULL,
                          p->use_bias ? r->bhh : NULL, training ? r->cache : NULL, r->work, st);
}

static int run_backward(run *r, const problem *p, lurn_status *st) {
  int lstm = p->cell == LURN_LSTM;
  return lurn_rnn_backward(&r->d, r->dx, r->ldx, r->dh0, lstm ? r->dc0 : NULL, r->dwih,
                           r->dwhh, p->use_bias ? r->dbih : NULL, p->use_bias ? r->dbhh : NULL,
                           r->dy, r->ldy, r->dhn, lstm ? r->dcn : NULL, r->x, r->ldx, r->wih,
                           r->whh, r->cache, r->bwork, st);
}

static double kernel_loss(run *r, const problem *p) {
  lurn_status st = {0};
  run_forward(r, p, 0, &st);
  const int T = p->T, B = p->B, H = p->H;
  double L = 0;
  for (int row = 0; row < T * B; row++)
    for (int j = 0; j < H; j++) L += p->py[row * H + j] * (double)r->y[row * r->ldy + j];
  for (int k = 0; k < B * H; k++) {
    L += p->ph[k] * (double)r->hn[k];
    if (p->cell == LURN_LSTM) L += p->pc[k] * (double)r->cn[k];
  }
  return L;
}

static const char *case_name(const problem *p) {
  static char buf[128];
  snprintf(buf, sizeof buf, "%s T=%d B=%d I=%d H=%d%s%s%s%s", lurn_cell_name(p->cell), p->T,
           p->B, p->I, p->H, p->reverse ? " reverse" : "", p->use_len ? " lengths" : "",
           p->use_h0 ? " h0" : "", p->use_bias ? " bias" : "");
  return buf;
}

/* ---- forward vs reference ------------------------------------------------- */

static double forward_maxdiff(const problem *p, int pad, int *sentinel_ok, int *modes_equal) {
  const int T = p->T, B = p->B, H = p->H;
  run r;
  run_init(&r, p, pad);
  lurn_status st = {0};
  double *y = malloc(sizeof(double) * (size_t)(T * B * H + 1));
  double *hn = malloc(sizeof(double) * (size_t)(B * H)), *cn = malloc(sizeof(double) * (size_t)(B * H));
  ref_forward(p, y, hn, cn);
  int rc = run_forward(&r, p, 1, &st);
  CHECK(rc == LURN_OK);
  double m = 0;
  *sentinel_ok = 1;
  for (int row = 0; row < T * B; row++) {
    for (int j = 0; j < H; j++) m = fmax(m, fabs(r.y[row * r.ldy + j] - y[row * H + j]));
    for (int j = H; j < r.ldy; j++) *sentinel_ok &= r.y[row * r.ldy + j] == SENTINEL;
  }
  for (int k = 0; k < B * H; k++) {
    m = fmax(m, fabs(r.hn[k] - hn[k]));
    if (p->cell == LURN_LSTM) m = fmax(m, fabs(r.cn[k] - cn[k]));
  }
  /* inference mode must give the same numbers, bit for bit */
  size_t ny = (size_t)(T * B) * (size_t)r.ldy;
  float *y1 = falloc(ny), *h1 = falloc((size_t)(B * H));
  memcpy(y1, r.y, ny * sizeof(float));
  memcpy(h1, r.hn, (size_t)(B * H) * sizeof(float));
  rc = run_forward(&r, p, 0, &st);
  CHECK(rc == LURN_OK);
  *modes_equal = !memcmp(y1, r.y, ny * sizeof(float)) &&
                 !memcmp(h1, r.hn, (size_t)(B * H) * sizeof(float));
  free(y1); free(h1);
  free(y); free(hn); free(cn);
  run_free(&r);
  return m;
}

static void test_forward_reference(void) {
  double worst = 0;
  for (int cell = 0; cell < 4; cell++)
    for (int opt = 0; opt < 16; opt++) {
      problem p;
      int rev = opt & 1, len = (opt >> 1) & 1, h0 = (opt >> 2) & 1, pad = (opt >> 3) & 1 ? 3 : 0;
      problem_init(&p, (lurn_cell)cell, 7, 5, 6, 8, rev, len, h0, 1, 0.5);
      int sent, same;
      double m = forward_maxdiff(&p, pad, &sent, &same);
      if (!(m < 2e-5) || !sent || !same)
        fprintf(stderr, "  forward %s pad=%d: max |diff| %.3g, gaps kept %d, modes equal %d\n",
                case_name(&p), pad, m, sent, same);
      CHECK(m < 2e-5);
      CHECK(sent);
      CHECK(same);
      worst = fmax(worst, m);
      problem_free(&p);
    }
  printf("     forward vs reference: max |diff| %.3g over 64 cases\n", worst);
}

/* Inference projects the input a chunk of steps at a time when B is small
 * (about 1024 rows per chunk): T=300, B=4 gives chunks of 256 steps. */
static void test_chunked_inference(void) {
  for (int cell = 0; cell < 4; cell++)
    for (int opt = 0; opt < 4; opt++) {
      problem p;
      problem_init(&p, (lurn_cell)cell, 300, 4, 5, 8, opt & 1, (opt >> 1) & 1, 1, 1, 0.4);
      int sent, same;
      double m = forward_maxdiff(&p, 1, &sent, &same);
      if (!(m < 1e-4) || !same)
        fprintf(stderr, "  chunked %s: max |diff| %.3g, inference == training %d\n",
                case_name(&p), m, same);
      CHECK(m < 1e-4);
      CHECK(same);
      problem_free(&p);
    }
}

/* ---- backward vs finite differences --------------------------------------- */

static double relerr(double a, double n, double tiny) {
  double den = fabs(a) + fabs(n);
  return fabs(a - n) / (den > tiny ? den : tiny);
}

/* Analytic gradients from the kernel, then central differences of the
 * double reference for every element of every input and parameter.
 * Returns the max relative error; *acc_ok: the parameter gradients were
 * accumulated (+=) onto what was there; *gaps_ok: strided gaps untouched. */
static char what_buf[160];
static double backward_check(const problem *p, int pad, int *acc_ok, int *gaps_ok,
                             const char **worst_what) {
  const int T = p->T, B = p->B, I = p->I, H = p->H, GH = gates_of(p->cell) * H;
  run r;
  run_init(&r, p, pad);
  lurn_status st = {0};
  /* preset the accumulators to check += */
  for (int k = 0; k < GH * I; k++) r.dwih[k] = PRESET;
  for (int k = 0; k < GH * H; k++) r.dwhh[k] = PRESET;
  for (int k = 0; k < GH; k++) r.dbih[k] = r.dbhh[k] = PRESET;
  CHECK(run_forward(&r, p, 1, &st) == LURN_OK);
  CHECK(run_backward(&r, p, &st) == LURN_OK);
  *gaps_ok = 1;
  for (int row = 0; row < T * B; row++)
    for (int j = I; j < r.ldx; j++) *gaps_ok &= r.dx[row * r.ldx + j] == SENTINEL;

  const double eps = 1e-6, tiny = 1e-5;
  double worst = 0;
  *worst_what = "";
  *acc_ok = 1;
  struct { const char *name; double *v; int n; const float *g; int stride, width; int acc; } ps[] = {
      {"x", p->x, T * B * I, r.dx, (int)r.ldx, I, 0},
      {"h0", p->h0, p->use_h0 ? B * H : 0, r.dh0, H, H, 0},
      {"c0", p->c0, p->use_h0 && p->cell == LURN_LSTM ? B * H : 0, r.dc0, H, H, 0},
      {"w_ih", p->wih, GH * I, r.dwih, I, I, 1},
      {"w_hh", p->whh, GH * H, r.dwhh, H, H, 1},
      {"b_ih", p->bih, p->use_bias ? GH : 0, r.dbih, GH, GH, 1},
      {"b_hh", p->bhh, p->use_bias ? GH : 0, r.dbhh, GH, GH, 1},
  };
  for (size_t q = 0; q < sizeof ps / sizeof ps[0]; q++) {
    for (int k = 0; k < ps[q].n; k++) {
      double save = ps[q].v[k];
      ps[q].v[k] = save + eps;
      double lp = ref_loss(p);
      ps[q].v[k] = save - eps;
      double lm = ref_loss(p);
      ps[q].v[k] = save;
      double num = (lp - lm) / (2 * eps);
      double a = ps[q].g[(k / ps[q].width) * ps[q].stride + k % ps[q].width];
      if (ps[q].acc) a -= PRESET;
      if (ps[q].acc && ps[q].g[(k / ps[q].width) * ps[q].stride + k % ps[q].width] == 0.0f)
        *acc_ok = 0;   /* lost the preset value */
      double e = relerr(a, num, tiny);
      if (e > worst) {
        worst = e;
        snprintf(what_buf, sizeof what_buf, "%s[%d]: analytic %.9g numeric %.9g", ps[q].name,
                 k, a, num);
        *worst_what = what_buf;
      }
    }
  }
  run_free(&r);
  return worst;
}

static void test_backward_gradcheck(void) {
  double worst = 0;
  int ncases = 0;
  for (int cell = 0; cell < 4; cell++)
    for (int opt = 0; opt < 32; opt++) {
      problem p;
      int rev = opt & 1, len = (opt >> 1) & 1, h0 = (opt >> 2) & 1, bias = (opt >> 3) & 1;
      int pad = (opt >> 4) & 1 ? 2 : 0;
      problem_init(&p, (lurn_cell)cell, 5, 4, 3, 4, rev, len, h0, bias, 0.6);
      int acc, gaps;
      const char *what;
      double e = backward_check(&p, pad, &acc, &gaps, &what);
      if (!(e < 1e-3) || !acc || !gaps)
        fprintf(stderr, "  gradcheck %s pad=%d: max rel err %.3g (%s), += ok %d, gaps ok %d\n",
                case_name(&p), pad, e, what, acc, gaps);
      CHECK(e < 1e-3);
      CHECK(acc);
      CHECK(gaps);
      worst = fmax(worst, e);
      ncases++;
      problem_free(&p);
    }
  printf("     backward vs finite differences (double reference): max rel err %.3g over %d "
         "cases\n", worst, ncases);
}

/* The kernel's own float forward, differentiated numerically: coarser, but
 * it ties backward to exactly the function forward computes. */
static void test_backward_vs_kernel_fd(void) {
  double worst = 0;
  for (int cell = 0; cell < 4; cell++) {
    problem p;
    problem_init(&p, (lurn_cell)cell, 6, 3, 3, 4, cell & 1, 1, 1, 1, 0.6);
    const int T = p.T, B = p.B, I = p.I, H = p.H, GH = gates_of(p.cell) * H;
    run r;
    run_init(&r, &p, 1);
    lurn_status st = {0};
    CHECK(run_forward(&r, &p, 1, &st) == LURN_OK);
    CHECK(run_backward(&r, &p, &st) == LURN_OK);
    run f;
    run_init(&f, &p, 1);
    /* relu's kink would be crossed by a large step */
    const float eps = cell == LURN_RNN_RELU ? 1e-3f : 1e-2f;
    struct { float *v; int n; int stride, width; const float *g; } ps[] = {
        {f.x, T * B * I, (int)f.ldx, I, r.dx}, {f.h0, B * H, H, H, r.dh0},
        {f.wih, GH * I, I, I, r.dwih},        {f.whh, GH * H, H, H, r.dwhh},
        {f.bih, GH, GH, GH, r.dbih},          {f.bhh, GH, GH, GH, r.dbhh},
    };
    double e = 0;
    for (size_t q = 0; q < sizeof ps / sizeof ps[0]; q++)
      for (int k = 0; k < ps[q].n; k++) {
        float *v = ps[q].v + (k / ps[q].width) * ps[q].stride + k % ps[q].width;
        float save = *v;
        *v = save + eps;
        double lp = kernel_loss(&f, &p);
        *v = save - eps;
        double lm = kernel_loss(&f, &p);
        *v = save;
        double num = (lp - lm) / (2.0 * (double)eps);
        double a = ps[q].g[(k / ps[q].width) * ps[q].stride + k % ps[q].width];
        e = fmax(e, relerr(a, num, 1e-2));
      }
    if (!(e < 2e-2)) fprintf(stderr, "  kernel-fd %s: max rel err %.3g\n", case_name(&p), e);
    CHECK(e < 2e-2);
    worst = fmax(worst, e);
    run_free(&r);
    run_free(&f);
    problem_free(&p);
  }
  printf("     backward vs finite differences (float kernel, eps 1e-2): max rel err %.3g\n", worst);
}

/* ---- wide layers: the threaded, register-blocked step loop ----------------
 * The step loop splits the hidden units into blocks of the micro-kernel's nr
 * columns among threads and packs W_hh once per sweep. These cases cover
 * widths that leave a partial block (H=72, H=260), k longer than one k block
 * (H=260 forward, 4H=288 backward), batches that leave a partial row panel,
 * and 1, 2 and 3 threads. Checks: forward against the double reference,
 * backward by directional derivatives of the double reference (one random
 * direction per input/parameter tensor: cheap at these sizes, and any wrong
 * element shows), and the same bits at every thread count. */

/* Directional check of every gradient of run r (forward+backward done):
 * returns the max relative error over the tensors. */
static double directional_check(const problem *p, const run *r, const char **worst_what) {
  const int T = p->T, B = p->B, I = p->I, H = p->H, GH = gates_of(p->cell) * H;
  struct { const char *name; double *v; int n; const float *g; int stride, width; } ps[] = {
      {"x", p->x, T * B * I, r->dx, (int)r->ldx, I},
      {"h0", p->h0, p->use_h0 ? B * H : 0, r->dh0, H, H},
      {"c0", p->c0, p->use_h0 && p->cell == LURN_LSTM ? B * H : 0, r->dc0, H, H},
      {"w_ih", p->wih, GH * I, r->dwih, I, I},
      {"w_hh", p->whh, GH * H, r->dwhh, H, H},
      {"b_ih", p->bih, p->use_bias ? GH : 0, r->dbih, GH, GH},
      {"b_hh", p->bhh, p->use_bias ? GH : 0, r->dbhh, GH, GH},
  };
  double worst = 0;
  *worst_what = "";
  for (size_t q = 0; q < sizeof ps / sizeof ps[0]; q++) {
    const int n = ps[q].n;
    if (!n) continue;
    double *save = malloc(sizeof(double) * (size_t)n), *dir = malloc(sizeof(double) * (size_t)n);
    double analytic = 0;
    for (int k = 0; k < n; k++) {
      save[k] = ps[q].v[k];
      dir[k] = srand1(1.0);
      analytic += dir[k] * ps[q].g[(k / ps[q].width) * ps[q].stride + k % ps[q].width];
    }
    /* every element moves at once, so thousands of pre-activations move by
     * about eps * sqrt(n): with ReLU's kink at 0, eps 1e-5 crossed it often
     * enough to throw the central difference off by 30 % (B = 26, H = 72;
     * both kernels agreed, and eps 1e-7 agreed with them to 4e-5). The
     * reference is double: 1e-7 costs no precision. */
    const double eps = 1e-7;
    for (int k = 0; k < n; k++) ps[q].v[k] = save[k] + eps * dir[k];
    double lp = ref_loss(p);
    for (int k = 0; k < n; k++) ps[q].v[k] = save[k] - eps * dir[k];
    double lm = ref_loss(p);
    for (int k = 0; k < n; k++) ps[q].v[k] = save[k];
    double num = (lp - lm) / (2 * eps);
    double e = relerr(analytic, num, 1e-3);
    if (e > worst) {
      worst = e;
      snprintf(what_buf, sizeof what_buf, "%s: analytic %.9g numeric %.9g", ps[q].name,
               analytic, num);
      *worst_what = what_buf;
    }
    free(save);
    free(dir);
  }
  return worst;
}

static int same_floats(const float *a, const float *b, size_t n) {
  return !memcmp(a, b, n * sizeof(float));
}

static int max_threads = 3;   /* 2 under LURN_TEST_RNN_QUICK */

static void test_threaded_wide(void) {
  /* B = 13: the input projection as one GEMM; B >= 16: fused per step */
  struct { lurn_cell cell; int T, B, I, H, rev, len, sorted; } cs[] = {
      {LURN_RNN_TANH, 7, 26, 5, 72, 0, 1, 0}, {LURN_RNN_RELU, 7, 26, 5, 72, 1, 1, 0},
      {LURN_RNN_TANH, 7, 13, 5, 150, 1, 1, 0},
      {LURN_LSTM, 7, 13, 5, 72, 0, 0, 0},     {LURN_LSTM, 7, 13, 5, 72, 1, 1, 0},
      {LURN_LSTM, 7, 17, 5, 72, 0, 1, 0},     {LURN_LSTM, 7, 17, 5, 72, 1, 1, 0},
      {LURN_GRU, 7, 13, 5, 72, 0, 1, 0},      {LURN_GRU, 7, 13, 5, 72, 1, 0, 0},
      {LURN_GRU, 7, 17, 5, 72, 0, 1, 0},      {LURN_GRU, 7, 17, 5, 72, 1, 1, 0},
      {LURN_LSTM, 4, 7, 3, 260, 1, 1, 0},     {LURN_GRU, 4, 7, 3, 260, 0, 1, 1},
      {LURN_LSTM, 4, 16, 300, 40, 1, 1, 1},   {LURN_GRU, 4, 19, 270, 40, 0, 1, 0},
      {LURN_RNN_TANH, 5, 9, 4, 260, 0, 1, 1}, {LURN_LSTM, 6, 21, 4, 40, 1, 1, 1},
      /* batch 1: the GEMV path */
      {LURN_LSTM, 6, 1, 5, 260, 0, 0, 0},     {LURN_GRU, 6, 1, 5, 260, 1, 1, 0},
      {LURN_LSTM, 6, 1, 3, 200, 1, 1, 1},
  };
  int paths[2] = {0, 0};
  double worst_f = 0, worst_b = 0;
  for (size_t c = 0; c < sizeof cs / sizeof cs[0]; c++) {
    problem p;
    const double ws = cs[c].cell == LURN_RNN_RELU ? 0.1 : 1.0 / sqrt((double)cs[c].H);
    problem_init(&p, cs[c].cell, cs[c].T, cs[c].B, cs[c].I, cs[c].H, cs[c].rev, cs[c].len, 1, 1,
                 ws);
    if (cs[c].sorted)   /* descending: the shrinking-batch path */
      for (int b = 0; b < p.B; b++) p.len[b] = (int32_t)(p.T - (b * p.T) / p.B);
    const int T = p.T, B = p.B, I = p.I, H = p.H, GH = gates_of(p.cell) * H;
    paths[lurn_rnn_fused_input(&(lurn_rnn_desc){p.cell, T, B, I, H, NULL, 0})]++;
    run base;
    int have_base = 0;
    for (int th = 1; th <= max_threads; th++) {
      lurn_set_threads(th);
      /* the split really happens: min(th, unit blocks) threads */
      const int nr = lurn_ukr_get()->nr, blocks = (H + nr - 1) / nr;
      CHECK(lurn_rnn_threads(&(lurn_rnn_desc){p.cell, T, B, I, H, NULL, 0}) ==
            (th < blocks ? th : blocks));
      int sent, same;
      double m = forward_maxdiff(&p, 1, &sent, &same);
      run r;
      run_init(&r, &p, 1);
      lurn_status st = {0};
      CHECK(run_forward(&r, &p, 1, &st) == LURN_OK);
      CHECK(run_backward(&r, &p, &st) == LURN_OK);
      const char *what;
      double e = directional_check(&p, &r, &what);
      if (!(m < 1e-4) || !same || !(e < 1e-3))
        fprintf(stderr, "  wide %s threads=%d: forward %.3g (modes equal %d), directional %.3g (%s)\n",
                case_name(&p), th, m, same, e, what);
      CHECK(m < 1e-4);
      CHECK(same && sent);
      CHECK(e < 1e-3);
      worst_f = fmax(worst_f, m);
      worst_b = fmax(worst_b, e);
      if (!have_base) {
        base = r;
        have_base = 1;
        continue;
      }
      int bits = same_floats(base.y, r.y, (size_t)(T * B) * (size_t)r.ldy) &&
                 same_floats(base.hn, r.hn, (size_t)(B * H)) &&
                 same_floats(base.dx, r.dx, (size_t)(T * B) * (size_t)r.ldx) &&
                 same_floats(base.dh0, r.dh0, (size_t)(B * H)) &&
                 same_floats(base.dwhh, r.dwhh, (size_t)(GH * H)) &&
                 same_floats(base.dwih, r.dwih, (size_t)(GH * I)) &&
                 same_floats(base.dbih, r.dbih, (size_t)GH);
      if (!bits) fprintf(stderr, "  wide %s: threads=%d differs from threads=1\n", case_name(&p), th);
      CHECK(bits);
      run_free(&r);
    }
    if (have_base) run_free(&base);
    problem_free(&p);
  }
  lurn_set_threads(1);
  CHECK(paths[0] >= 6 && paths[1] >= 6);   /* both input paths were taken */
  printf("     wide layers at 1-3 threads (%d projected, %d fused): forward max |diff| %.3g, "
         "directional max rel err %.3g\n", paths[0], paths[1], worst_f, worst_b);
}

/* ---- long sequences, repeatability, errors -------------------------------- */

static int all_finite(const float *v, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (!isfinite(v[k])) return 0;
  return 1;
}

static void test_long_sequence_stable(void) {
  for (int cell = 0; cell < 4; cell++) {
    problem p;
    /* relu is unbounded by nature: large weights would overflow in exact
     * arithmetic too, so it gets contracting weights */
    double ws = cell == LURN_RNN_RELU ? 0.05 : 4.0;
    problem_init(&p, (lurn_cell)cell, 2000, 4, 8, 16, 0, 1, 1, 1, ws);
    for (int k = 0; k < p.T * p.B * p.I; k++) p.x[k] *= 20.0;   /* huge pre-activations */
    p.len[0] = 2000;
    run r;
    run_init(&r, &p, 0);
    lurn_status st = {0};
    CHECK(run_forward(&r, &p, 1, &st) == LURN_OK);
    size_t ny = (size_t)(p.T * p.B * p.H);
    int fin = all_finite(r.y, ny) && all_finite(r.hn, (size_t)(p.B * p.H)) &&
              all_finite(r.cn, (size_t)(p.B * p.H));
    CHECK(run_backward(&r, &p, &st) == LURN_OK);
    int GH = gates_of(p.cell) * p.H;
    int bfin = all_finite(r.dx, (size_t)(p.T * p.B * p.I)) &&
               all_finite(r.dh0, (size_t)(p.B * p.H)) &&
               all_finite(r.dwih, (size_t)(GH * p.I)) && all_finite(r.dwhh, (size_t)(GH * p.H)) &&
               all_finite(r.dbih, (size_t)GH);
    if (!fin || !bfin) fprintf(stderr, "  T=2000 %s: forward finite %d, backward finite %d\n",
                               lurn_cell_name(p.cell), fin, bfin);
    CHECK(fin);
    CHECK(bfin);
    run_free(&r);
    problem_free(&p);
  }
}

/* ---- NaN and Inf (issue 12, item 8) ----------------------------------------
 * A non-finite input or weight must not vanish inside the kernels: the
 * forward must equal the double reference element by element, NaN where it
 * has NaN and the same infinity where it has one (an Inf pre-activation
 * saturates a gate exactly as the math does), and the gradients that the
 * bad value feeds must be non-finite, so the training guard sees them. */

/* 1 when kernel value k matches reference value r under IEEE rules. */
static int nf_match(double k, double r, double tol) {
  if (isnan(r)) return isnan(k);
  if (isinf(r)) return k == r;
  return isfinite(k) && fabs(k - r) <= tol;
}

static int any_nonfinite(const float *v, size_t n) {
  for (size_t k = 0; k < n; k++)
    if (!isfinite(v[k])) return 1;
  return 0;
}

static void test_nonfinite(void) {
  enum { X_NAN, X_INF, WHH_NAN, WIH_NINF, NKIND };
  static const char *kinds[NKIND] = {"x NaN", "x +Inf", "w_hh NaN", "w_ih -Inf"};
  int cases = 0, nan_out = 0;
  for (int cell = 0; cell < 4; cell++)
    for (int bi = 0; bi < 2; bi++)
      for (int kind = 0; kind < NKIND; kind++) {
        const int B = bi ? 17 : 3;   /* 17: the fused input path; 3: the projection GEMM */
        problem p;
        problem_init(&p, (lurn_cell)cell, 5, B, 6, 20, kind & 1, 0, 1, 1,
                     cell == LURN_RNN_RELU ? 0.2 : 0.5);
        const int T = p.T, I = p.I, H = p.H, GH = gates_of(p.cell) * H;
        if (kind == X_NAN) p.x[(2 * B + 1) * I + 0] = NAN;        /* t=2, sample 1 */
        if (kind == X_INF) p.x[(1 * B + 0) * I + 1] = INFINITY;   /* t=1, sample 0 */
        if (kind == WHH_NAN) p.whh[5] = NAN;
        if (kind == WIH_NINF) p.wih[3] = -INFINITY;
        double *y = malloc(sizeof(double) * (size_t)(T * B * H));
        double *hn = malloc(sizeof(double) * (size_t)(B * H)), *cn = malloc(sizeof(double) * (size_t)(B * H));
        ref_forward(&p, y, hn, cn);
        run r;
        run_init(&r, &p, 0);
        lurn_status st = {0};
        int ok = run_forward(&r, &p, 1, &st) == LURN_OK, fwd = 1, ynan = 0;
        for (int row = 0; row < T * B; row++)
          for (int j = 0; j < H; j++) {
            fwd &= nf_match(r.y[row * r.ldy + j], y[row * H + j], 1e-4);
            ynan |= isnan(r.y[row * r.ldy + j]);
          }
        for (int k = 0; k < B * H; k++) {
          fwd &= nf_match(r.hn[k], hn[k], 1e-4);
          if (p.cell == LURN_LSTM) fwd &= nf_match(r.cn[k], cn[k], 1e-4);
        }
        /* inference mode: the same values (NaN where training has NaN) */
        float *y1 = falloc((size_t)(T * B * H));
        memcpy(y1, r.y, sizeof(float) * (size_t)(T * B * H));
        ok &= run_forward(&r, &p, 0, &st) == LURN_OK;
        for (int k = 0; k < T * B * H; k++) fwd &= nf_match(r.y[k], y1[k], 0.0);
        free(y1);
        ok &= run_forward(&r, &p, 1, &st) == LURN_OK && run_backward(&r, &p, &st) == LURN_OK;
        /* the gradients the bad value feeds are non-finite; samples it
         * never touches keep finite dx */
        int bwd = 1;
        const size_t nx = (size_t)(T * B * I);
        if (kind == X_NAN) {
          bwd &= any_nonfinite(r.dwih, (size_t)(GH * I)) && any_nonfinite(r.dwhh, (size_t)(GH * H)) &&
                 any_nonfinite(r.dbih, (size_t)GH);
          for (int t = 0; t < T; t++)
            for (int b = 0; b < B; b++) {
              int bad = any_nonfinite(r.dx + (t * B + b) * I, (size_t)I);
              if (b != 1) bwd &= !bad;
              else if (t <= 2) bwd &= bad;   /* at and before the NaN */
            }
        } else if (kind == X_INF) {
          bwd &= any_nonfinite(r.dwih, (size_t)(GH * I));
        } else if (kind == WHH_NAN) {
          bwd &= any_nonfinite(r.dwhh, (size_t)(GH * H)) && any_nonfinite(r.dx, nx) &&
                 any_nonfinite(r.dh0, (size_t)(B * H));
        } else {
          bwd &= any_nonfinite(r.dx, nx);
        }
        if (!ok || !fwd || !bwd)
          fprintf(stderr, "  %s, %s: ok %d, forward matches reference %d, gradients %d\n",
                  case_name(&p), kinds[kind], ok, fwd, bwd);
        CHECK(ok && fwd && bwd);
        cases++;
        nan_out += ynan;
        run_free(&r);
        free(y); free(hn); free(cn);
        problem_free(&p);
      }
  /* the NaN cases really produced NaN outputs (x NaN and w_hh NaN, every cell and path) */
  CHECK(nan_out >= 16);
  printf("     %d non-finite cases: forward = reference under IEEE rules, %d with NaN outputs\n",
         cases, nan_out);
}

/* Same inputs, same thread count: the same bits. Also 1 vs 2 threads for the
 * pointwise part is reported (BLIS decides the GEMMs' split). */
static void test_repeatable(void) {
  problem p;
  lurn_set_threads(2);
  problem_init(&p, LURN_LSTM, 20, 64, 32, 64, 1, 1, 1, 1, 0.3);
  run a, b;
  run_init(&a, &p, 0);
  run_init(&b, &p, 0);
  lurn_status st = {0};
  CHECK(run_forward(&a, &p, 1, &st) == LURN_OK && run_backward(&a, &p, &st) == LURN_OK);
  CHECK(run_forward(&b, &p, 1, &st) == LURN_OK && run_backward(&b, &p, &st) == LURN_OK);
  int GH = 4 * p.H;
  CHECK(!memcmp(a.y, b.y, sizeof(float) * (size_t)(p.T * p.B * p.H)));
  CHECK(!memcmp(a.dwhh, b.dwhh, sizeof(float) * (size_t)(GH * p.H)));
  CHECK(!memcmp(a.dx, b.dx, sizeof(float) * (size_t)(p.T * p.B * p.I)));
  run_free(&a);
  run_free(&b);
  problem_free(&p);
  lurn_set_threads(1);
}

/* Sorted lengths take the shrinking-batch path: same numbers as unsorted. */
static void test_sorted_lengths(void) {
  for (int cell = 0; cell < 4; cell++)
    for (int rev = 0; rev < 2; rev++) {
      problem p;
      problem_init(&p, (lurn_cell)cell, 6, 5, 3, 4, rev, 1, 1, 1, 0.6);
      int32_t sorted[5] = {6, 5, 5, 2, 0};
      memcpy(p.len, sorted, sizeof sorted);
      int sent, same, acc, gaps;
      const char *what;
      double m = forward_maxdiff(&p, 0, &sent, &same);
      double e = backward_check(&p, 0, &acc, &gaps, &what);
      if (!(m < 2e-5) || !(e < 1e-3))
        fprintf(stderr, "  sorted %s: forward %.3g, gradcheck %.3g (%s)\n", case_name(&p), m, e,
                what);
      CHECK(m < 2e-5);
      CHECK(e < 1e-3);
      problem_free(&p);
    }
}

/* The slot order: a batch in any order gives every sample the same outputs
 * and input gradients, bit for bit, as the same samples sorted longest
 * first (the per-step products then shrink either way; a row's product
 * does not depend on the other rows). The weight gradients sum the rows in
 * another order: equal within float rounding. Every cell, both directions,
 * the fused (B >= 16) and the unfused input paths, 1 and 2 threads. */
static void permute_rows(double *dst, const double *src, int T, int B, int w, const int *from) {
  for (int t = 0; t < T; t++)
    for (int b = 0; b < B; b++)
      memcpy(dst + ((size_t)t * B + b) * w, src + ((size_t)t * B + from[b]) * w,
             sizeof(double) * (size_t)w);
}

static void test_slot_order(void) {
  int checked = 0;
  for (int threads = 1; threads <= 2; threads++)
    for (int cell = 0; cell < 4; cell++)
      for (int rev = 0; rev < 2; rev++)
        for (int big = 0; big < 2; big++) {
          lurn_set_threads(threads);
          const int T = 9, B = big ? 20 : 7, I = 5, H = big ? 40 : 6;
          problem p, q;
          problem_init(&p, (lurn_cell)cell, T, B, I, H, rev, 1, 1, 1, 0.5);
          problem_init(&q, (lurn_cell)cell, T, B, I, H, rev, 1, 1, 1, 0.5);
          /* q: p's samples sorted by length, longest first (stable) */
          int from[64], n = 0;
          for (int l = T; l >= 0; l--)
            for (int b = 0; b < B; b++)
              if (p.len[b] == l) from[n++] = b;
          CHECK(n == B);
          const int GH = gates_of(p.cell) * H;
          memcpy(q.wih, p.wih, sizeof(double) * (size_t)(GH * I));
          memcpy(q.whh, p.whh, sizeof(double) * (size_t)(GH * H));
          memcpy(q.bih, p.bih, sizeof(double) * (size_t)GH);
          memcpy(q.bhh, p.bhh, sizeof(double) * (size_t)GH);
          permute_rows(q.x, p.x, T, B, I, from);
          permute_rows(q.py, p.py, T, B, H, from);
          permute_rows(q.h0, p.h0, 1, B, H, from);
          permute_rows(q.c0, p.c0, 1, B, H, from);
          permute_rows(q.ph, p.ph, 1, B, H, from);
          permute_rows(q.pc, p.pc, 1, B, H, from);
          for (int b = 0; b < B; b++) q.len[b] = p.len[from[b]];
          run a, c;
          run_init(&a, &p, 0);
          run_init(&c, &q, 0);
          lurn_status st = {0};
          CHECK(run_forward(&a, &p, 1, &st) == LURN_OK && run_backward(&a, &p, &st) == LURN_OK);
          CHECK(run_forward(&c, &q, 1, &st) == LURN_OK && run_backward(&c, &q, &st) == LURN_OK);
          const int lstm = p.cell == LURN_LSTM;
          int same = 1;
          for (int b = 0; b < B; b++) {
            const int o = from[b];   /* q's sample b is p's sample o */
            for (int t = 0; t < T; t++) {
              same &= !memcmp(c.y + (t * B + b) * c.ldy, a.y + (t * B + o) * a.ldy,
                              sizeof(float) * (size_t)H);
              same &= !memcmp(c.dx + (t * B + b) * c.ldx, a.dx + (t * B + o) * a.ldx,
                              sizeof(float) * (size_t)I);
            }
            same &= !memcmp(c.hn + b * H, a.hn + o * H, sizeof(float) * (size_t)H);
            same &= !memcmp(c.dh0 + b * H, a.dh0 + o * H, sizeof(float) * (size_t)H);
            if (lstm) {
              same &= !memcmp(c.cn + b * H, a.cn + o * H, sizeof(float) * (size_t)H);
              same &= !memcmp(c.dc0 + b * H, a.dc0 + o * H, sizeof(float) * (size_t)H);
            }
          }
          /* relative to the largest gradient (relu's grow with the sums) */
          double dw = 0, big_g = 1;
          for (int k = 0; k < GH * H; k++) big_g = fmax(big_g, fabs(a.dwhh[k]));
          for (int k = 0; k < GH * I; k++) big_g = fmax(big_g, fabs(a.dwih[k]));
          for (int k = 0; k < GH; k++) big_g = fmax(big_g, fabs(a.dbih[k]));
          for (int k = 0; k < GH * H; k++) dw = fmax(dw, fabs(c.dwhh[k] - a.dwhh[k]) / big_g);
          for (int k = 0; k < GH * I; k++) dw = fmax(dw, fabs(c.dwih[k] - a.dwih[k]) / big_g);
          for (int k = 0; k < GH; k++) dw = fmax(dw, fabs(c.dbih[k] - a.dbih[k]) / big_g);
          if (!same || !(dw < 1e-5))
            fprintf(stderr, "  slot order %s, %d thread(s): per-sample bits %s, weight grads rel. %.3g\n",
                    case_name(&p), threads, same ? "equal" : "DIFFER", dw);
          CHECK(same);
          CHECK(dw < 1e-5);
          checked++;
          run_free(&a);
          run_free(&c);
          problem_free(&p);
          problem_free(&q);
        }
  lurn_set_threads(1);
  CHECK(checked == 32);
  /* every length 0 at a fused size: no valid row at all (the GEMMs after
   * BPTT get zero rows); y and dx zero, the state and its gradient pass
   * through, the weight gradients keep their preset */
  for (int cell = 0; cell < 4; cell++) {
    problem p;
    problem_init(&p, (lurn_cell)cell, 4, 16, 3, 8, 0, 1, 1, 1, 0.6);
    for (int b = 0; b < p.B; b++) p.len[b] = 0;
    run r;
    run_init(&r, &p, 0);
    const int GH = gates_of(p.cell) * p.H, lstm = p.cell == LURN_LSTM;
    for (int k = 0; k < GH * p.H; k++) r.dwhh[k] = PRESET;
    lurn_status st = {0};
    CHECK(run_forward(&r, &p, 1, &st) == LURN_OK && run_backward(&r, &p, &st) == LURN_OK);
    int ok = 1;
    for (int k = 0; k < p.T * p.B * p.H; k++) ok &= r.y[k] == 0.0f;
    for (int k = 0; k < p.T * p.B * p.I; k++) ok &= r.dx[k] == 0.0f;
    ok &= !memcmp(r.hn, r.h0, sizeof(float) * (size_t)(p.B * p.H));
    ok &= !memcmp(r.dh0, r.dhn, sizeof(float) * (size_t)(p.B * p.H));
    if (lstm) ok &= !memcmp(r.dc0, r.dcn, sizeof(float) * (size_t)(p.B * p.H));
    for (int k = 0; k < GH * p.H; k++) ok &= r.dwhh[k] == PRESET;
    if (!ok) fprintf(stderr, "  all lengths 0, %s: outputs or gradients wrong\n", case_name(&p));
    CHECK(ok);
    run_free(&r);
    problem_free(&p);
  }
  /* the compact cache (B >= 16: the fused input) against finite differences
   * of the double reference, with padded dx rows (gaps must stay untouched) */
  for (int cell = 0; cell < 4; cell++)
    for (int rev = 0; rev < 2; rev++) {
      problem p;
      problem_init(&p, (lurn_cell)cell, 5, 16, 3, 8, rev, 1, 1, 1, 0.6);
      lurn_rnn_desc d = {p.cell, p.T, p.B, p.I, p.H, p.len, rev};
      CHECK(lurn_rnn_fused_input(&d));
      int acc, gaps;
      const char *what;
      double e = backward_check(&p, 2, &acc, &gaps, &what);
      if (!(e < 1e-3) || !acc || !gaps)
        fprintf(stderr, "  compact gradcheck %s: max rel err %.3g (%s), += ok %d, gaps ok %d\n",
                case_name(&p), e, what, acc, gaps);
      CHECK(e < 1e-3 && acc && gaps);
      problem_free(&p);
    }
}

static void test_errors(void) {
  lurn_status st = {0};
  int32_t len[3] = {5, 7, 2};
  lurn_rnn_desc d = {LURN_LSTM, 5, 3, 4, 2, len, 0};
  float buf[4096] = {0};
  CHECK(lurn_rnn_check(&d, &st) == LURN_EARG);
  CHECK_MSG(st, "lstm: length 7 of sample 2 exceeds T=5");
  len[1] = -1;
  CHECK(lurn_rnn_check(&d, &st) == LURN_EARG);
  CHECK_MSG(st, "lstm: length -1 of sample 2 is negative");
  CHECK(lurn_rnn_cache_floats(&d) == 0);
  len[1] = 3;
  d.cell = LURN_GRU;
  d.H = 0;
  CHECK(lurn_rnn_check(&d, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "gru: bad dims T=5 B=3 I=4 H=0");
  d.H = 2;
  CHECK(lurn_rnn_forward(&d, NULL, 0, NULL, NULL, NULL, 4, NULL, NULL, buf, buf, NULL, NULL,
                         NULL, buf, &st) == LURN_EARG);
  CHECK_MSG(st, "gru_forward: x is NULL");
  CHECK(lurn_rnn_forward(&d, NULL, 0, NULL, NULL, buf, 3, NULL, NULL, buf, buf, NULL, NULL,
                         NULL, buf, &st) == LURN_ESHAPE);
  CHECK_MSG(st, "gru_forward: x row stride 3 < I=4");
  CHECK(lurn_rnn_forward(&d, NULL, 0, NULL, buf, buf, 4, NULL, NULL, buf, buf, NULL, NULL,
                         NULL, buf, &st) == LURN_EARG);
  CHECK_MSG(st, "only lstm has a cell state");
  CHECK(lurn_rnn_backward(&d, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL,
                          buf, 4, buf, buf, NULL, buf, &st) == LURN_EARG);
  CHECK_MSG(st, "gru_backward: no cache");
  d.cell = (lurn_cell)9;
  CHECK(lurn_rnn_check(&d, &st) == LURN_EARG);
  CHECK_MSG(st, "unknown cell kind 9");
  CHECK(lurn_cell_parse("lstm") == LURN_LSTM && lurn_cell_parse("gru") == LURN_GRU &&
        lurn_cell_parse("rnn_relu") == LURN_RNN_RELU && lurn_cell_parse("nope") == -1);
}

/* T = 0 and length-0 samples: final state is the initial state. */
static void test_empty(void) {
  problem p;
  problem_init(&p, LURN_LSTM, 3, 3, 2, 3, 1, 1, 1, 1, 0.5);
  p.len[0] = 0; p.len[1] = 0; p.len[2] = 0;
  run r;
  run_init(&r, &p, 0);
  lurn_status st = {0};
  CHECK(run_forward(&r, &p, 1, &st) == LURN_OK);
  CHECK(!memcmp(r.hn, r.h0, sizeof(float) * 9) && !memcmp(r.cn, r.c0, sizeof(float) * 9));
  for (int k = 0; k < 27; k++) CHECK(r.y[k] == 0.0f);
  CHECK(run_backward(&r, &p, &st) == LURN_OK);
  CHECK(!memcmp(r.dh0, r.dhn, sizeof(float) * 9) && !memcmp(r.dc0, r.dcn, sizeof(float) * 9));
  run_free(&r);
  problem_free(&p);
  lurn_rnn_desc d = {LURN_GRU, 0, 2, 3, 4, NULL, 0};
  float h0[8] = {1, 2, 3, 4, 5, 6, 7, 8}, hn[8] = {0}, w[64] = {0};
  float *work = falloc(lurn_rnn_work_floats(&d, 0));
  CHECK(lurn_rnn_forward(&d, NULL, 0, hn, NULL, NULL, 3, h0, NULL, w, w, NULL, NULL, NULL, work,
                         &st) == LURN_OK);
  CHECK(!memcmp(hn, h0, sizeof h0));
  free(work);
}

int main(void) {
  /* The small cases run on one thread: the machine may be shared, and
   * spinning OpenMP threads on an oversubscribed machine only add noise.
   * test_repeatable uses two. LURN_TEST_RNN_QUICK=1 (test_kernels.c runs
   * this binary under every BLIS kernel set the CPU has) keeps the checks
   * that exercise the packed products: forward vs reference, the wide
   * threaded cases (backward by directional derivative), NaN/Inf. */
  /* the thread counts asked for, even when other processes keep the cores
   * busy (lurn would otherwise use fewer: blas.c, "threads under load") */
  setenv("LURN_THREADS_ADAPT", "0", 1);
  const lurn_ukr *u = lurn_ukr_get();
  printf("kernels: %s, tile %dx%d%s\n", lurn_blis_arch(), u->mr, u->nr,
         u->trans ? " (transposed: column-preferring kernel)" : "");
  const char *q = getenv("LURN_TEST_RNN_QUICK");
  const int quick = q && !strcmp(q, "1");
  if (quick) max_threads = 2;
  lurn_set_threads(1);
  RUN(test_forward_reference);
  RUN(test_chunked_inference);
  if (!quick) {
    RUN(test_backward_gradcheck);
    RUN(test_backward_vs_kernel_fd);
  }
  RUN(test_sorted_lengths);
  RUN(test_slot_order);
  RUN(test_threaded_wide);
  RUN(test_empty);
  if (!quick) RUN(test_long_sequence_stable);
  RUN(test_nonfinite);
  RUN(test_repeatable);
  if (!quick) RUN(test_errors);
  return check_summary();
}
