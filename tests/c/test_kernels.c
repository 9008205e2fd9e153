/*
 * test_kernels.c — BLIS kernel sets (issue 13): selection, and the recurrent
 * kernels under every set this CPU can run.
 *
 *   sets      which of skx (0), haswell (3), sandybridge (4), penryn (5) and
 *             generic (25) this CPU runs, decided here from CPUID (GCC's
 *             __builtin_cpu_supports, independent of blas.c's own CPUID code),
 *             must match lurn_arch_runs;
 *   kernels   test_rnn (forward vs the double reference, the wide threaded
 *             cases with their backward check and bit-equality across thread
 *             counts, NaN/Inf) passes under each of those sets, row-preferring
 *             (haswell, generic) and column-preferring (skx, sandybridge,
 *             penryn: the transposed product) alike;
 *   selection BLIS_ARCH_TYPE set by the user is kept (a name is turned into
 *             the number BLIS reads), a value naming no set or a set the CPU
 *             cannot run is ignored with a note instead of dying of SIGILL,
 *             and lurn's own choice is a set the CPU runs, never below BLIS's.
 * Each case is a child process: BLIS fixes its kernel set once per process.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "blas.h"
#include "check.h"

static char self_dir[4096];

/* Run argv with BLIS_ARCH_TYPE = arch (NULL: unset) and LURN_TEST_RNN_QUICK=1;
 * its stdout into out (size n). Returns the exit status (-1: no exit). */
static int run_child(const char *arch, char *const argv[], char *out, size_t n) {
  int fd[2];
  if (pipe(fd)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    if (arch) setenv("BLIS_ARCH_TYPE", arch, 1);
    else unsetenv("BLIS_ARCH_TYPE");
    setenv("LURN_TEST_RNN_QUICK", "1", 1);
    execv(argv[0], argv);
    _exit(127);
  }
  close(fd[1]);
  size_t got = 0;
  ssize_t r;
  while ((r = read(fd[0], out + got, n - 1 - got)) > 0) got += (size_t)r;
  out[got] = '\0';
  close(fd[0]);
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The child mode: print the set in use and why. */
static int info_child(void) {
  const lurn_ukr *u = lurn_ukr_get();
  printf("set=%s trans=%d blis_pick=%d\nwhy=%s\n", lurn_blis_arch(), u->trans,
         lurn_kernels_blis_pick(), lurn_kernels_why());
  return 0;
}

typedef struct { int id; const char *name; int runs; } set;
static set sets[5];

static void find_sets(void) {
  __builtin_cpu_init();
  const int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                     __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  const int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  /* (GCC checks the OS saves the registers too: XGETBV) */
  sets[0] = (set){0, "skx", avx512 && avx2};
  sets[1] = (set){3, "haswell", avx2};
  sets[2] = (set){4, "sandybridge", !!__builtin_cpu_supports("avx")};
  sets[3] = (set){5, "penryn", !!__builtin_cpu_supports("ssse3")};
  sets[4] = (set){25, "generic", 1};
}

static void test_sets_match_cpuid(void) {
  for (int i = 0; i < 5; i++) {
    if (lurn_arch_runs(sets[i].id) != sets[i].runs)
      fprintf(stderr, "  %s: lurn_arch_runs %d, CPUID %d\n", sets[i].name,
              lurn_arch_runs(sets[i].id), sets[i].runs);
    CHECK(lurn_arch_runs(sets[i].id) == sets[i].runs);
  }
  CHECK(!lurn_arch_runs(1));   /* knl: never chosen on a CPU we cannot prove runs it */
}

static void test_rnn_under_each_set(void) {
  char exe[4200], out[1 << 16], arch[8];
  snprintf(exe, sizeof exe, "%s/test_rnn", self_dir);
  char *argv[] = {exe, NULL};
  int ran = 0, transposed = 0;
  for (int i = 0; i < 5; i++) {
#ifdef __SANITIZE_ADDRESS__
    /* the sanitizer pass is slow: one column-preferring set (sandybridge,
     * 8x8, transposed) beside test_rnn's own run on the default set */
    if (sets[i].id != 4) continue;
#endif
    if (!sets[i].runs) {
      printf("     %-11s (%2d): not run, this CPU lacks it\n", sets[i].name, sets[i].id);
      continue;
    }
    if (sets[i].id == lurn_blis_arch_id()) {   /* test_rnn itself runs on lurn's choice */
      printf("     %-11s (%2d): lurn's own choice, covered by test_rnn\n", sets[i].name,
             sets[i].id);
      ran++;
      transposed += lurn_ukr_get()->trans;
      continue;
    }
    snprintf(arch, sizeof arch, "%d", sets[i].id);
    int rc = run_child(arch, argv, out, sizeof out);
    char want[64];
    snprintf(want, sizeof want, "kernels: %s,", sets[i].name);
    const int named = strstr(out, want) != NULL, tr = strstr(out, "(transposed") != NULL;
    const char *line = strstr(out, "kernels:");
    printf("     %-11s (%2d): test_rnn exit %d, %.*s\n", sets[i].name, sets[i].id, rc,
           line ? (int)strcspn(line, "\n") : 0, line ? line : "");
    if (rc != 0 || !named) fprintf(stderr, "%s", out);
    CHECK(rc == 0 && named);
    ran++;
    transposed += tr;
  }
#ifdef __SANITIZE_ADDRESS__
  CHECK(ran >= 1);
#else
  CHECK(ran >= 2);
#endif
  /* penryn and sandybridge prefer column-stored C on every x86-64 with AVX */
  if (sets[2].runs) CHECK(transposed >= 1);
}

static void test_selection(void) {
  char exe[4200], out[4096];
  snprintf(exe, sizeof exe, "%s/test_kernels", self_dir);
  char *argv[] = {exe, "--info", NULL};
  /* the user's number, and a name (which BLIS alone would read as skx) */
  CHECK(run_child("3", argv, out, sizeof out) == 0);
  CHECK(strstr(out, "set=haswell") || !sets[1].runs);
  CHECK(strstr(out, "why=BLIS_ARCH_TYPE=3 set by the user") || !sets[1].runs);
  CHECK(run_child("generic", argv, out, sizeof out) == 0);
  CHECK(strstr(out, "set=generic") && strstr(out, "why=BLIS_ARCH_TYPE=generic set by the user"));
  /* nonsense and a set the CPU cannot run (knl): ignored, said why */
  CHECK(run_child("fastest", argv, out, sizeof out) == 0);
  CHECK(strstr(out, "(BLIS_ARCH_TYPE=fastest ignored: not a BLIS kernel set)") != NULL);
  CHECK(run_child("1", argv, out, sizeof out) == 0);
  CHECK(strstr(out, "(BLIS_ARCH_TYPE=1 ignored: this CPU cannot run it)") != NULL);
  CHECK(strstr(out, "set=knl") == NULL);
  /* unset: lurn's choice runs here and ranks at least as high as BLIS's */
  CHECK(run_child(NULL, argv, out, sizeof out) == 0);
  printf("     unset: %s", out);
  int best = -1, chosen = -1;
  for (int i = 0; i < 5; i++) {
    char want[32];
    snprintf(want, sizeof want, "set=%s ", sets[i].name);
    if (strstr(out, want)) chosen = i;
    if (best < 0 && sets[i].runs) best = i;
  }
  CHECK(chosen >= 0 && sets[chosen].runs);
  /* AVX2 or better available: never generic/penryn/sandybridge */
  if (best <= 1) CHECK(chosen <= 1);
}

/* With every core kept busy by another process, a parallel section uses
 * one thread; the spinning children are always runnable, so /proc/loadavg
 * counts them whatever else the machine does. */
static void test_threads_under_load(void) {
  const int cores = lurn_num_cores();
  CHECK(lurn_threads_now(1) == 1);
  if (cores < 2) return;
  pid_t kids[64];
  int nk = cores < 64 ? cores : 64;
  for (int i = 0; i < nk; i++) {
    kids[i] = fork();
    if (kids[i] == 0) {
      volatile unsigned long x = 0;
      for (;;) x++;
    }
  }
  struct timespec pause = {0, 120 * 1000 * 1000};   /* past the 20 ms cache, children running */
  nanosleep(&pause, NULL);
  int n = cores;
  for (int tries = 0; tries < 5 && n > 1; tries++) {
    n = lurn_threads_now(cores);
    if (n > 1) nanosleep(&pause, NULL);
  }
#ifdef _OPENMP
  /* a switch of the thread count (lurn.threads(n)) under the same load
   * keeps lurn's other OpenMP loops on the free cores as well */
  const int before = lurn_get_threads();
  lurn_set_threads(cores);
  const int loops = omp_get_max_threads();
  lurn_set_threads(before);
#endif
  for (int i = 0; i < nk; i++) kill(kids[i], SIGKILL);
  for (int i = 0; i < nk; i++) waitpid(kids[i], NULL, 0);
  if (n != 1) fprintf(stderr, "  %d busy processes on %d cores: %d threads\n", nk, cores, n);
  CHECK(n == 1);
#ifdef _OPENMP
  if (n == 1) CHECK(loops == 1);
#endif
}

int main(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "--info")) return info_child();
  ssize_t n = readlink("/proc/self/exe", self_dir, sizeof self_dir - 1);
  if (n <= 0) return 1;
  self_dir[n] = '\0';
  *strrchr(self_dir, '/') = '\0';
  find_sets();
  RUN(test_sets_match_cpuid);
  RUN(test_selection);
  RUN(test_threads_under_load);
  RUN(test_rnn_under_each_set);
  return check_summary();
}
