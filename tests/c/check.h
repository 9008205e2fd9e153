/*
 * check.h — a minimal test harness for the C tests of the core.
 *
 *   static void test_something(void) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-6); }
 *   int main(void) { RUN(test_something); return check_summary(); }
 *
 * Each failed CHECK prints file:line and the expression; the summary line
 * "N passed, N failed" ends the output and sets the exit status.
 */
#ifndef LURN_CHECK_H
#define LURN_CHECK_H

#include <math.h>
#include <stdio.h>

static int check_failed_ = 0, check_passed_ = 0, check_cur_failed_ = 0;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      check_cur_failed_ = 1;                                               \
    }                                                                      \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                              \
  do {                                                                     \
    double ca_ = (double)(a), cb_ = (double)(b);                           \
    if (!(fabs(ca_ - cb_) <= (tol))) {                                     \
      fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g (tol %g)\n", \
              __FILE__, __LINE__, #a, ca_, #b, cb_, (double)(tol));       \
      check_cur_failed_ = 1;                                               \
    }                                                                      \
  } while (0)

/* A message that must contain a substring. */
#define CHECK_MSG(st, sub)                                                 \
  do {                                                                     \
    if (!strstr((st).msg, (sub))) {                                        \
      fprintf(stderr, "%s:%d: message \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, \
              (st).msg, (sub));                                            \
      check_cur_failed_ = 1;                                               \
    }                                                                      \
  } while (0)

#define RUN(fn)                                                            \
  do {                                                                     \
    check_cur_failed_ = 0;                                                 \
    fn();                                                                  \
    if (check_cur_failed_) { check_failed_++; printf("FAIL %s\n", #fn); }   \
    else { check_passed_++; printf("ok   %s\n", #fn); }                     \
  } while (0)

static inline int check_summary(void) {
  printf("%d passed, %d failed\n", check_passed_, check_failed_);
  return check_failed_ ? 1 : 0;
}

#endif
