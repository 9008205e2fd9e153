/* blas.c — the BLIS wrapper and thread control (see blas.h). */
#include "blas.h"

#include <blis.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

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
  }
  /* C := beta*C + alpha*A*B */
  bli_sgemm_ex(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, (dim_t)m, (dim_t)n, (dim_t)k,
               &alpha, (float *)a, (inc_t)rs_a, (inc_t)cs_a,
               (float *)b, (inc_t)rs_b, (inc_t)cs_b,
               &beta, c, (inc_t)rs_c, (inc_t)cs_c, NULL, rntm);
}

int lurn_num_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int lurn_set_threads(int n) {
  if (n <= 0) n = lurn_num_cores();
  g_threads = n;
  bli_thread_set_num_threads((dim_t)n);
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
  return n;
}

int lurn_get_threads(void) {
  if (g_threads == 0) lurn_set_threads(0);
  return g_threads;
}

const char *lurn_blis_version(void) { return bli_info_get_version_str(); }
const char *lurn_blis_arch(void) { return bli_arch_string(bli_arch_query_id()); }
int lurn_blis_openmp(void) { return (int)bli_info_get_enable_openmp(); }

/* ---- packed operands (see blas.h) ---------------------------------------- */

typedef void (*sgemm_ukr_fn)(dim_t m, dim_t n, dim_t k, float *alpha, float *a, float *b,
                             float *beta, float *c, inc_t rs_c, inc_t cs_c,
                             auxinfo_t *data, cntx_t *cntx);

static lurn_ukr g_ukr;
static sgemm_ukr_fn g_ukr_fn;
static cntx_t *g_cntx;
static pthread_once_t g_ukr_once = PTHREAD_ONCE_INIT;

static void ukr_init(void) {
  g_cntx = bli_gks_query_cntx();
  g_ukr.mr = (int)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_MR, g_cntx);
  g_ukr.nr = (int)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_NR, g_cntx);
  g_ukr.pmr = (int)bli_cntx_get_blksz_max_dt(BLIS_FLOAT, BLIS_MR, g_cntx);
  g_ukr.pnr = (int)bli_cntx_get_blksz_max_dt(BLIS_FLOAT, BLIS_NR, g_cntx);
  g_ukr.kc = (int)bli_cntx_get_blksz_def_dt(BLIS_FLOAT, BLIS_KC, g_cntx);
  if (g_ukr.pmr < g_ukr.mr) g_ukr.pmr = g_ukr.mr;
  if (g_ukr.pnr < g_ukr.nr) g_ukr.pnr = g_ukr.nr;
  g_ukr_fn = (sgemm_ukr_fn)bli_cntx_get_l3_nat_ukr_dt(BLIS_FLOAT, BLIS_GEMM_UKR, g_cntx);
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
        /* prefetch hints: the next A micro-panel (or the first again), this B */
        bli_auxinfo_set_next_ab((void *)(ip + 1 < mp ? ap + u->pmr * k : pa + k0 * u->pmr),
                                (void *)bp, &aux);
        g_ukr_fn((dim_t)mrr, (dim_t)nrr, (dim_t)kcb, &one, (float *)ap, (float *)bp, &bk,
                 c + ip * mr * ldc + jp * nr, (inc_t)ldc, 1, &aux, g_cntx);
      }
    }
  }
}
