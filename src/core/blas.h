/*
 * blas.h — every BLIS call in lurn goes through this file.
 *
 * Matrices are (pointer, row stride, column stride) in elements, the way
 * BLIS's typed API takes them, so a transposed or strided view is passed by
 * swapping or scaling strides and is never copied. Row-major contiguous
 * [m, n] is rs = n, cs = 1; its transpose is rs = 1, cs = n.
 */
#ifndef LURN_BLAS_H
#define LURN_BLAS_H

#include <stdint.h>

/* C[m,n] := beta*C + alpha * A[m,k] * B[k,n]. beta == 0 overwrites C
 * (NaNs already in C do not survive). */
void lurn_sgemm(int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t rs_a, int64_t cs_a,
                const float *b, int64_t rs_b, int64_t cs_b, float beta,
                float *c, int64_t rs_c, int64_t cs_c);

/* Threads used by BLIS and by lurn's own OpenMP loops. n <= 0 means the
 * number of cores. Returns the count now in effect. */
int lurn_set_threads(int n);
int lurn_get_threads(void);
int lurn_num_cores(void);

/* Facts for `lurn info`. */
const char *lurn_blis_version(void);
const char *lurn_blis_arch(void);     /* kernel configuration picked on this CPU */
int lurn_blis_openmp(void);           /* 1 when BLIS was built with OpenMP */

#endif
