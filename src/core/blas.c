/* blas.c — the BLIS wrapper, kernel selection and thread control (see blas.h). */
#define _GNU_SOURCE   /* setenv, fork */
#include "blas.h"

#include <blis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define LURN_X86 1
#endif

static void kernels_select(void);
static pthread_once_t g_select_once = PTHREAD_ONCE_INIT;
/* Every entry point that may start BLIS calls this first: the kernel set
 * must be chosen before BLIS reads BLIS_ARCH_TYPE (once, at its init). */
static void kernels_init(void) { pthread_once(&g_select_once, kernels_select); }

static int g_threads = 0;   /* 0: not set yet */

/* Below this many multiply-adds a GEMM runs on one thread: waking and
 * joining a second thread costs more than the few microseconds such a
 * product takes, and on a busy machine a thread that has to wait for a core
 * can stall a whole recurrent sweep (one small GEMM per step). BLIS never
 * splits the k loop across threads, so the result is the same either way. */
#define LURN_GEMM_SERIAL_BELOW (1 << 17)

void lurn_sgemm(int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t rs_a, int64_t cs_a,
                const float *b, int64_t rs_b, int64_t cs_b, float beta,
                float *c, int64_t rs_c, int64_t cs_c) {
  if (m <= 0 || n <= 0) return;
  kernels_init();
  if (g_threads == 0) lurn_set_threads(0);
  if (k <= 0) {
    /* An empty inner dimension: C := beta*C. BLIS handles it, but make the
     * beta == 0 case overwrite explicitly. */
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) {
        float *p = c + i * rs_c + j * cs_c;
        *p = beta == 0.0f ? 0.0f : beta * *p;
      }
    return;
  }
  rntm_t serial = BLIS_RNTM_INITIALIZER;
  rntm_t *rntm = NULL;   /* NULL: BLIS's global thread count (lurn_set_threads) */
  if (g_threads > 1 && m * n * k < LURN_GEMM_SERIAL_BELOW) {
    bli_rntm_set_num_threads(1, &serial);
    rntm = &serial;
  } else if (g_threads > 1) {
    const int nt = lurn_threads_now(g_threads);   /* fewer when cores are busy */
    if (nt < g_threads) {
      bli_rntm_set_num_threads((dim_t)nt, &serial);
      rntm = &serial;
    }
  }
  /* C := beta*C + alpha*A*B */
  bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k,
               &alpha, (float *)a, (inc_t)rs_a, (inc_t)cs_a,
               (float *)b, (inc_t)rs_b, (inc_t)cs_b,
               &beta, c, (inc_t)rs_c, (inc_t)cs_c, NULL, rntm);
}

/* ---- threads under load ----------------------------------------------------
 * lurn's recurrent loops meet at a barrier every step (tens of microseconds),
 * and BLIS's threads meet inside every GEMM. When another CPU-bound process
 * holds one of the cores, one of lurn's threads waits for a time slice
 * (milliseconds) at nearly every barrier, and the other waits for it: with
 * 2 threads on 2 cores and one competitor, lurn ran 1.25-1.3x slower than
 * with 1 thread (issue 13). So before a parallel section lurn counts the
 * runnable tasks that are not its own (/proc/loadavg's running count minus
 * this process's threads in state R) and uses at most the cores left
 * over, never fewer than 1. The count is taken at most every 20 ms (a few
 * microseconds each); LURN_THREADS_ADAPT=0 turns it off (tests that must
 * exercise a given thread count). Results do not depend on the count. */

#define ADAPT_EVERY_S 0.02

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The state letter of /proc/<...>/stat at path ('?' if unreadable). */
static char task_state(const char *path) {
  char buf[512];
  FILE *f = fopen(path, "r");
  if (!f) return '?';
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')');   /* the name may hold spaces and ')' */
  return p && p[1] == ' ' ? p[2] : '?';
}

/* Runnable tasks of other processes now, or -1 if /proc cannot tell. */
static int others_running(void) {
  FILE *f = fopen("/proc/loadavg", "r");
  if (!f) return -1;
  double l1, l5, l15;
  int running = 0, total = 0;
  const int got = fscanf(f, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &running, &total);
  fclose(f);
  if (got != 5) return -1;
  int mine = 0;
  DIR *dir = opendir("/proc/self/task");
  if (!dir) return -1;
  struct dirent *e;
  char path[64];
  while ((e = readdir(dir)) != NULL) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
    if (task_state(path) == 'R') mine++;
  }
  closedir(dir);
  if (mine < 1) mine = 1;   /* the caller runs */
  return running > mine ? running - mine : 0;
}

static pthread_mutex_t g_adapt_lock = PTHREAD_MUTEX_INITIALIZER;
static double g_adapt_at = -1.0;
static int g_adapt_free = 0;
static int g_adapt_mode = -1;   /* -1 unread, 0 off, 1 on */

int lurn_threads_now(int want) {
  if (want <= 1) return want < 1 ? 1 : want;
  pthread_mutex_lock(&g_adapt_lock);
  if (g_adapt_mode < 0) {
    const char *e = getenv("LURN_THREADS_ADAPT");
    g_adapt_mode = e && !strcmp(e, "0") ? 0 : 1;
  }
  int n = want;
  if (g_adapt_mode) {
    const double now = mono_s();
    if (g_adapt_at < 0 || now - g_adapt_at > ADAPT_EVERY_S) {
      const int others = others_running();
      g_adapt_free = others < 0 ? lurn_num_cores() : lurn_num_cores() - others;
      g_adapt_at = now;
    }
    if (n > g_adapt_free) n = g_adapt_free;
    if (n < 1) n = 1;
#ifdef _OPENMP
    /* lurn's other OpenMP loops (tensor ops, optimizers) follow, from the
     * thread that runs the Lua state (outside any parallel region) */
    int all = g_threads > 0 ? g_threads : 1;
    if (all > g_adapt_free) all = g_adapt_free > 0 ? g_adapt_free : 1;
    if (!omp_in_parallel() && all != omp_get_max_threads()) omp_set_num_threads(all);
#endif
  }
  pthread_mutex_unlock(&g_adapt_lock);
  return n;
}

int lurn_num_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int lurn_set_threads(int n) {
  kernels_init();
  if (n <= 0) n = lurn_num_cores();
  g_threads = n;
  bli_thread_set_num_threads((dim_t)n);
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  /* lurn's other OpenMP loops (zeroing gradients, optimizer steps) run at
   * omp_set_num_threads' count until the next parallel section asks
   * lurn_threads_now: apply the load to it now, or a switch to n threads
   * on a busy machine (lurn.threads(2) beside another process) would run
   * those loops on a core that is not free (measured: an LSTM training
   * step at (32,50,128,128) 1.8x slower, bench/threads_pair.lua) */
  if (n > 1) lurn_threads_now(n);
  return n;
}

int lurn_get_threads(void) {
  if (g_threads == 0) lurn_set_threads(0);
  return g_threads;
}

const char *lurn_blis_version(void) { return bli_info_get_version_str(); }
const char *lurn_blis_arch(void) {
  kernels_init();
  bli_init();
  return bli_arch_string(bli_arch_query_id());
}
int lurn_blis_arch_id(void) {
  kernels_init();
  bli_init();
  return (int)bli_arch_query_id();
}
int lurn_blis_openmp(void) { return (int)bli_info_get_enable_openmp(); }

/* ---- kernel selection ---------------------------------------------------------
 * BLIS 0.9.0 picks its kernel set from CPUID tables of the CPUs it knew in
 * 2022: a newer CPU falls back to "generic" (Zen 5: 69 GFLOP/s where skx
 * reaches 339), and an AVX-512 Xeon it cannot place (this Ice Lake server)
 * gets "haswell" (94 GFLOP/s where skx reaches 147, docs/performance.md).
 * Before BLIS starts, lurn asks BLIS what it would pick (in a forked child,
 * since BLIS fixes its choice once per process), ranks the sets this CPU
 * can run from CPUID feature bits and the OS's saved register state (never
 * from model names), and when BLIS's pick ranks lower, sets BLIS_ARCH_TYPE
 * (BLIS reads its numeric arch_t id) to the better one. Between skx and the
 * AVX2 sets the deciding fact is whether 512-bit FMAs run at twice the rate
 * of 256-bit ones (two 512-bit FMA units; Zen 4 and some Xeons split them),
 * so that is measured, in about a millisecond. A BLIS_ARCH_TYPE set by the
 * user is left alone. */

typedef struct {
  int blis_pick;        /* BLIS's own choice (arch_t), -1 unknown */
  int chosen;           /* the set in use (arch_t), -1 until BLIS starts */
  double fma512, fma256;   /* GFLOP/s of the FMA probe, 0 if not run */
  char why[200];
} kernel_choice;
static kernel_choice g_kc = {-1, -1, 0, 0, ""};

/* What the CPU (and the OS) can run. */
typedef struct { int ssse3, avx, fma, fma4, avx2, avx512; } cpu_feats;

static cpu_feats cpu_features(void) {
  cpu_feats f = {0, 0, 0, 0, 0, 0};
#ifdef LURN_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.ssse3 = (c & bit_SSE3) && (c & bit_SSSE3);
  unsigned long long xcr0 = 0;
  if (c & bit_OSXSAVE) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = ((unsigned long long)hi << 32) | lo;
  }
  const int ymm = (xcr0 & 0x6) == 0x6, zmm = (xcr0 & 0xe6) == 0xe6;   /* SSE+AVX (+opmask, ZMM) */
  f.avx = (c & bit_AVX) && ymm;
  f.fma = (c & bit_FMA) && ymm;
  if (__get_cpuid(0x80000001, &a, &b, &c, &d)) f.fma4 = (c & bit_FMA4) && f.avx;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = (b & bit_AVX2) && ymm;
    f.avx512 = (b & bit_AVX512F) && (b & bit_AVX512DQ) && (b & bit_AVX512BW) &&
               (b & bit_AVX512VL) && zmm && f.avx2 && f.fma;
  }
#endif
  return f;
}

/* An AMD family 19h CPU (Zen 3, Zen 4): its AVX-512, where present, is two
 * 256-bit halves. */
static int half_width_avx512(void) {
#ifdef LURN_X86
  unsigned a, b, c, d;
  if (!__get_cpuid(0, &a, &b, &c, &d)) return 0;
  const int amd = b == 0x68747541u && d == 0x69746e65u && c == 0x444d4163u;   /* "AuthenticAMD" */
  if (!amd || !__get_cpuid(1, &a, &b, &c, &d)) return 0;
  const unsigned family = ((a >> 8) & 0xf) + (((a >> 8) & 0xf) == 0xf ? ((a >> 20) & 0xff) : 0);
  return family == 0x19;
#else
  return 0;
#endif
}

/* Rank of a BLIS kernel set: 4 AVX-512, 3 AVX2+FMA, 2 AVX (and AMD's FMA4
 * family), 1 SSSE3, 0 generic or not x86. */
static int arch_rank(int id) {
  switch (id) {
    case BLIS_ARCH_SKX: case BLIS_ARCH_KNL: return 4;
    case BLIS_ARCH_HASWELL: case BLIS_ARCH_ZEN3: case BLIS_ARCH_ZEN2: case BLIS_ARCH_ZEN: return 3;
    case BLIS_ARCH_SANDYBRIDGE: case BLIS_ARCH_EXCAVATOR: case BLIS_ARCH_STEAMROLLER:
    case BLIS_ARCH_PILEDRIVER: case BLIS_ARCH_BULLDOZER: return 2;
    case BLIS_ARCH_PENRYN: return 1;
    default: return 0;
  }
}

int lurn_arch_runs(int id) {
  const cpu_feats f = cpu_features();
  switch (arch_rank(id)) {
    case 4: return id == BLIS_ARCH_SKX && f.avx512;
    case 3: return f.avx2 && f.fma;
    case 2: return id == BLIS_ARCH_SANDYBRIDGE ? f.avx : f.fma4;   /* AMD's bulldozer family: FMA4 */
    case 1: return f.ssse3;
    default: return id == BLIS_ARCH_GENERIC;
  }
}

#ifdef LURN_X86
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* GFLOP/s of 12 independent FMA chains of 512- (256-) bit vectors: enough
 * chains to fill two FMA pipes of latency 4-6. */
__attribute__((target("avx512f"), noinline)) static double fma_probe512(int iters) {
  __m512 acc[12], m = _mm512_set1_ps(0.999f), a = _mm512_set1_ps(1e-3f);
  for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps((float)i);
  double t0 = now_s();
  for (int it = 0; it < iters; it++)
    for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  double t = now_s() - t0;
  volatile float sink = 0.0f;
  for (int i = 0; i < 12; i++) sink += _mm512_reduce_add_ps(acc[i]);
  (void)sink;
  return t > 0 ? 2.0 * 16 * 12 * (double)iters / t * 1e-9 : 0.0;
}

__attribute__((target("avx2,fma"), noinline)) static double fma_probe256(int iters) {
  __m256 acc[12], m = _mm256_set1_ps(0.999f), a = _mm256_set1_ps(1e-3f);
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i);
  double t0 = now_s();
  for (int it = 0; it < iters; it++)
    for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, a);
  double t = now_s() - t0;
  float out[8];
  volatile float sink = 0.0f;
  for (int i = 0; i < 12; i++) {
    _mm256_storeu_ps(out, acc[i]);
    sink += out[0];
  }
  (void)sink;
  return t > 0 ? 2.0 * 8 * 12 * (double)iters / t * 1e-9 : 0.0;
}
#endif

/* BLIS's own pick, asked in a child process (BLIS_ARCH_TYPE unset there):
 * bli_arch_query_id only runs CPUID and reads the environment, so the
 * child needs nothing a fork could leave locked. -1 if it cannot tell. */
static int blis_own_pick(void) {
  int fd[2];
  if (pipe(fd) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]);
    close(fd[1]);
    return -1;
  }
  if (pid == 0) {
    close(fd[0]);
    int id = (int)bli_arch_query_id();
    ssize_t w = write(fd[1], &id, sizeof id);
    _exit(w == (ssize_t)sizeof id ? 0 : 1);
  }
  close(fd[1]);
  int id = -1;
  if (read(fd[0], &id, sizeof id) != (ssize_t)sizeof id) id = -1;
  close(fd[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0) {}
  return id;
}

/* BLIS_ARCH_TYPE as the user wrote it -> an arch_t id: a number, or a set's
 * name (BLIS itself reads any name as 0, skx). -1 if neither. */
static int parse_arch(const char *s) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end != s && *end == '\0') return v >= 0 && v < BLIS_NUM_ARCHS ? (int)v : -1;
  for (int i = 0; i < BLIS_NUM_ARCHS; i++)
    if (!strcasecmp(s, bli_arch_string((arch_t)i))) return i;
  return -1;
}

static void kernels_select(void) {
  kernel_choice *k = &g_kc;
  const char *env = getenv("BLIS_ARCH_TYPE");
  char note[120] = "";
  if (env && *env) {
#ifdef LURN_X86
    const int id = parse_arch(env);
    if (id >= 0 && lurn_arch_runs(id)) {
      char num[8];
      snprintf(num, sizeof num, "%d", id);
      snprintf(k->why, sizeof k->why, "BLIS_ARCH_TYPE=%s set by the user", env);
      setenv("BLIS_ARCH_TYPE", num, 1);   /* a name becomes the number BLIS reads */
      return;
    }
    /* BLIS would read a name as skx, and run a set the CPU lacks until it
     * dies of SIGILL: say so and choose as if it were unset */
    snprintf(note, sizeof note, " (BLIS_ARCH_TYPE=%.20s ignored: %s)", env,
             id < 0 ? "not a BLIS kernel set" : "this CPU cannot run it");
#else
    snprintf(k->why, sizeof k->why, "BLIS_ARCH_TYPE=%s set by the user", env);
    return;
#endif
  }
  unsetenv("BLIS_ARCH_TYPE");
  if (getenv("LURN_KERNELS_AUTO") && !strcmp(getenv("LURN_KERNELS_AUTO"), "0")) {
    snprintf(k->why, sizeof k->why, "BLIS's own choice (LURN_KERNELS_AUTO=0)%s", note);
    return;
  }
  k->blis_pick = blis_own_pick();
  const cpu_feats f = cpu_features();
  int best = f.avx512 ? BLIS_ARCH_SKX
           : f.avx2 && f.fma ? BLIS_ARCH_HASWELL
           : f.avx ? BLIS_ARCH_SANDYBRIDGE
           : f.ssse3 ? BLIS_ARCH_PENRYN : BLIS_ARCH_GENERIC;
  const char *blis_name = k->blis_pick >= 0 ? bli_arch_string((arch_t)k->blis_pick) : "unknown";
  if (k->blis_pick < 0 || arch_rank(best) <= arch_rank(k->blis_pick)) {
    snprintf(k->why, sizeof k->why, "BLIS's own choice (nothing faster runs on this CPU)%s",
             note);
    return;
  }
#ifdef LURN_X86
  if (best == BLIS_ARCH_SKX) {
    /* Every process must pick the same set from the same CPU: a kernel set
     * is a summation order, and "same seed, same threads, same bits" (exact
     * resume, reproducible runs) holds only within one set. A timing probe
     * under load picked differently in about 1 process of 40, so the rule is
     * CPUID's: AVX-512 runs at full width except on AMD family 19h (Zen 4
     * splits 512-bit FMAs into two 256-bit halves), where BLIS's own zen3
     * set is as fast. LURN_KERNELS_PROBE=1 asks the FMA units instead (best
     * of 5 alternating runs of ~0.1 ms after a warm-up), for a CPU the rule
     * gets wrong. */
    const char *probe = getenv("LURN_KERNELS_PROBE");
    if (probe && !strcmp(probe, "1")) {
      fma_probe512(20000);
      for (int r = 0; r < 5; r++) {
        double a = fma_probe512(20000), b = fma_probe256(20000);
        if (a > k->fma512) k->fma512 = a;
        if (b > k->fma256) k->fma256 = b;
      }
      if (k->fma512 < 1.4 * k->fma256) {
        best = BLIS_ARCH_HASWELL;
        if (arch_rank(best) <= arch_rank(k->blis_pick)) {
          snprintf(k->why, sizeof k->why,
                   "BLIS's own choice (LURN_KERNELS_PROBE=1: AVX-512 FMAs measured only %.2fx "
                   "the AVX2 rate, skx would not be faster)%s", k->fma512 / k->fma256, note);
          return;
        }
      }
    } else if (half_width_avx512()) {
      snprintf(k->why, sizeof k->why, "BLIS's own choice (an AMD family 19h CPU: its AVX-512 "
               "runs on 256-bit units, skx would not be faster)%s", note);
      return;
    }
  }
#endif
  char id[8];
  snprintf(id, sizeof id, "%d", best);
  setenv("BLIS_ARCH_TYPE", id, 1);
  if (best == BLIS_ARCH_SKX && k->fma256 > 0)
    snprintf(k->why, sizeof k->why,
             "lurn's choice: BLIS picked %s, the CPU has AVX-512 and its 512-bit FMAs measured "
             "%.2fx the 256-bit rate (LURN_KERNELS_PROBE=1)%s", blis_name,
             k->fma512 / k->fma256, note);
  else if (best == BLIS_ARCH_SKX)
    snprintf(k->why, sizeof k->why,
             "lurn's choice: BLIS picked %s, the CPU runs AVX-512 at full width (CPUID)%s",
             blis_name, note);
  else
    snprintf(k->why, sizeof k->why, "lurn's choice: BLIS picked %s, the CPU runs %s (CPUID)%s",
             blis_name, bli_arch_string((arch_t)best), note);
}

const char *lurn_kernels_why(void) {
  kernels_init();
  return g_kc.why;
}

int lurn_kernels_blis_pick(void) {
  kernels_init();
  return g_kc.blis_pick;
}

double lurn_sgemm_peak(int n, int repeats) {
  if (n < 1) n = 1024;
  if (repeats < 1) repeats = 1;
  float *a = aligned_alloc(64, sizeof(float) * (size_t)n * (size_t)n);
  float *b = aligned_alloc(64, sizeof(float) * (size_t)n * (size_t)n);
  float *c = aligned_alloc(64, sizeof(float) * (size_t)n * (size_t)n);
  if (!a || !b || !c) {
    free(a); free(b); free(c);
    return 0.0;
  }
  for (size_t i = 0; i < (size_t)n * (size_t)n; i++) {
    a[i] = (float)(i % 7) * 0.1f;
    b[i] = (float)(i % 5) * 0.1f;
  }
  double best = 0.0;
  for (int r = 0; r <= repeats; r++) {   /* r == 0: warm-up */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* C := A*B, [n, n] each */
    lurn_sgemm(n, n, n, 1.0f, a, n, 1, b, n, 1, 0.0f, c, n, 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double t = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    double gf = 2.0 * (double)n * n * n / t * 1e-9;
    if (r > 0 && gf > best) best = gf;
  }
  free(a); free(b); free(c);
  return best;
}

/* ---- packed operands (see blas.h) ---------------------------------------- */

typedef void (*sgemm_ukr_fn)(dim_t m, dim_t n, dim_t k, float *alpha, float *a, float *b,
                             float *beta, float *c, inc_t rs_c, inc_t cs_c,
                             auxinfo_t *data, cntx_t *cntx);

static lurn_ukr g_ukr;
static sgemm_ukr_fn g_ukr_fn;
static cntx_t *g_cntx;
static pthread_once_t g_ukr_once = PTHREAD_ONCE_INIT;

static void ukr_init(void) {
  kernels_init();
  g_cntx = bli_gks_query_cntx();
  int mr = (int)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, g_cntx);
  int nr = (int)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, g_cntx);
  int pmr = (int)bli_cntx_get_blksz_max_dt(BLIS_FLOAT, BLIS_MR, g_cntx);
  int pnr = (int)bli_cntx_get_blksz_max_dt(BLIS_FLOAT, BLIS_NR, g_cntx);
  if (pmr < mr) pmr = mr;
  if (pnr < nr) pnr = nr;
  /* A kernel that prefers column-stored C (skx, sandybridge, penryn...)
   * writes a row-major C tile through a temporary and a copy, at a third
   * of its speed or less (issue 13). For those, lurn's products run
   * transposed: C^T = B^T A^T, the weights as the kernel's A operand (panels
   * of its MR units), the state as its B (panels of NR samples), and the
   * row-major C seen as column-stored C^T. The logical tile below is then
   * (NR samples) x (MR units); every layout formula of blas.h holds as is. */
  g_ukr.trans = bli_cntx_l3_nat_ukr_prefers_cols_dt(BLIS_FLOAT, BLIS_GEMM_UKR, g_cntx) ? 1 : 0;
  const char *force = getenv("LURN_UKR_TRANS");   /* 0 or 1: to compare both (bench/) */
  if (force && (!strcmp(force, "0") || !strcmp(force, "1"))) g_ukr.trans = force[0] == '1';
  g_ukr.mr = g_ukr.trans ? nr : mr;
  g_ukr.nr = g_ukr.trans ? mr : nr;
  g_ukr.pmr = g_ukr.trans ? pnr : pmr;
  g_ukr.pnr = g_ukr.trans ? pmr : pnr;
  g_ukr.kc = (int)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_KC, g_cntx);
  g_ukr_fn = (sgemm_ukr_fn)bli_cntx_get_l3_nat_ukr_dt(BLIS_FLOAT, BLIS_GEMM_UKR, g_cntx);
  g_kc.chosen = (int)bli_arch_query_id();
}

const lurn_ukr *lurn_ukr_get(void) {
  pthread_once(&g_ukr_once, ukr_init);
  return &g_ukr;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

size_t lurn_pack_a_floats(int64_t m, int64_t k) {
  const lurn_ukr *u = lurn_ukr_get();
  return (size_t)(ceil_div(m, u->mr) * u->pmr * k);
}

size_t lurn_pack_b_floats(int64_t k, int64_t n) {
  const lurn_ukr *u = lurn_ukr_get();
  return (size_t)(ceil_div(n, u->nr) * u->pnr * k);
}

void lurn_pack_a(int64_t m, int64_t k, const float *const *rows, float *pa) {
  const lurn_ukr *u = lurn_ukr_get();
  const int64_t mr = u->mr, pmr = u->pmr, mp = ceil_div(m, mr);
  for (int64_t ip = 0; ip < mp; ip++) {
    float *panel = pa + ip * pmr * k;
    const int64_t live = m - ip * mr < mr ? m - ip * mr : mr;
    const float *const *src = rows + ip * mr;
    /* row by row in the panel's order: contiguous stores */
    for (int64_t p = 0; p < k; p++) {
      float *dst = panel + p * pmr;
      for (int64_t ii = 0; ii < live; ii++) dst[ii] = src[ii][p];
      for (int64_t ii = live; ii < pmr; ii++) dst[ii] = 0.0f;
    }
  }
}

void lurn_pack_b(int64_t k, int64_t n, const float *b, int64_t rs_b, int64_t cs_b,
                 int64_t jp0, int64_t jp1, float *pb) {
  const lurn_ukr *u = lurn_ukr_get();
  const int64_t nr = u->nr, pnr = u->pnr;
  for (int64_t jp = jp0; jp < jp1; jp++) {
    float *panel = pb + jp * pnr * k;
    for (int64_t p = 0; p < k; p++) {
      const float *src = b + p * rs_b;
      float *dst = panel + p * pnr;
      for (int64_t jj = 0; jj < pnr; jj++) {
        const int64_t j = jp * nr + jj;
        dst[jj] = jj < nr && j < n ? src[j * cs_b] : 0.0f;
      }
    }
  }
}

void lurn_gemm_packed(int64_t m, int64_t n, int64_t k, const float *pa, const float *pb,
                      int64_t jp0, int64_t jp1, float beta, float *c, int64_t ldc) {
  const lurn_ukr *u = lurn_ukr_get();
  const int64_t mr = u->mr, nr = u->nr, mp = ceil_div(m, mr);
  float one = 1.0f;
  auxinfo_t aux;
  memset(&aux, 0, sizeof aux);
  if (m <= 0 || jp1 <= jp0) return;
  if (k <= 0) {
    /* C := beta*C over the panels' columns (beta == 0 overwrites) */
    const int64_t j1 = jp1 * nr < n ? jp1 * nr : n;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = jp0 * nr; j < j1; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  for (int64_t k0 = 0; k0 < k; k0 += u->kc) {
    const int64_t kcb = k - k0 < u->kc ? k - k0 : u->kc;
    float bk = k0 == 0 ? beta : 1.0f;
    for (int64_t jp = jp0; jp < jp1; jp++) {
      const float *bp = pb + jp * u->pnr * k + k0 * u->pnr;
      const int64_t nrr = n - jp * nr < nr ? n - jp * nr : nr;
      for (int64_t ip = 0; ip < mp; ip++) {
        const float *ap = pa + ip * u->pmr * k + k0 * u->pmr;
        const int64_t mrr = m - ip * mr < mr ? m - ip * mr : mr;
        float *next = (float *)(ip + 1 < mp ? ap + u->pmr * k : pa + k0 * u->pmr);
        float *ct = c + ip * mr * ldc + jp * nr;
        if (u->trans) {
          /* C^T tile [nrr units, mrr samples] := W panel * state panel^T,
           * column-stored (rs 1, cs ldc); prefetch: this A, the next B */
          bli_auxinfo_set_next_ab((void *)bp, next, &aux);
          g_ukr_fn((dim_t)nrr, (dim_t)mrr, (dim_t)kcb, &one, (float *)bp, (float *)ap, &bk, ct,
                   1, (inc_t)ldc, &aux, g_cntx);
        } else {
          /* C tile [mrr, nrr] := state panel * W panel, row-stored;
           * prefetch: the next A micro-panel (or the first again), this B */
          bli_auxinfo_set_next_ab(next, (void *)bp, &aux);
          g_ukr_fn((dim_t)mrr, (dim_t)nrr, (dim_t)kcb, &one, (float *)ap, (float *)bp, &bk, ct,
                   (inc_t)ldc, 1, &aux, g_cntx);
        }
      }
    }
  }
}

/* One packed column panel (NR live columns of pnr) times a [k]: four
 * partial sums over p mod 4, so four FMA chains run at once, added in a
 * fixed order at the end. The sums are GCC vectors of 8 floats (NR / 8 of
 * them per sum; unaligned loads), so every NR gets the same plain loads and
 * FMAs: written as scalar loops GCC vectorised NR = 16 across the four sums
 * with shuffles and scalar loads, 6-7x slower (issue 13: batch-1 inference
 * on every 6x16 and 4x16 kernel set: haswell, zen, zen2, zen3, generic). */
typedef float gemv_v8 __attribute__((vector_size(32), aligned(4)));
#define GEMV_PANEL(NR)                                                              \
  static void gemv_panel_##NR(int64_t k, const float *restrict a,                   \
                              const float *restrict panel, int64_t pnr,             \
                              float *restrict out) {                                \
    enum { V = (NR) / 8 };                                                          \
    gemv_v8 acc[4][V];                                                              \
    for (int s = 0; s < 4; s++)                                                     \
      for (int v = 0; v < V; v++) acc[s][v] = (gemv_v8){0};                         \
    int64_t p = 0;                                                                  \
    for (; p + 4 <= k; p += 4)                                                      \
      for (int s = 0; s < 4; s++) {                                                 \
        const float av = a[p + s];                                                  \
        const gemv_v8 *row = (const gemv_v8 *)(panel + (p + s) * pnr);              \
        for (int v = 0; v < V; v++) acc[s][v] += av * row[v];                       \
      }                                                                             \
    for (; p < k; p++) {                                                            \
      const gemv_v8 *row = (const gemv_v8 *)(panel + p * pnr);                      \
      for (int v = 0; v < V; v++) acc[0][v] += a[p] * row[v];                       \
    }                                                                               \
    for (int v = 0; v < V; v++) {                                                   \
      gemv_v8 sum = (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]);              \
      memcpy(out + 8 * v, &sum, sizeof sum);                                        \
    }                                                                               \
  }
GEMV_PANEL(8)
GEMV_PANEL(16)
GEMV_PANEL(32)

void lurn_gemv_packed(int64_t n, int64_t k, const float *a, const float *pb, int64_t jp0,
                      int64_t jp1, float beta, float *c) {
  const lurn_ukr *u = lurn_ukr_get();
  const int64_t nr = u->nr, pnr = u->pnr;
  float out[32];
  for (int64_t jp = jp0; jp < jp1; jp++) {
    const float *panel = pb + jp * pnr * k;
    const int64_t j0 = jp * nr, live = n - j0 < nr ? n - j0 : nr;
    if (live <= 0) break;
    if (nr == 8) gemv_panel_8(k, a, panel, pnr, out);
    else if (nr == 16) gemv_panel_16(k, a, panel, pnr, out);
    else if (nr == 32) gemv_panel_32(k, a, panel, pnr, out);
    else {
      /* other widths: one column at a time, same order for every column */
      for (int64_t j = 0; j < live; j++) {
        float sum = 0.0f;
        for (int64_t p = 0; p < k; p++) sum += a[p] * panel[p * pnr + j];
        c[j0 + j] = beta == 0.0f ? sum : beta * c[j0 + j] + sum;
      }
      continue;
    }
    for (int64_t j = 0; j < live; j++) c[j0 + j] = beta == 0.0f ? out[j] : beta * c[j0 + j] + out[j];
  }
}
