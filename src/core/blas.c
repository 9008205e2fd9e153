/* blas.c — the BLIS wrapper and thread control (see blas.h). */
#include "blas.h"

#include <blis.h>
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
