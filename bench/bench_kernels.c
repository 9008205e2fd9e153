/*
 * bench_kernels.c — times lurn's recurrent kernels (src/core/rnn.c) against
 * the GEMMs they issue, run alone (the GEMM floor of the kernel plan).
 *
 * For each cell (rnn_tanh, lstm, gru), size and thread count it prints the
 * median over R runs of
 *   infer    lurn_rnn_forward in inference mode
 *   train    lurn_rnn_forward (training) + lurn_rnn_backward (no optimizer)
 *   fwd/bwd  the two halves of train
 * and the same GEMMs with the same shapes and strides through lurn_sgemm:
 *   inference: X*W_ih^T once, h*W_hh^T T times;
 *   training:  those, plus dG_t*W_hh T times, dG*W_ih, dG^T*X, dG^T*H_prev.
 * "floor%" is floor time / kernel time (100% = no cost beyond the GEMMs).
 * GFLOP/s uses the standard count: forward 2*G*H*(I+H)*B*T, training 3x.
 *
 * Build and run (from the repository root, after building lurn_core):
 *   gcc -O2 -march=native -fopenmp -I src/core -I /usr/include/x86_64-linux-gnu/blis-openmp \
 *       bench/bench_kernels.c /tmp/build-rnn/liblurn_core.a \
 *       /usr/lib/x86_64-linux-gnu/blis-openmp/libblis.so -lcjson -lm \
 *       -Wl,-rpath,/usr/lib/x86_64-linux-gnu/blis-openmp -o /tmp/bench_kernels
 *   /tmp/bench_kernels [-r REPEATS] [-t THREADS,...] [-c CELL] [-s SIZE] [-p] [-b]
 *   defaults: 7 runs, threads 1,2, every cell (rnn_tanh, lstm, gru), every
 *   size (0: 64,100,128,256  1: 64,100,512,512  2: 32,50,128,128
 *   3: 16,200,300,384  4: 128,35,650,650: issue 13's five).
 *   -b: also the floor's parts: the input projection, the per-step products
 *   of the forward and of BPTT, the three GEMMs after BPTT (where a
 *   training step's time beyond the floor goes).
 * The machine should be otherwise idle: OpenMP threads that spin while
 * another process holds the core make 2-thread numbers meaningless.
 */
#define _POSIX_C_SOURCE 200809L
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas.h"
#include "rnn.h"

/* -p: process CPU time instead of wall time. On a busy machine it keeps
 * 1-thread numbers honest (time spent preempted is not counted); with more
 * threads it also counts OpenMP's spin-waiting, so use it for 1 thread. */
static clockid_t g_clock = CLOCK_MONOTONIC;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(g_clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static float *falloc(size_t n, float scale) {
  float *p = NULL;
  if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float)) != 0) {
    fprintf(stderr, "bench_kernels: out of memory (%zu floats)\n", n);
    exit(1);
  }
  uint32_t s = 12345u;
  for (size_t i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    p[i] = ((float)(s >> 8) / 16777216.0f * 2.0f - 1.0f) * scale;
  }
  return p;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct {
  lurn_rnn_desc d;
  float *x, *wih, *whh, *bih, *bhh, *y, *hn, *cn, *cache, *work, *bwork;
  float *dx, *dwih, *dwhh, *dbih, *dbhh, *dy, *dh0, *dc0;
  /* GEMM-floor operands: dG [N, W], Hprev [N, H], hp [B, W] */
  float *G, *Hp, *hp;
} bench;

static void bench_init(bench *b, lurn_cell cell, int64_t B, int64_t T, int64_t I, int64_t H) {
  memset(b, 0, sizeof *b);
  b->d = (lurn_rnn_desc){cell, T, B, I, H, NULL, 0};
  int64_t GH = lurn_cell_gates(cell) * H, N = T * B, W = cell == LURN_LSTM || cell == LURN_GRU ? 4 * H : H;
  float ws = 1.0f / (float)H;
  b->x = falloc((size_t)(N * I), 1.0f);
  b->wih = falloc((size_t)(GH * I), ws);
  b->whh = falloc((size_t)(GH * H), ws);
  b->bih = falloc((size_t)GH, 0.1f);
  b->bhh = falloc((size_t)GH, 0.1f);
  b->y = falloc((size_t)(N * H), 0);
  b->dy = falloc((size_t)(N * H), 0.01f);
  b->hn = falloc((size_t)(B * H), 0);
  b->cn = falloc((size_t)(B * H), 0);
  b->dh0 = falloc((size_t)(B * H), 0);
  b->dc0 = falloc((size_t)(B * H), 0);
  b->dx = falloc((size_t)(N * I), 0);
  b->dwih = falloc((size_t)(GH * I), 0);
  b->dwhh = falloc((size_t)(GH * H), 0);
  b->dbih = falloc((size_t)GH, 0);
  b->dbhh = falloc((size_t)GH, 0);
  b->cache = falloc(lurn_rnn_cache_floats(&b->d), 0);
  b->work = falloc(lurn_rnn_work_floats(&b->d, 0), 0);
  b->bwork = falloc(lurn_rnn_bwd_work_floats(&b->d), 0);
  b->G = falloc((size_t)(N * W), 0.01f);
  b->Hp = falloc((size_t)(N * H), 0.1f);
  b->hp = falloc((size_t)(B * W), 0);
}

static void bench_free(bench *b) {
  float *ps[] = {b->x, b->wih, b->whh, b->bih, b->bhh, b->y, b->hn, b->cn, b->cache, b->work,
                 b->bwork, b->dx, b->dwih, b->dwhh, b->dbih, b->dbhh, b->dy, b->dh0, b->dc0,
                 b->G, b->Hp, b->hp};
  for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) free(ps[k]);
}

static void run_infer(bench *b) {
  lurn_status st;
  int lstm = b->d.cell == LURN_LSTM;
  if (lurn_rnn_forward(&b->d, b->y, b->d.H, b->hn, lstm ? b->cn : NULL, b->x, b->d.I, NULL,
                       NULL, b->wih, b->whh, b->bih, b->bhh, NULL, b->work, &st)) {
    fprintf(stderr, "bench_kernels: %s\n", st.msg);
    exit(1);
  }
}

static void run_fwd(bench *b) {
  lurn_status st;
  int lstm = b->d.cell == LURN_LSTM;
  if (lurn_rnn_forward(&b->d, b->y, b->d.H, b->hn, lstm ? b->cn : NULL, b->x, b->d.I, NULL,
                       NULL, b->wih, b->whh, b->bih, b->bhh, b->cache, b->work, &st)) {
    fprintf(stderr, "bench_kernels: %s\n", st.msg);
    exit(1);
  }
}

static void run_bwd(bench *b) {
  lurn_status st;
  int lstm = b->d.cell == LURN_LSTM;
  if (lurn_rnn_backward(&b->d, b->dx, b->d.I, b->dh0, lstm ? b->dc0 : NULL, b->dwih, b->dwhh,
                        b->dbih, b->dbhh, b->dy, b->d.H, b->hn, lstm ? b->cn : NULL, b->x,
                        b->d.I, b->wih, b->whh, b->cache, b->bwork, &st)) {
    fprintf(stderr, "bench_kernels: %s\n", st.msg);
    exit(1);
  }
}

/* The kernel plan's GEMMs alone, same shapes and strides as rnn.c. */
static void floor_fwd(bench *b) {
  const int64_t T = b->d.T, B = b->d.B, I = b->d.I, H = b->d.H, N = T * B;
  const int64_t GH = lurn_cell_gates(b->d.cell) * H;
  const int64_t W = b->d.cell == LURN_LSTM || b->d.cell == LURN_GRU ? 4 * H : H;
  /* G[N, GH] := X * W_ih^T; T times hp[B, GH] := h * W_hh^T */
  lurn_sgemm(N, GH, I, 1.0f, b->x, I, 1, b->wih, 1, I, 0.0f, b->G, W, 1);
  for (int64_t t = 0; t < T; t++)
    lurn_sgemm(B, GH, H, 1.0f, b->Hp + t * B * H, H, 1, b->whh, 1, H, 0.0f, b->hp, W, 1);
}

static void floor_bwd(bench *b) {
  const int64_t T = b->d.T, B = b->d.B, I = b->d.I, H = b->d.H, N = T * B;
  const int64_t GH = lurn_cell_gates(b->d.cell) * H;
  const int64_t W = b->d.cell == LURN_LSTM || b->d.cell == LURN_GRU ? 4 * H : H;
  /* T times dh[B, H] += dG_t * W_hh; then dX, dW_ih, dW_hh */
  for (int64_t t = T - 1; t >= 0; t--)
    lurn_sgemm(B, H, GH, 1.0f, b->G + t * B * W, W, 1, b->whh, H, 1, 1.0f, b->dh0, H, 1);
  lurn_sgemm(N, I, GH, 1.0f, b->G, W, 1, b->wih, I, 1, 0.0f, b->dx, I, 1);
  lurn_sgemm(GH, I, N, 1.0f, b->G, 1, W, b->x, I, 1, 1.0f, b->dwih, I, 1);
  lurn_sgemm(GH, H, N, 1.0f, b->G, 1, W, b->Hp, H, 1, 1.0f, b->dwhh, H, 1);
}

/* The floor's parts (-b): the input projection; the T per-step products
 * of the forward; of BPTT; the three GEMMs after BPTT. */
static int64_t gate_w(const bench *b) {
  return b->d.cell == LURN_LSTM || b->d.cell == LURN_GRU ? 4 * b->d.H : b->d.H;
}

static void part_proj(bench *b) {
  const int64_t N = b->d.T * b->d.B, I = b->d.I, GH = lurn_cell_gates(b->d.cell) * b->d.H;
  lurn_sgemm(N, GH, I, 1.0f, b->x, I, 1, b->wih, 1, I, 0.0f, b->G, gate_w(b), 1);
}

static void part_fwd_steps(bench *b) {
  const int64_t B = b->d.B, H = b->d.H, GH = lurn_cell_gates(b->d.cell) * H;
  for (int64_t t = 0; t < b->d.T; t++)
    lurn_sgemm(B, GH, H, 1.0f, b->Hp + t * B * H, H, 1, b->whh, 1, H, 0.0f, b->hp, gate_w(b), 1);
}

static void part_bwd_steps(bench *b) {
  const int64_t B = b->d.B, H = b->d.H, GH = lurn_cell_gates(b->d.cell) * H, W = gate_w(b);
  for (int64_t t = b->d.T - 1; t >= 0; t--)
    lurn_sgemm(B, H, GH, 1.0f, b->G + t * B * W, W, 1, b->whh, H, 1, 1.0f, b->dh0, H, 1);
}

static void part_bwd_gemms(bench *b) {
  const int64_t N = b->d.T * b->d.B, I = b->d.I, H = b->d.H, W = gate_w(b);
  const int64_t GH = lurn_cell_gates(b->d.cell) * H;
  lurn_sgemm(N, I, GH, 1.0f, b->G, W, 1, b->wih, I, 1, 0.0f, b->dx, I, 1);
  lurn_sgemm(GH, I, N, 1.0f, b->G, 1, W, b->x, I, 1, 1.0f, b->dwih, I, 1);
  lurn_sgemm(GH, H, N, 1.0f, b->G, 1, W, b->Hp, H, 1, 1.0f, b->dwhh, H, 1);
}

typedef void (*fn)(bench *);

/* Median ms of R timed runs of the kernel (f, then g if given) and of its
 * floor (ff, then fg if given), after one warm-up of each. Kernel and floor
 * runs alternate, so a machine whose load drifts affects both alike. */
static void time_pair(bench *b, fn f, fn g, fn ff, fn fg, int R, double *k_ms, double *f_ms,
                      double *g_ms, double *floor_ms) {
  double tot[64], tf[64], tg[64], tfl[64];
  if (R > 64) R = 64;
  f(b);
  if (g) g(b);
  ff(b);
  if (fg) fg(b);
  for (int r = 0; r < R; r++) {
    double t0 = now_ms();
    f(b);
    double t1 = now_ms();
    if (g) g(b);
    double t2 = now_ms();
    ff(b);
    if (fg) fg(b);
    double t3 = now_ms();
    tf[r] = t1 - t0;
    tg[r] = t2 - t1;
    tot[r] = t2 - t0;
    tfl[r] = t3 - t2;
  }
  *k_ms = median(tot, R);
  if (f_ms) *f_ms = median(tf, R);
  if (g_ms) *g_ms = median(tg, R);
  *floor_ms = median(tfl, R);
}

int main(int argc, char **argv) {
  int R = 7, threads[8] = {1, 2}, nthreads = 2, only_size = -1, only_cell = -1, parts = 0, opt;
  while ((opt = getopt(argc, argv, "r:t:c:s:pb")) != -1) {
    if (opt == 'r') R = atoi(optarg);
    else if (opt == 'b') parts = 1;
    else if (opt == 'p') g_clock = CLOCK_PROCESS_CPUTIME_ID;
    else if (opt == 's') only_size = atoi(optarg);
    else if (opt == 'c') only_cell = lurn_cell_parse(optarg);
    else if (opt == 't') {
      nthreads = 0;
      for (char *p = optarg; *p && nthreads < 8;) {
        threads[nthreads++] = (int)strtol(p, &p, 10);
        if (*p == ',') p++;
        else break;
      }
    } else {
      fprintf(stderr, "usage: bench_kernels [-r REPEATS] [-t THREADS,...] [-c CELL] [-s SIZE] [-p] [-b]\n");
      return 2;
    }
  }
  if (R < 1) R = 1;
  const struct { int64_t B, T, I, H; } sizes[] = {{64, 100, 128, 256}, {64, 100, 512, 512},
                                                  {32, 50, 128, 128}, {16, 200, 300, 384},
                                                  {128, 35, 650, 650}};
  const lurn_cell cells[] = {LURN_RNN_TANH, LURN_LSTM, LURN_GRU};
  printf("bench_kernels: BLIS %s (%s, openmp %d), median of %d runs, %s time\n",
         lurn_blis_version(), lurn_blis_arch(), lurn_blis_openmp(), R,
         g_clock == CLOCK_MONOTONIC ? "wall" : "process CPU");
  printf("%-8s %-18s %2s | %8s %8s %6s | %8s %8s %8s %8s %6s %7s\n", "cell", "B,T,I,H", "th",
         "infer", "floor", "floor%", "train", "fwd", "bwd", "floor", "floor%", "GFLOP/s");
  for (size_t c = 0; c < sizeof cells / sizeof cells[0]; c++)
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
      for (int k = 0; k < nthreads; k++) {
        if ((only_cell >= 0 && (int)cells[c] != only_cell) || (only_size >= 0 && (int)s != only_size))
          continue;
        lurn_set_threads(threads[k]);
        bench b;
        bench_init(&b, cells[c], sizes[s].B, sizes[s].T, sizes[s].I, sizes[s].H);
        double inf, inf_floor, train, fwd, bwd, train_floor;
        time_pair(&b, run_infer, NULL, floor_fwd, NULL, R, &inf, NULL, NULL, &inf_floor);
        time_pair(&b, run_fwd, run_bwd, floor_fwd, floor_bwd, R, &train, &fwd, &bwd, &train_floor);
        double G = lurn_cell_gates(cells[c]);
        double flops = 3.0 * 2.0 * G * (double)sizes[s].H * (double)(sizes[s].I + sizes[s].H) *
                       (double)sizes[s].B * (double)sizes[s].T;
        char dims[32];
        snprintf(dims, sizeof dims, "%lld,%lld,%lld,%lld", (long long)sizes[s].B,
                 (long long)sizes[s].T, (long long)sizes[s].I, (long long)sizes[s].H);
        printf("%-8s %-18s %2d | %8.2f %8.2f %5.0f%% | %8.2f %8.2f %8.2f %8.2f %5.0f%% %7.1f\n",
               lurn_cell_name(cells[c]), dims, threads[k], inf, inf_floor,
               100.0 * inf_floor / inf, train, fwd, bwd, train_floor,
               100.0 * train_floor / train, flops / train * 1e-6);
        if (parts) {
          double proj, fsteps, bsteps, after;
          time_pair(&b, part_proj, NULL, part_fwd_steps, NULL, R, &proj, NULL, NULL, &fsteps);
          time_pair(&b, part_bwd_steps, NULL, part_bwd_gemms, NULL, R, &bsteps, NULL, NULL, &after);
          printf("%-8s %-18s %2s   floor parts: projection %.2f, forward steps %.2f | BPTT steps "
                 "%.2f, GEMMs after BPTT %.2f\n", "", "", "", proj, fsteps, bsteps, after);
        }
        fflush(stdout);
        bench_free(&b);
      }
  return 0;
}
