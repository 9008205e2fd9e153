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

#include <stddef.h>
#include <stdint.h>

/* C[m,n] := beta*C + alpha * A[m,k] * B[k,n]. beta == 0 overwrites C
 * (NaNs already in C do not survive). */
void lurn_sgemm(int64_t m, int64_t n, int64_t k, float alpha,
                const float *a, int64_t rs_a, int64_t cs_a,
                const float *b, int64_t rs_b, int64_t cs_b, float beta,
                float *c, int64_t rs_c, int64_t cs_c);

/* ---- packed operands: BLIS's micro-kernel driven directly ------------------
 * A recurrent layer multiplies by the same weight matrix at every step, and
 * bli_sgemm copies ("packs") its B operand into micro-panels on every call:
 * at [64, 512] x [512, 2048] that copy is a sixth of the step. These
 * functions pack a weight matrix ONCE into BLIS's micro-panel format and
 * drive BLIS's own register-blocked micro-kernel over it, so a per-step
 * product only packs its small A (the state). They are serial: the caller
 * splits the column panels among its threads (every C element is computed
 * by the same sequence of micro-kernel calls at any split, so results do
 * not depend on the thread count).
 *
 * Layouts (mr, nr: the micro-tile; pmr, pnr: the panel widths, >= mr, nr):
 *   packed A [m, k]: row panel ip = i / mr holds rows ip*mr .. +mr for all k,
 *     element (i, p) at (i / mr) * pmr * k + p * pmr + i % mr;
 *   packed B [k, n]: column panel jp = j / nr,
 *     element (p, j) at (j / nr) * pnr * k + p * pnr + j % nr.
 * The micro-kernel takes k in blocks of kc: the block from k0 of a panel
 * starts k0 * pmr (pnr) floats into it. Padding rows/columns are zero.
 * Packed buffers must be 64-byte aligned. A writer that produces A's rows
 * piecewise (the state of a recurrent step, unit by unit) can store them
 * straight into this layout (lurn_pack_a_at). */
typedef struct lurn_ukr {
  int mr, nr;      /* micro-tile: mr rows of A (state), nr columns of B (weights) */
  int pmr, pnr;    /* packed panel widths */
  int kc;          /* k block */
  int trans;       /* 1: BLIS's kernel prefers column-stored C and runs the
                    * transposed product (its MR x NR is our nr x mr); the
                    * layouts above do not change */
} lurn_ukr;

const lurn_ukr *lurn_ukr_get(void);

/* Offset of element (i, p) in a packed A with k columns. */
static inline size_t lurn_pack_a_at(const lurn_ukr *u, int64_t i, int64_t p, int64_t k) {
  return (size_t)((i / u->mr) * u->pmr * k + p * u->pmr + i % u->mr);
}
size_t lurn_pack_a_floats(int64_t m, int64_t k);
size_t lurn_pack_b_floats(int64_t k, int64_t n);
/* A[i, p] = rows[i][p] for i < m, p < k. */
void lurn_pack_a(int64_t m, int64_t k, const float *const *rows, float *pa);
/* Column panels jp0 <= jp < jp1 of B[k, n] (element (p, j) at b[p*rs + j*cs]). */
void lurn_pack_b(int64_t k, int64_t n, const float *b, int64_t rs_b, int64_t cs_b,
                 int64_t jp0, int64_t jp1, float *pb);
/* C[0:m, jp0*nr : min(jp1*nr, n)] := beta*C + A * B over those columns, from
 * packed A [m, k] and packed B [k, n]; C row-major with row stride ldc. */
void lurn_gemm_packed(int64_t m, int64_t n, int64_t k, const float *pa, const float *pb,
                      int64_t jp0, int64_t jp1, float beta, float *c, int64_t ldc);

/* The one-row case of lurn_gemm_packed, as a GEMV: c[0, j] := beta*c + a . B[:, j]
 * over columns jp0*nr .. min(jp1*nr, n), from a plain vector a [k] and
 * packed B [k, n]. A micro-kernel given one row still computes its whole
 * MR-row tile (6 to 32 rows, issue 13: batch 1); this streams B once. Each
 * c element is summed in the same order at any column split. */
void lurn_gemv_packed(int64_t n, int64_t k, const float *a, const float *pb, int64_t jp0,
                      int64_t jp1, float beta, float *c);

/* Threads used by BLIS and by lurn's own OpenMP loops. n <= 0 means the
 * number of cores. Returns the count now in effect. */
int lurn_set_threads(int n);
int lurn_get_threads(void);
int lurn_num_cores(void);
/* Threads a parallel section should use now: want, or fewer when other
 * processes keep cores busy (blas.c, "threads under load"); at least 1.
 * LURN_THREADS_ADAPT=0: always want. */
int lurn_threads_now(int want);

/* Facts for `lurn info`. */
const char *lurn_blis_version(void);
const char *lurn_blis_arch(void);     /* kernel set in use (see lurn_kernels_why) */
int lurn_blis_arch_id(void);          /* its number (BLIS's arch_t, BLIS_ARCH_TYPE) */
int lurn_blis_openmp(void);           /* 1 when BLIS was built with OpenMP */

/* Kernel selection (blas.c, "kernel selection"): before BLIS starts, lurn
 * sets BLIS_ARCH_TYPE to the fastest kernel set this CPU runs when BLIS's
 * own pick is slower (e.g. generic on a CPU newer than BLIS), unless the
 * user set BLIS_ARCH_TYPE (or LURN_KERNELS_AUTO=0). */
const char *lurn_kernels_why(void);   /* one line: who chose the set, and why */
int lurn_kernels_blis_pick(void);     /* BLIS's own pick (arch_t id), -1 if not asked */
int lurn_arch_runs(int arch_id);      /* 1 when this CPU can run that BLIS kernel set */
/* Best GFLOP/s of an [n, n] x [n, n] sgemm over `repeats` runs (after one
 * warm-up) at the current thread count; 0 if out of memory. */
double lurn_sgemm_peak(int n, int repeats);

#endif
