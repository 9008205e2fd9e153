/*
 * bench_pointwise.c — the cost of NaN/Inf propagation in the recurrent
 * kernels' pointwise passes (issue 12, item 8).
 *
 * It includes src/core/rnn.c and times its LSTM and GRU forward and
 * backward rows (the pointwise work of one step of one sample, units in
 * L1) in a loop, by process CPU time, so a busy machine barely moves it.
 * Build it twice: as is (the shipped code: NaN propagates) and with
 * -DLURN_BENCH_FINITE_MATH (the old finite-math-only build, where the
 * clamps swallow NaN), then run both in alternation:
 *   for v in nan fin; do
 *     gcc -O3 -march=native -fno-math-errno -fopenmp -I src/core \
 *         -isystem /usr/include/x86_64-linux-gnu/blis-openmp \
 *         $([ $v = fin ] && echo -DLURN_BENCH_FINITE_MATH) bench/bench_pointwise.c \
 *         src/core/blas.c src/core/status.c -L/usr/lib/x86_64-linux-gnu/blis-openmp \
 *         -Wl,-rpath,/usr/lib/x86_64-linux-gnu/blis-openmp -lblis -lm -o /tmp/bp_$v
 *   done
 *   for r in 1 2 3; do /tmp/bp_nan; /tmp/bp_fin; done
 * It prints ns per unit for each row kind, and whether a NaN input came out
 * as NaN.
 */
#define _POSIX_C_SOURCE 200809L
#include "../src/core/rnn.c"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define HU 256            /* units per row */
#define REPS 40000

static float pre[4 * HU], bias[4 * HU], g[4 * HU], ho[HU], hi[HU], c[HU], tc[HU], cp[HU],
    dy[HU], dh[HU], dc[HU];

int main(void) {
  for (int j = 0; j < 4 * HU; j++) {
    pre[j] = (float)((j * 37) % 200 - 100) * 0.03f;
    bias[j] = (float)((j * 11) % 20 - 10) * 0.01f;
  }
  for (int j = 0; j < HU; j++) hi[j] = c[j] = cp[j] = dy[j] = (float)(j % 13) * 0.05f - 0.3f;
  double best[4] = {1e9, 1e9, 1e9, 1e9};
  float sink = 0.0f;
  for (int round = 0; round < 5; round++) {
    double t0 = cpu_s();
    for (int r = 0; r < REPS; r++) {
      lstm_fwd_row(HU, HU, pre, bias, g, ho, c, tc, 1);
      c[r & (HU - 1)] = 0.1f;   /* keep c bounded and the loop honest */
    }
    double t1 = cpu_s();
    for (int r = 0; r < REPS; r++) {
      for (int j = 0; j < 4 * HU; j++) g[j] = 0.5f;
      lstm_bwd_row(HU, HU, g, tc, cp, dy, dh, dc);
      sink += g[r & (HU - 1)];
    }
    double t2 = cpu_s();
    for (int r = 0; r < REPS; r++) gru_fwd_row(HU, HU, pre, bias, g, hi, ho, 1);
    double t3 = cpu_s();
    for (int r = 0; r < REPS; r++) {
      for (int j = 0; j < 4 * HU; j++) g[j] = 0.5f;
      gru_bwd_row(HU, HU, g, hi, dy, dh);
      sink += g[r & (HU - 1)];
    }
    double t4 = cpu_s();
    double t[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
    for (int k = 0; k < 4; k++)
      if (t[k] < best[k]) best[k] = t[k];
  }
  pre[0] = NAN;
  lstm_fwd_row(HU, HU, pre, bias, g, ho, c, tc, 1);
  const double per = 1e9 / ((double)REPS * HU);
#ifdef LURN_BENCH_FINITE_MATH
  const char *v = "finite-math-only";
#else
  const char *v = "IEEE (NaN propagates)";
#endif
  printf("%-22s ns/unit: lstm fwd %.3f bwd(+fill) %.3f  gru fwd %.3f bwd(+fill) %.3f  "
         "NaN in -> %s out%s\n", v, best[0] * per, best[1] * per, best[2] * per, best[3] * per,
         isnan(ho[0]) ? "NaN" : "finite", sink == 12345.0f ? "" : "");
  return 0;
}
