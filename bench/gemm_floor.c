/*
 * gemm_floor.c — the BLIS sgemm floor of lurn's recurrent kernel plan.
 *
 * For one recurrent layer (cell with G gate blocks; T steps, batch B, input
 * I, hidden H; N = T*B) the kernels issue exactly these GEMMs, and nothing
 * can be faster than issuing them alone (no gate math, no memory traffic
 * beyond what BLIS itself does):
 *
 *   inference forward
 *     P   [N, GH]  = X [N, I] * W_ih^T [I, GH]           once (input projection)
 *     Z_t [B, GH] += h_{t-1} [B, H] * W_hh^T [H, GH]      T times (recurrent)
 *   training step = the forward above, plus BPTT:
 *     dh  [B, H]   = dG_t [B, GH] * W_hh [GH, H]          T times
 *     dW_ih [GH, I] += dG^T [GH, N] * X [N, I]             once
 *     dW_hh [GH, H] += dG^T [GH, N] * Hprev [N, H]         once
 *     dX  [N, I]   = dG [N, GH] * W_ih [GH, I]             once
 *
 * Operands have the layouts the kernels use (row-major buffers, weights as
 * PyTorch stores them, transposes as stride swaps), so BLIS sees the same
 * strides. The optimizer update is not a GEMM and is not counted.
 *
 *   gemm_floor THREADS REPEATS WARMUP CELL:B:T:I:H ...  one JSON line per spec
 *   gemm_floor THREADS REPEATS WARMUP peak:N             square N^3 sgemm
 *
 * Build: gcc -O2 -fopenmp -I/usr/include/x86_64-linux-gnu/blis-openmp bench/gemm_floor.c \
 *        -L/usr/lib/x86_64-linux-gnu/blis-openmp -Wl,-rpath,... -lblis -lm
 */
#define _POSIX_C_SOURCE 200809L
#include <blis.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static float *alloc_fill(size_t n) {
  float *p = NULL;
  if (posix_memalign((void **)&p, 64, (n ? n : 1) * sizeof(float)) != 0) {
    fprintf(stderr, "gemm_floor: out of memory (%zu floats)\n", n);
    exit(1);
  }
  /* small values: no overflow, no denormals over repeated accumulation */
  for (size_t i = 0; i < n; i++) p[i] = (float)((i * 2654435761u) % 1000) * 1e-6f;
  return p;
}

/* C[m,n] := beta*C + A[m,k]*B[k,n], strides in elements. */
static void sgemm(dim_t m, dim_t n, dim_t k, const float *a, inc_t rsa, inc_t csa,
                  const float *b, inc_t rsb, inc_t csb, float beta, float *c, inc_t rsc,
                  inc_t csc) {
  float one = 1.0f;
  bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, m, n, k, &one, (float *)a, rsa, csa,
            (float *)b, rsb, csb, &beta, c, rsc, csc);
}

typedef struct {
  int G;
  dim_t T, B, I, H;
  float *x, *p, *h, *w_ih, *w_hh, *dg, *dh, *dw_ih, *dw_hh, *dx, *hprev;
} problem;

static void forward(problem *q) {
  dim_t N = q->T * q->B, GH = q->G * q->H, B = q->B, H = q->H, I = q->I;
  /* P [N, GH] = X [N, I] * W_ih^T   (W_ih is [GH, I]: transpose = rs 1, cs I) */
  sgemm(N, GH, I, q->x, I, 1, q->w_ih, 1, I, 0.0f, q->p, GH, 1);
  for (dim_t t = 0; t < q->T; t++) {
    /* P_t [B, GH] += h [B, H] * W_hh^T */
    sgemm(B, GH, H, q->h, H, 1, q->w_hh, 1, H, 1.0f, q->p + t * B * GH, GH, 1);
  }
}

static void backward(problem *q) {
  dim_t N = q->T * q->B, GH = q->G * q->H, B = q->B, H = q->H, I = q->I;
  for (dim_t t = q->T - 1; t >= 0; t--) {
    /* dh [B, H] = dG_t [B, GH] * W_hh [GH, H] */
    sgemm(B, H, GH, q->dg + t * B * GH, GH, 1, q->w_hh, H, 1, 0.0f, q->dh, H, 1);
  }
  /* dW_ih [GH, I] += dG^T [GH, N] * X [N, I] */
  sgemm(GH, I, N, q->dg, 1, GH, q->x, I, 1, 1.0f, q->dw_ih, I, 1);
  /* dW_hh [GH, H] += dG^T [GH, N] * Hprev [N, H] */
  sgemm(GH, H, N, q->dg, 1, GH, q->hprev, H, 1, 1.0f, q->dw_hh, H, 1);
  /* dX [N, I] = dG [N, GH] * W_ih [GH, I] */
  sgemm(N, I, GH, q->dg, GH, 1, q->w_ih, I, 1, 0.0f, q->dx, I, 1);
}

static double cpu_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* "key": [wall...], "key_cpu": [cpu...], "median key": m (sorts ms). */
static void print_times(const char *key, double *ms, const double *cpu, int n) {
  printf("\"%s\": [", key);
  for (int i = 0; i < n; i++) printf("%s%.4f", i ? ", " : "", ms[i]);
  printf("], \"%.5s_cpu_ms\": [", key);
  for (int i = 0; i < n; i++) printf("%s%.4f", i ? ", " : "", cpu[i]);
  printf("]");
  qsort(ms, (size_t)n, sizeof *ms, cmp_double);
  printf(", \"%s\": %.4f", strcmp(key, "infer_ms") == 0 ? "infer_median_ms" : "train_median_ms",
         n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]));
}

static int run_spec(const char *spec, int threads, int repeats, int warmup) {
  char cell[16];
  long T, B, I, H;
  if (sscanf(spec, "%15[a-z]:%ld:%ld:%ld:%ld", cell, &B, &T, &I, &H) != 5 || B <= 0 || T <= 0 ||
      I <= 0 || H <= 0) {
    fprintf(stderr, "gemm_floor: bad spec '%s' (want cell:B:T:I:H)\n", spec);
    return 1;
  }
  int G = strcmp(cell, "lstm") == 0 ? 4 : strcmp(cell, "gru") == 0 ? 3 :
          strcmp(cell, "rnn") == 0 ? 1 : 0;
  if (G == 0) {
    fprintf(stderr, "gemm_floor: unknown cell '%s' (rnn, lstm, gru)\n", cell);
    return 1;
  }
  problem q = {.G = G, .T = T, .B = B, .I = I, .H = H};
  size_t N = (size_t)T * B, GH = (size_t)G * H;
  q.x = alloc_fill(N * I);
  q.p = alloc_fill(N * GH);
  q.h = alloc_fill((size_t)B * H);
  q.w_ih = alloc_fill(GH * I);
  q.w_hh = alloc_fill(GH * H);
  q.dg = alloc_fill(N * GH);
  q.dh = alloc_fill((size_t)B * H);
  q.dw_ih = alloc_fill(GH * I);
  q.dw_hh = alloc_fill(GH * H);
  q.dx = alloc_fill(N * I);
  q.hprev = alloc_fill(N * H);

  double *inf = calloc((size_t)repeats, sizeof(double));
  double *trn = calloc((size_t)repeats, sizeof(double));
  double *inf_cpu = calloc((size_t)repeats, sizeof(double));
  double *trn_cpu = calloc((size_t)repeats, sizeof(double));
  for (int r = 0; r < warmup; r++) forward(&q);
  for (int r = 0; r < repeats; r++) {
    double c0 = cpu_ms(), t0 = now_ms();
    forward(&q);
    inf[r] = now_ms() - t0;
    inf_cpu[r] = cpu_ms() - c0;
  }
  for (int r = 0; r < warmup; r++) {
    forward(&q);
    backward(&q);
  }
  for (int r = 0; r < repeats; r++) {
    double c0 = cpu_ms(), t0 = now_ms();
    forward(&q);
    backward(&q);
    trn[r] = now_ms() - t0;
    trn_cpu[r] = cpu_ms() - c0;
  }
  printf("{\"side\": \"floor\", \"cell\": \"%s\", \"B\": %ld, \"T\": %ld, \"I\": %ld, \"H\": %ld, "
         "\"threads\": %d, \"warmup\": %d, \"repeats\": %d, ",
         cell, B, T, I, H, threads, warmup, repeats);
  print_times("infer_ms", inf, inf_cpu, repeats);
  printf(", ");
  print_times("train_ms", trn, trn_cpu, repeats);
  printf("}\n");
  fflush(stdout);
  free(inf);
  free(trn);
  free(inf_cpu);
  free(trn_cpu);
  float *bufs[] = {q.x, q.p, q.h, q.w_ih, q.w_hh, q.dg, q.dh, q.dw_ih, q.dw_hh, q.dx, q.hprev};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
  return 0;
}

/* Square sgemm C [n,n] = A [n,n] * B [n,n]: BLIS's practical peak here. */
static int run_peak(long n, int threads, int repeats, int warmup) {
  if (n <= 0) {
    fprintf(stderr, "gemm_floor: bad peak size %ld\n", n);
    return 1;
  }
  size_t nn = (size_t)n * n;
  float *a = alloc_fill(nn), *b = alloc_fill(nn), *c = alloc_fill(nn);
  double best = 1e300, *ms = calloc((size_t)repeats, sizeof(double));
  for (int r = 0; r < warmup; r++) sgemm(n, n, n, a, n, 1, b, n, 1, 0.0f, c, n, 1);
  for (int r = 0; r < repeats; r++) {
    double t0 = now_ms();
    sgemm(n, n, n, a, n, 1, b, n, 1, 0.0f, c, n, 1);
    ms[r] = now_ms() - t0;
    if (ms[r] < best) best = ms[r];
  }
  qsort(ms, (size_t)repeats, sizeof *ms, cmp_double);
  double flops = 2.0 * n * n * n;
  printf("{\"side\": \"peak\", \"n\": %ld, \"threads\": %d, \"repeats\": %d, "
         "\"best_ms\": %.4f, \"median_ms\": %.4f, \"gflops_best\": %.3f, \"gflops_median\": %.3f}\n",
         n, threads, repeats, best, ms[repeats / 2], flops / best * 1e-6,
         flops / ms[repeats / 2] * 1e-6);
  fflush(stdout);
  free(ms);
  free(a);
  free(b);
  free(c);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr,
            "usage: gemm_floor THREADS REPEATS WARMUP cell:B:T:I:H|peak:N ...\n"
            "       (cell = rnn, lstm or gru)\n");
    return 2;
  }
  int threads = atoi(argv[1]), repeats = atoi(argv[2]), warmup = atoi(argv[3]);
  if (threads < 1 || repeats < 1 || warmup < 0) {
    fprintf(stderr, "gemm_floor: bad THREADS/REPEATS/WARMUP\n");
    return 2;
  }
  /* BLIS's default is one thread whatever the machine: set it explicitly. */
  bli_thread_set_num_threads(threads);
  int rc = 0;
  for (int i = 4; i < argc; i++) {
    long n;
    if (sscanf(argv[i], "peak:%ld", &n) == 1)
      rc |= run_peak(n, threads, repeats, warmup);
    else
      rc |= run_spec(argv[i], threads, repeats, warmup);
  }
  return rc;
}
