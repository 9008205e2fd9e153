/*
 * test_optim.c — optimizer update rules against hand-computed steps, and
 * gradient clipping.
 *
 * Every optimizer case runs 3 steps on a 2-element parameter
 *   p0 = {1, -2},  grads g1 = {0.5, -1}, g2 = {-0.3, 0.2}, g3 = {0.1, 0.4}
 * and compares p after each step with numbers computed in double from the
 * PyTorch 1.13 formulas (optim.h). The comment above each table derives
 * element 0 step by step (t = step number; m, v, b, sq, ga, sum are the state
 * buffers); element 1 follows the same formulas. The same numbers were also
 * cross-checked once against torch.optim (max difference < 1.2e-7).
 * Tolerance 1e-6: the core computes in float32.
 */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "optim.h"

static const float P0[2] = {1.0f, -2.0f};
static const float G[3][2] = {{0.5f, -1.0f}, {-0.3f, 0.2f}, {0.1f, 0.4f}};
#define TOL 1e-6

typedef double expect3[3][2];

static void check_step(const float *p, const expect3 e, int t, const char *name) {
  if (fabs(p[0] - e[t][0]) > TOL || fabs(p[1] - e[t][1]) > TOL) {
    fprintf(stderr, "%s step %d: got {%.9g, %.9g}, want {%.9g, %.9g}\n", name, t + 1, p[0], p[1],
            e[t][0], e[t][1]);
    check_cur_failed_ = 1;
  }
}

/* ---- SGD ------------------------------------------------------------------ */

static void run_sgd(lurn_sgd_config c, const expect3 e, const char *name) {
  float p[2] = {P0[0], P0[1]}, buf[2] = {0, 0};
  lurn_sgd_state s = {0, buf, 0};
  lurn_status st = {0};
  for (int t = 0; t < 3; t++) {
    CHECK(lurn_sgd_step(p, G[t], &s, 2, &c, &st) == LURN_OK);
    check_step(p, e, t, name);
  }
  CHECK(s.step == 3);
}

static void test_sgd_plain(void) {
  // p -= lr * g, lr 0.1:
  //   t=1: p = 1 - 0.1*0.5 = 0.95;  t=2: 0.95 + 0.03 = 0.98;  t=3: 0.98 - 0.01 = 0.97
  static const expect3 e = {{0.95, -1.9}, {0.98, -1.92}, {0.97, -1.96}};
  lurn_sgd_config c = lurn_sgd_defaults();
  c.lr = 0.1;
  run_sgd(c, e, "sgd");
}

static void test_sgd_momentum(void) {
  // momentum 0.9, dampening 0: the buffer starts as a copy of g1.
  //   t=1: b=g=0.5                       p = 1 - 0.1*0.5 = 0.95
  //   t=2: b=0.9*0.5 + (-0.3) = 0.15      p = 0.95 - 0.015 = 0.935
  //   t=3: b=0.9*0.15 + 0.1 = 0.235       p = 0.935 - 0.0235 = 0.9115
  static const expect3 e = {{0.95, -1.9}, {0.935, -1.83}, {0.9115, -1.807}};
  lurn_sgd_config c = lurn_sgd_defaults();
  c.lr = 0.1, c.momentum = 0.9;
  run_sgd(c, e, "sgd momentum");
}

static void test_sgd_dampening(void) {
  // momentum 0.9, dampening 0.5 (the first buffer is NOT dampened):
  //   t=1: b=0.5                          p = 0.95
  //   t=2: b=0.9*0.5 + 0.5*(-0.3) = 0.3   p = 0.95 - 0.03 = 0.92
  //   t=3: b=0.9*0.3 + 0.5*0.1 = 0.32     p = 0.92 - 0.032 = 0.888
  static const expect3 e = {{0.95, -1.9}, {0.92, -1.82}, {0.888, -1.768}};
  lurn_sgd_config c = lurn_sgd_defaults();
  c.lr = 0.1, c.momentum = 0.9, c.dampening = 0.5;
  run_sgd(c, e, "sgd dampening");
}

static void test_sgd_nesterov(void) {
  // nesterov: step with g + momentum*b.
  //   t=1: b=0.5    g=0.5 + 0.45 = 0.95        p = 1 - 0.095 = 0.905
  //   t=2: b=0.15   g=-0.3 + 0.135 = -0.165    p = 0.905 + 0.0165 = 0.9215
  //   t=3: b=0.235  g=0.1 + 0.2115 = 0.3115    p = 0.9215 - 0.03115 = 0.89035
  static const expect3 e = {{0.905, -1.81}, {0.9215, -1.767}, {0.89035, -1.7863}};
  lurn_sgd_config c = lurn_sgd_defaults();
  c.lr = 0.1, c.momentum = 0.9, c.nesterov = 1;
  run_sgd(c, e, "sgd nesterov");
}

static void test_sgd_weight_decay(void) {
  // weight_decay 0.1 folded into g before the momentum buffer:
  //   t=1: g=0.5 + 0.1*1 = 0.6          b=0.6                     p = 1 - 0.06 = 0.94
  //   t=2: g=-0.3 + 0.094 = -0.206      b=0.54 - 0.206 = 0.334    p = 0.94 - 0.0334 = 0.9066
  //   t=3: g=0.1 + 0.09066 = 0.19066    b=0.3006 + 0.19066 = 0.49126  p = 0.857474
  static const expect3 e = {{0.94, -1.88}, {0.9066, -1.7732}, {0.857474, -1.699348}};
  lurn_sgd_config c = lurn_sgd_defaults();
  c.lr = 0.1, c.momentum = 0.9, c.weight_decay = 0.1;
  run_sgd(c, e, "sgd weight_decay");
}

static void test_sgd_maximize(void) {
  // maximize: g = -grad.  t=1: 1 + 0.05 = 1.05;  t=2: 1.05 - 0.03 = 1.02;  t=3: 1.03
  static const expect3 e = {{1.05, -2.1}, {1.02, -2.08}, {1.03, -2.04}};
  lurn_sgd_config c = lurn_sgd_defaults();
  c.lr = 0.1, c.maximize = 1;
  run_sgd(c, e, "sgd maximize");
}

static void test_sgd_errors(void) {
  float p[2] = {1, 2}, g[2] = {1, 1};
  lurn_sgd_state s = {0, NULL, 0};
  lurn_status st = {0};
  lurn_sgd_config c = lurn_sgd_defaults();
  c.nesterov = 1;  // momentum 0
  CHECK(lurn_sgd_step(p, g, &s, 2, &c, &st) == LURN_EARG);
  CHECK_MSG(st, "sgd: nesterov needs momentum > 0 and dampening == 0");
  c = lurn_sgd_defaults();
  c.lr = -1;
  CHECK(lurn_sgd_step(p, g, &s, 2, &c, &st) == LURN_EARG);
  CHECK_MSG(st, "sgd: invalid lr -1 (needs lr >= 0)");
  c = lurn_sgd_defaults();
  c.momentum = 0.9;  // but no buffer
  CHECK(lurn_sgd_step(p, g, &s, 2, &c, &st) == LURN_EARG);
  CHECK_MSG(st, "needs a momentum_buffer");
  c.lr = NAN;
  CHECK(lurn_sgd_step(p, g, &s, 2, &c, &st) == LURN_EARG);
  // a failed call changes nothing
  CHECK(p[0] == 1 && p[1] == 2 && s.step == 0);
}

/* ---- Adam / AdamW --------------------------------------------------------- */

static void run_adam(int w, lurn_adam_config c, const expect3 e, const char *name,
                     float *m_out) {
  float p[2] = {P0[0], P0[1]}, m[2] = {0}, v[2] = {0}, vmax[2] = {0};
  lurn_adam_state s = {0, m, v, c.amsgrad ? vmax : NULL};
  lurn_status st = {0};
  for (int t = 0; t < 3; t++) {
    int rc = w ? lurn_adamw_step(p, G[t], &s, 2, &c, &st) : lurn_adam_step(p, G[t], &s, 2, &c, &st);
    CHECK(rc == LURN_OK);
    check_step(p, e, t, name);
  }
  CHECK(s.step == 3);
  if (m_out) m_out[0] = m[0], m_out[1] = v[0];
}

static void test_adam(void) {
  // lr 0.1, betas (0.9, 0.999), eps 1e-8. bc1 = 1-0.9^t, bc2 = 1-0.999^t,
  // denom = sqrt(v)/sqrt(bc2) + eps, p -= lr/bc1 * m/denom.
  //   t=1: m=0.05   v=0.00025       bc1=0.1   bc2=0.001     denom=0.50000001  p=0.900000002
  //   t=2: m=0.015  v=0.00033975    bc1=0.19  bc2=0.001999  denom=0.412262038 p=0.880850199
  //   t=3: m=0.0235 v=0.00034941025 bc1=0.271 bc2=0.002997001 denom=0.341447855 p=0.855453681
  static const expect3 e = {{0.900000002, -1.9},
                            {0.880850199, -1.84889739},
                            {0.855453681, -1.83547343}};
  lurn_adam_config c = lurn_adam_defaults();
  c.lr = 0.1;
  float mv[2];
  run_adam(0, c, e, "adam", mv);
  CHECK_NEAR(mv[0], 0.0235, 1e-7);          // the moments are state, readable after
  CHECK_NEAR(mv[1], 0.00034941025, 1e-10);
}

static void test_adam_weight_decay(void) {
  // L2: g += 0.1*p before the moments.
  //   t=1: g=0.6          m=0.06       v=0.00036       denom=0.60000001  p=0.900000002
  //   t=2: g=-0.21        m=0.033      v=0.00040374    denom=0.449411832 p=0.861352997
  //   t=3: g=0.1861353    m=0.04831353 v=0.00043798261 denom=0.382283014 p=0.814717729
  static const expect3 e = {{0.900000002, -1.9},
                            {0.861352997, -1.83361691},
                            {0.814717729, -1.79448022}};
  lurn_adam_config c = lurn_adam_defaults();
  c.lr = 0.1, c.weight_decay = 0.1;
  run_adam(0, c, e, "adam weight_decay", NULL);
}

static void test_adam_betas(void) {
  // betas (0.5, 0.8), eps 0.01:
  //   t=1: m=0.25   v=0.05   bc1=0.5   bc2=0.2   denom=0.51        p=1-0.1/0.5*0.25/0.51 = 0.901960784
  //   t=2: m=-0.025 v=0.058  bc1=0.75  bc2=0.36  denom=0.411386486 p=0.910063465
  //   t=3: m=0.0375 v=0.0484 bc1=0.875 bc2=0.488 denom=0.324929084 p=0.896873774
  static const expect3 e = {{0.901960784, -1.9009901},
                            {0.910063465, -1.87213549},
                            {0.896873774, -1.89618802}};
  lurn_adam_config c = lurn_adam_defaults();
  c.lr = 0.1, c.beta1 = 0.5, c.beta2 = 0.8, c.eps = 0.01;
  run_adam(0, c, e, "adam betas", NULL);
}

static void test_adam_amsgrad(void) {
  // beta2 0.5 makes v shrink at t=2,3 so amsgrad's running max matters:
  // without amsgrad:
  //   t=1: m=0.05 v=0.125   bc2=0.5   denom=0.50000001  p=0.900000002
  //   t=2: m=0.015 v=0.1075 bc2=0.75  denom=0.3785939   p=0.879147218
  //   t=3: m=0.0235 v=0.05875 bc2=0.875 denom=0.259119398 p=0.845681616
  // with amsgrad (vmax stays 0.125):
  //   t=2: denom=sqrt(0.125)/sqrt(0.75)+eps = 0.4082483   p=0.880661926
  //   t=3: denom=sqrt(0.125)/sqrt(0.875)+eps = 0.377964483 p=0.857719064
  static const expect3 plain = {{0.900000002, -1.9},
                                {0.879147218, -1.83859649},
                                {0.845681616, -1.82147493}};
  static const expect3 ams = {{0.900000002, -1.9},
                              {0.880661926, -1.85487782},
                              {0.857719064, -1.84365046}};
  lurn_adam_config c = lurn_adam_defaults();
  c.lr = 0.1, c.beta2 = 0.5;
  run_adam(0, c, plain, "adam beta2=.5", NULL);
  c.amsgrad = 1;
  run_adam(0, c, ams, "adam amsgrad", NULL);
}

static void test_adamw(void) {
  // decoupled: p *= 1 - lr*wd = 0.99 first, then Adam's step without L2.
  //   t=1: p=0.99        then -0.1/0.1*0.05/0.50000001          -> 0.890000002
  //   t=2: p=0.881100002 then -0.1/0.19*0.015/0.412262038       -> 0.861950199
  //   t=3: p=0.853330697 then -0.1/0.271*0.0235/0.341447855     -> 0.827934179
  static const expect3 e = {{0.890000002, -1.88},
                            {0.861950199, -1.81009739},
                            {0.827934179, -1.77857246}};
  lurn_adam_config c = lurn_adamw_defaults();
  CHECK(c.weight_decay == 1e-2);
  c.lr = 0.1, c.weight_decay = 0.1;
  run_adam(1, c, e, "adamw", NULL);
  // amsgrad with beta2 0.5 (vmax 0.125 as in test_adam_amsgrad):
  //   t=2: p=0.881100002 - 0.1/0.19*0.015/0.4082483   -> 0.861761926
  //   t=3: p=0.853144306 - 0.1/0.271*0.0235/0.377964483 -> 0.830201445
  static const expect3 ams = {{0.890000002, -1.88},
                              {0.861761926, -1.81607782},
                              {0.830201445, -1.78668969}};
  c.beta2 = 0.5, c.amsgrad = 1;
  run_adam(1, c, ams, "adamw amsgrad", NULL);
}

static void test_adam_lr_change_keeps_state(void) {
  // Steps 1-2 at lr 0.1 as in test_adam, then lr 0.01 for step 3: the moments
  // and the step counter carry on (m=0.0235, bc1=0.271, denom=0.341447855):
  //   t=3: p = 0.880850199 - 0.01/0.271*0.0235/0.341447855 = 0.878310547
  static const expect3 e = {{0.900000002, -1.9},
                            {0.880850199, -1.84889739},
                            {0.878310547, -1.847555}};
  float p[2] = {P0[0], P0[1]}, m[2] = {0}, v[2] = {0};
  lurn_adam_state s = {0, m, v, NULL};
  lurn_adam_config c = lurn_adam_defaults();
  lurn_status st = {0};
  for (int t = 0; t < 3; t++) {
    c.lr = t < 2 ? 0.1 : 0.01;
    CHECK(lurn_adam_step(p, G[t], &s, 2, &c, &st) == LURN_OK);
    check_step(p, e, t, "adam lr change");
  }
  CHECK(s.step == 3);
}

static void test_adam_errors(void) {
  float p[1] = {1}, g[1] = {1}, m[1] = {0}, v[1] = {0};
  lurn_adam_state s = {0, m, v, NULL};
  lurn_adam_config c = lurn_adam_defaults();
  lurn_status st = {0};
  c.beta1 = 1.0;
  CHECK(lurn_adam_step(p, g, &s, 1, &c, &st) == LURN_EARG);
  CHECK_MSG(st, "adam: invalid beta1 1 (needs 0 <= beta1 < 1)");
  c = lurn_adamw_defaults();
  c.amsgrad = 1;
  CHECK(lurn_adamw_step(p, g, &s, 1, &c, &st) == LURN_EARG);
  CHECK_MSG(st, "adamw: amsgrad needs a max_exp_avg_sq buffer");
  CHECK(p[0] == 1 && s.step == 0 && m[0] == 0);
}

/* ---- RMSprop -------------------------------------------------------------- */

static void run_rmsprop(lurn_rmsprop_config c, const expect3 e, const char *name) {
  float p[2] = {P0[0], P0[1]}, sq[2] = {0}, ga[2] = {0}, b[2] = {0};
  lurn_rmsprop_state s = {0, sq, c.centered ? ga : NULL, c.momentum > 0 ? b : NULL};
  lurn_status st = {0};
  for (int t = 0; t < 3; t++) {
    CHECK(lurn_rmsprop_step(p, G[t], &s, 2, &c, &st) == LURN_OK);
    check_step(p, e, t, name);
  }
  CHECK(s.step == 3);
}

static void test_rmsprop(void) {
  // lr 0.01, alpha 0.99, eps 1e-8: sq = 0.99*sq + 0.01*g^2, p -= lr*g/(sqrt(sq)+eps)
  //   t=1: sq=0.0025     avg=0.05000001   p = 1 - 0.01*0.5/0.05000001 = 0.90000002
  //   t=2: sq=0.003375   avg=0.0580947602 p = 0.951639789
  //   t=3: sq=0.00344125 avg=0.0586621784 p = 0.93459303
  static const expect3 e = {{0.90000002, -1.90000001},
                            {0.951639789, -1.91970659},
                            {0.93459303, -1.95653426}};
  lurn_rmsprop_config c = lurn_rmsprop_defaults();
  run_rmsprop(c, e, "rmsprop");
}

static void test_rmsprop_centered(void) {
  // centered: ga = 0.99*ga + 0.01*g, avg = sqrt(sq - ga^2) + eps
  //   t=1: sq=0.0025     ga=0.005     avg=0.0497493819 p=0.899496239
  //   t=2: sq=0.003375   ga=0.00195   avg=0.0580620243 p=0.951165123
  //   t=3: sq=0.00344125 ga=0.0029305 avg=0.0585889353 p=0.934097054
  static const expect3 e = {{0.899496239, -1.89949623},
                            {0.951165123, -1.91926279},
                            {0.934097054, -1.95611326}};
  lurn_rmsprop_config c = lurn_rmsprop_defaults();
  c.centered = 1;
  run_rmsprop(c, e, "rmsprop centered");
}

static void test_rmsprop_momentum(void) {
  // momentum 0.9: b = 0.9*b + g/avg, p -= lr*b
  //   t=1: avg=0.05000001   b=9.999998   p=0.90000002
  //   t=2: avg=0.0580947602 b=3.83602129 p=0.861639807
  //   t=3: avg=0.0586621784 b=5.15709503 p=0.810068857
  static const expect3 e = {{0.90000002, -1.90000001},
                            {0.861639807, -1.8297066},
                            {0.810068857, -1.8032702}};
  lurn_rmsprop_config c = lurn_rmsprop_defaults();
  c.momentum = 0.9;
  run_rmsprop(c, e, "rmsprop momentum");
}

static void test_rmsprop_all_options(void) {
  // alpha 0.9, eps 1e-3, momentum 0.5, centered, weight_decay 0.1:
  //   t=1: g=0.6          sq=0.036        ga=0.06         avg=0.181       b=3.31491713 p=0.966850829
  //   t=2: g=-0.203314917 sq=0.0365336956 ga=0.0336685083 avg=0.189149215 b=0.582566885 p=0.96102516
  //   t=3: g=0.196102516  sq=0.0367259457 ga=0.0499119091 avg=0.186026341 b=1.34544875 p=0.947570672
  static const expect3 e = {{0.966850829, -1.966759},
                            {0.96102516, -1.95023499},
                            {0.947570672, -1.9479995}};
  lurn_rmsprop_config c = lurn_rmsprop_defaults();
  c.alpha = 0.9, c.eps = 1e-3, c.momentum = 0.5, c.centered = 1, c.weight_decay = 0.1;
  run_rmsprop(c, e, "rmsprop all");
}

/* ---- Adagrad -------------------------------------------------------------- */

static void run_adagrad(lurn_adagrad_config c, const expect3 e, const char *name) {
  float p[2] = {P0[0], P0[1]}, sum[2];
  lurn_adagrad_init(sum, 2, &c);
  CHECK(sum[0] == (float)c.initial_accumulator_value);
  lurn_adagrad_state s = {0, sum};
  lurn_status st = {0};
  for (int t = 0; t < 3; t++) {
    CHECK(lurn_adagrad_step(p, G[t], &s, 2, &c, &st) == LURN_OK);
    check_step(p, e, t, name);
  }
  CHECK(s.step == 3);
}

static void test_adagrad(void) {
  // lr 0.1: sum += g^2, p -= lr*g/(sqrt(sum)+1e-10)
  //   t=1: sum=0.25 p = 1 - 0.1*0.5/0.5 = 0.9
  //   t=2: sum=0.34 p = 0.9 + 0.03/0.583095189 = 0.951449576
  //   t=3: sum=0.35 p = 0.951449576 - 0.01/0.591607978 = 0.93454649
  static const expect3 e = {{0.9, -1.9}, {0.951449576, -1.91961161}, {0.93454649, -1.95612645}};
  lurn_adagrad_config c = lurn_adagrad_defaults();
  c.lr = 0.1;
  run_adagrad(c, e, "adagrad");
}

static void test_adagrad_all_options(void) {
  // lr 0.1, lr_decay 0.5 (clr = lr/(1+(t-1)*0.5)), weight_decay 0.1,
  // initial_accumulator_value 0.2, eps 1e-3:
  //   t=1: g=0.6         clr=0.1          sum=0.56        p=0.919928627
  //   t=2: g=-0.208007137 clr=0.0666666667 sum=0.603266969 p=0.937759533
  //   t=3: g=0.193775953 clr=0.05         sum=0.640816089 p=0.925671351
  static const expect3 e = {{0.919928627, -1.90636886},
                            {0.937759533, -1.90685589},
                            {0.925671351, -1.9149148}};
  lurn_adagrad_config c = {0.1, 0.5, 0.1, 0.2, 1e-3, 0};
  run_adagrad(c, e, "adagrad all");
}

/* ---- threads do not change results --------------------------------------- */

static void test_threads_bit_identical(void) {
  enum { N = 100000 };
  float *p1 = malloc(N * sizeof *p1), *p2 = malloc(N * sizeof *p2), *g = malloc(N * sizeof *g);
  float *m1 = calloc(N, sizeof *m1), *v1 = calloc(N, sizeof *v1);
  float *m2 = calloc(N, sizeof *m2), *v2 = calloc(N, sizeof *v2);
  for (int i = 0; i < N; i++) {
    p1[i] = p2[i] = sinf((float)i);
    g[i] = cosf((float)i * 0.7f);
  }
  lurn_adam_config c = lurn_adamw_defaults();
  lurn_adam_state s1 = {0, m1, v1, NULL}, s2 = {0, m2, v2, NULL};
  omp_set_num_threads(1);
  for (int t = 0; t < 3; t++) lurn_adamw_step(p1, g, &s1, N, &c, NULL);
  omp_set_num_threads(2);
  for (int t = 0; t < 3; t++) lurn_adamw_step(p2, g, &s2, N, &c, NULL);
  CHECK(memcmp(p1, p2, N * sizeof *p1) == 0);
  CHECK(memcmp(v1, v2, N * sizeof *v1) == 0);
  free(p1), free(p2), free(g), free(m1), free(v1), free(m2), free(v2);
}

/* The row steps on a [R, W] table against the dense step: lazy updates
 * exactly the rows with a non-zero gradient (bit for bit as the dense step
 * updates them) and leaves the others' parameters and moments untouched;
 * without lazy every row, as the dense step. R * W is above the threading
 * threshold, so the row loop runs split at 2 threads too. */
static void test_adam_rows_lazy(void) {
  enum { R = 700, W = 64, N = R * W };
  for (int decoupled = 0; decoupled < 2; decoupled++)
    for (int lazy = 0; lazy < 2; lazy++)
      for (int threads = 1; threads <= 2; threads++) {
        float *p0 = malloc(N * sizeof(float)), *g = calloc(N, sizeof(float));
        float *pd = malloc(N * sizeof(float)), *pr = malloc(N * sizeof(float));
        float *md = malloc(N * sizeof(float)), *vd = malloc(N * sizeof(float));
        float *mr = malloc(N * sizeof(float)), *vr = malloc(N * sizeof(float));
        float *m0 = malloc(N * sizeof(float)), *v0 = malloc(N * sizeof(float));
        for (int i = 0; i < N; i++) {
          p0[i] = sinf((float)i);
          m0[i] = 0.01f * cosf((float)i * 0.3f);   /* moments of earlier steps */
          v0[i] = 1e-4f * (1.5f + sinf((float)i * 0.11f));
        }
        /* used rows: every 7th, plus a row with one non-zero at its end and
         * one with a single NaN; row 3 holds -0.0 only (zero: not used) */
        int used = 0;
        for (int r = 0; r < R; r++) {
          if (r % 7 == 0) {
            for (int j = 0; j < W; j++) g[r * W + j] = cosf((float)(r * W + j) * 0.7f);
            used++;
          }
        }
        g[5 * W + W - 1] = 0.25f, used++;
        g[9 * W + 17] = NAN, used++;
        for (int j = 0; j < W; j++) g[3 * W + j] = -0.0f;
        lurn_adam_config c = decoupled ? lurn_adamw_defaults() : lurn_adam_defaults();
        c.lr = 0.01, c.weight_decay = 0.05, c.lazy = lazy;
        memcpy(pd, p0, N * sizeof(float)), memcpy(pr, p0, N * sizeof(float));
        memcpy(md, m0, N * sizeof(float)), memcpy(mr, m0, N * sizeof(float));
        memcpy(vd, v0, N * sizeof(float)), memcpy(vr, v0, N * sizeof(float));
        lurn_adam_state sd = {3, md, vd, NULL}, sr = {3, mr, vr, NULL};
        omp_set_num_threads(threads);
        CHECK((decoupled ? lurn_adamw_step : lurn_adam_step)(pd, g, &sd, N, &c, NULL) == LURN_OK);
        int64_t updated = -1;
        CHECK((decoupled ? lurn_adamw_step_rows : lurn_adam_step_rows)(pr, g, &sr, R, W, &c,
                                                                       &updated, NULL) == LURN_OK);
        CHECK(sr.step == 4 && sd.step == 4);
        CHECK(updated == (lazy ? used : R));
        int rows_ok = 0;
        for (int r = 0; r < R; r++) {
          int zero = 1;
          for (int j = 0; j < W; j++) zero &= g[r * W + j] == 0.0f;
          const size_t o = (size_t)r * W, b = W * sizeof(float);
          const int same_as_dense = !memcmp(pr + o, pd + o, b) && !memcmp(mr + o, md + o, b) &&
                                    !memcmp(vr + o, vd + o, b);
          const int untouched = !memcmp(pr + o, p0 + o, b) && !memcmp(mr + o, m0 + o, b) &&
                                !memcmp(vr + o, v0 + o, b);
          /* a NaN row's values are NaN: memcmp still compares the bits */
          rows_ok += (lazy && zero) ? untouched : same_as_dense;
        }
        if (rows_ok != R)
          fprintf(stderr, "  rows: decoupled %d lazy %d threads %d: %d of %d rows right\n",
                  decoupled, lazy, threads, rows_ok, R);
        CHECK(rows_ok == R);
        /* the dense step moves an unused row (its momentum and decay) */
        CHECK(memcmp(pd + W, p0 + W, W * sizeof(float)) != 0);
        free(p0), free(g), free(pd), free(pr), free(md), free(vd), free(mr), free(vr);
        free(m0), free(v0);
      }
  omp_set_num_threads(1);
  /* errors before any write */
  float p[4] = {1, 2, 3, 4}, gr[4] = {1, 1, 1, 1}, m[4] = {0}, v[4] = {0};
  lurn_adam_state s = {0, m, v, NULL};
  lurn_adam_config c = lurn_adam_defaults();
  c.lazy = 1;
  lurn_status st = {0};
  CHECK(lurn_adam_step_rows(p, gr, &s, -1, 4, &c, NULL, &st) == LURN_EARG);
  CHECK(strstr(st.msg, "negative table shape") != NULL);
  CHECK(lurn_adam_step_rows(p, gr, &s, INT64_MAX / 2, 4, &c, NULL, &st) == LURN_EARG);
  CHECK(strstr(st.msg, "overflows") != NULL);
  c.lr = -1;
  CHECK(lurn_adam_step_rows(p, gr, &s, 2, 2, &c, NULL, &st) == LURN_EARG);
  CHECK(p[0] == 1.0f && s.step == 0 && m[0] == 0.0f);
}

/* ---- clipping ------------------------------------------------------------- */

static void test_clip_grad_norm(void) {
  // Two tensors {3, -4} and {12}: 2-norm sqrt(9+16+144) = 13, 1-norm 19,
  // inf-norm 12, 3-norm (27+64+1728)^(1/3) = 12.207054953820636.
  float a[2] = {3, -4}, b[1] = {12};
  float *xs[2] = {a, b};
  int64_t ns[2] = {2, 1};
  double total = 0;
  lurn_status st = {0};
  CHECK(lurn_clip_grad_norm(xs, ns, 2, 100, 1, &total, &st) == LURN_OK);
  CHECK_NEAR(total, 19, 1e-12);
  CHECK(lurn_clip_grad_norm(xs, ns, 2, 100, INFINITY, &total, &st) == LURN_OK);
  CHECK_NEAR(total, 12, 1e-12);
  CHECK(lurn_clip_grad_norm(xs, ns, 2, 100, 3, &total, &st) == LURN_OK);
  CHECK_NEAR(total, 12.207054953820636, 1e-12);
  CHECK(a[0] == 3 && a[1] == -4 && b[0] == 12);  // below max_norm: untouched
  // max_norm 5: scale by 5/(13+1e-6) = 0.384615355; the norm before clipping is returned.
  CHECK(lurn_clip_grad_norm(xs, ns, 2, 5, 2, &total, &st) == LURN_OK);
  CHECK_NEAR(total, 13, 1e-12);
  CHECK_NEAR(a[0], 1.15384607, 1e-6);
  CHECK_NEAR(a[1], -1.53846142, 1e-6);
  CHECK_NEAR(b[0], 4.61538426, 1e-6);
  // errors
  CHECK(lurn_clip_grad_norm(xs, ns, 2, -1, 2, &total, &st) == LURN_EARG);
  CHECK_MSG(st, "clip_grad_norm: max_norm must be >= 0");
  CHECK(lurn_clip_grad_norm(xs, ns, 2, 1, 0, &total, &st) == LURN_EARG);
  CHECK_MSG(st, "norm_type must be > 0 or inf");
}

static void test_clip_grad_norm_nonfinite(void) {
  // A NaN makes the norm NaN; the gradients are left as they are.
  float a[2] = {3, NAN}, b[1] = {12};
  float *xs[2] = {a, b};
  int64_t ns[2] = {2, 1};
  double total = 0;
  CHECK(lurn_clip_grad_norm(xs, ns, 2, 1, 2, &total, NULL) == LURN_OK);
  CHECK(isnan(total));
  CHECK(a[0] == 3 && b[0] == 12);
  CHECK(lurn_clip_grad_norm(xs, ns, 2, 1, INFINITY, &total, NULL) == LURN_OK);
  CHECK(isnan(total));
  a[1] = INFINITY;
  CHECK(lurn_clip_grad_norm(xs, ns, 2, 1, 2, &total, NULL) == LURN_OK);
  CHECK(isinf(total));
  CHECK(a[0] == 3 && b[0] == 12);
}

static void test_clip_grad_value(void) {
  float a[4] = {-3, 0.5f, 2, NAN}, b[1] = {-0.25f};
  float *xs[2] = {a, b};
  int64_t ns[2] = {4, 1};
  lurn_status st = {0};
  CHECK(lurn_clip_grad_value(xs, ns, 2, 1, &st) == LURN_OK);
  CHECK(a[0] == -1 && a[1] == 0.5f && a[2] == 1 && isnan(a[3]) && b[0] == -0.25f);
  CHECK(lurn_clip_grad_value(xs, ns, 2, -1, &st) == LURN_EARG);
  CHECK_MSG(st, "clip_grad_value: clip value must be >= 0 (got -1)");
}

static void test_find_nonfinite(void) {
  float a[3] = {1, 2, 3}, b[4] = {0, 0, INFINITY, NAN}, c[2] = {NAN, 0};
  const float *xs[3] = {a, b, c};
  int64_t ns[3] = {3, 4, 2};
  int which = -1;
  int64_t elem = -1;
  CHECK(lurn_find_nonfinite(xs, ns, 1, &which, &elem) == 0);
  CHECK(lurn_find_nonfinite(xs, ns, 3, &which, &elem) == 1);
  CHECK(which == 1 && elem == 2);  // the first one: tensor 1, element 2 (Inf)
  CHECK(lurn_find_nonfinite(xs + 2, ns + 2, 1, &which, &elem) == 1);
  CHECK(which == 0 && elem == 0);
}

/* Large and odd-sized tensors (the lanes run on across tensors and tails):
 * the norm against a plain long double sum, and the lane order's defining
 * property, the same norm when the same numbers are split differently into
 * tensors whose sizes are multiples of the lane count. */
static void test_clip_grad_norm_lanes(void) {
  enum { N = 10007 };
  static float v[N];
  uint32_t s = 12345;
  long double sq = 0, ab = 0;
  for (int i = 0; i < N; i++) {
    s = s * 1664525u + 1013904223u;
    v[i] = ((float)(s >> 8) / 16777216.0f - 0.5f) * (i % 7 == 0 ? 1e3f : 1.0f);
    sq += (long double)v[i] * v[i];
    ab += fabsl((long double)v[i]);
  }
  const int cuts[][4] = {{N, 0, 0, 0}, {1, 16, 4000, N - 4017}, {17, 3, 9000, N - 9020},
                         {4096, 4096, 1, N - 8193}};
  double first = -1;
  for (unsigned c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
    float *xs[4];
    int64_t ns[4];
    int count = 0, at = 0;
    for (int k = 0; k < 4 && cuts[c][k] > 0; k++) {
      xs[count] = v + at;
      ns[count++] = cuts[c][k];
      at += cuts[c][k];
    }
    CHECK(at == N);
    double t2 = 0, t1 = 0;
    CHECK(lurn_clip_grad_norm(xs, ns, count, 1e30, 2, &t2, NULL) == LURN_OK);
    CHECK(lurn_clip_grad_norm(xs, ns, count, 1e30, 1, &t1, NULL) == LURN_OK);
    CHECK(fabs(t2 - (double)sqrtl(sq)) <= 1e-12 * t2);
    CHECK(fabs(t1 - (double)ab) <= 1e-12 * t1);
    if (c == 0) first = t2;
    else CHECK(t2 == first);   // the lane of an element is its position overall
  }
}

/* NaN/Inf at block edges (the scan goes in blocks of 4096), in a later tensor. */
static void test_find_nonfinite_blocks(void) {
  enum { N = 3 * 4096 + 5 };
  static float v[N], w[N];
  const int64_t at[] = {0, 4095, 4096, 4097, 8191, 3 * 4096 + 4};
  for (unsigned t = 0; t < sizeof at / sizeof at[0]; t++) {
    for (int i = 0; i < N; i++) v[i] = w[i] = (float)i;
    w[at[t]] = t % 2 ? NAN : -INFINITY;
    w[N - 1] = NAN;   // a later one must not be reported first
    const float *xs[2] = {v, w};
    int64_t ns[2] = {N, N};
    int which = -1;
    int64_t elem = -1;
    CHECK(lurn_find_nonfinite(xs, ns, 1, &which, &elem) == 0);
    CHECK(lurn_find_nonfinite(xs, ns, 2, &which, &elem) == 1);
    CHECK(which == 1 && elem == at[t]);
  }
}

int main(void) {
  RUN(test_sgd_plain);
  RUN(test_sgd_momentum);
  RUN(test_sgd_dampening);
  RUN(test_sgd_nesterov);
  RUN(test_sgd_weight_decay);
  RUN(test_sgd_maximize);
  RUN(test_sgd_errors);
  RUN(test_adam);
  RUN(test_adam_weight_decay);
  RUN(test_adam_betas);
  RUN(test_adam_amsgrad);
  RUN(test_adamw);
  RUN(test_adam_lr_change_keeps_state);
  RUN(test_adam_errors);
  RUN(test_rmsprop);
  RUN(test_rmsprop_centered);
  RUN(test_rmsprop_momentum);
  RUN(test_rmsprop_all_options);
  RUN(test_adagrad);
  RUN(test_adagrad_all_options);
  RUN(test_threads_bit_identical);
  RUN(test_adam_rows_lazy);
  RUN(test_clip_grad_norm);
  RUN(test_clip_grad_norm_nonfinite);
  RUN(test_clip_grad_value);
  RUN(test_find_nonfinite);
  RUN(test_clip_grad_norm_lanes);
  RUN(test_find_nonfinite_blocks);
  return check_summary();
}
