/*
 * dist.c — lurn over MPI: the few collectives data-parallel training and
 * distributed sweeps need, as `lurn.core.dist`. All of lurn's MPI code is
 * here (and lua/lurn/dist.lua above it); without LURN_MPI (CMake option
 * LURN_MPI, or no MPI found) the same table exists with built() == false
 * and launched() telling whether mpirun started us, so the Lua side can say
 * "this lurn was built without MPI" instead of running N copies unaware.
 *
 *   dist.built() -> bool            compiled with MPI
 *   dist.launched() -> bool         the environment says mpirun/srun started us
 *   dist.init() -> rank, size       MPI_Init_thread once (FUNNELED); idempotent
 *   dist.rank(), dist.size()        0 and 1 before init
 *   dist.set_timeout(seconds)       the watchdog of every wait (default 300 s)
 *   dist.set_where(text)            what the waits are part of ("step 12"): messages
 *   dist.bucket(n) -> Bucket        a fused float32 buffer of n elements:
 *     b:start(tensors, scale)       pack scale * each tensor into the buffer,
 *                                   start MPI_Iallreduce(SUM) on it
 *     b:test() -> done              progress it (MPI_Test)
 *     b:finish(tensors, scale) -> ok [, err, kind]   wait, unpack scale * sum
 *   dist.iallreduce(numbers, op) -> Req   doubles, op "sum" or "max"
 *     r:wait() -> list | nil, err, kind
 *   dist.allgather(string) -> {s_0, ..., s_{n-1}} | nil, err, kind
 *   dist.bcast(string | nil) -> string (rank 0's) | nil, err, kind
 *   dist.hash(tensors) -> hex       FNV-1a 64 of the tensors' float bytes
 *   dist.send(dest, tag, string)    buffered point-to-point (sweeps)
 *   dist.poll() -> source, tag, string | nil   a waiting message, if any
 *   dist.sparse(V, D) -> Sparse     the row-sparse exchange of an embedding's
 *                                   [V, D] gradient (offer, counts, start, test,
 *                                   finish: see its section below)
 *   dist.stats() -> {wait_s, reduce_s, reduces, bytes, sparse, sparse_bytes,
 *                    gathered_bytes}   since init (bench)
 *   dist.library() -> "Open MPI v4.1.4"
 *   dist.finalize(), dist.abort(code), dist.exit_now(code) (no Finalize)
 *
 * The waits: every collective is started non-blocking and waited here with
 * MPI_Test in a loop, so a wait can give up. After `timeout` seconds it
 * returns nil, a message naming this rank, the collective and `where`, and
 * "timeout"; after a SIGINT/SIGTERM (lurn.catch_signals) it waits 0.3 s more
 * (a signal sent to the whole job reaches the other ranks too, and they
 * finish the step) and then returns "signal": when a rank dies, mpirun
 * sends the others SIGTERM and SIGKILL 1 s later (odls_base_sigkill_timeout),
 * and rank 0 must say where it was and write summary.json before that. The Lua side turns these into
 * errors. The loop spins briefly, then yields and naps: on an oversubscribed
 * machine a busy wait would take the core from the rank it waits for.
 */
/***
 * @submodule lurn.core
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bind.h"

#ifdef LURN_MPI
#include <mpi.h>
#endif

#define BUCKET_MT "lurn.dist.Bucket"
#define REQ_MT "lurn.dist.Req"

#ifdef LURN_MPI
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
#endif

static int launched(void) {
  static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", NULL};
  const char *off = getenv("LURN_DIST");
  if (off && strcmp(off, "off") == 0) return 0;   /* a sweep's trial under an MPI rank */
  for (int i = 0; vars[i]; i++)
    if (getenv(vars[i])) return 1;
  return 0;
}

static int l_built(lua_State *L) {
#ifdef LURN_MPI
  lua_pushboolean(L, 1);
#else
  lua_pushboolean(L, 0);
#endif
  return 1;
}

/*** lurn.dist.launched() — whether an MPI launcher (mpirun, srun) started this process,
 * from its environment (OMPI_COMM_WORLD_SIZE, PMIX_RANK, PMI_RANK, PMI_SIZE; LURN_DIST=off
 * says no, for a sweep's trial under a rank). lurn.dist.setup initializes MPI only then.
 * @function dist.launched
 * @treturn boolean
 * @usage print(lurn.dist.launched())   --> false when run without mpirun
 */
static int l_launched(lua_State *L) {
  lua_pushboolean(L, launched());
  return 1;
}

/* FNV-1a over the bytes of the tensors' elements (row-major order). */
/*** lurn.dist.hash(tensors) — FNV-1a (64 bits) of the tensors' float32 values, in order, as 16
 * hex digits: the fingerprint the ranks compare to prove they hold the same parameters
 * (Trainer:check, LURN_DIST_CHECK). Needs no MPI.
 * @function dist.hash
 * @tparam {Tensor,...} tensors contiguous float32 tensors
 * @treturn string 16 hex digits
 * @usage local a = lurn.dist.hash { lurn.ones(3), lurn.zeros(2, 2) }
 * print(a, a == lurn.dist.hash { lurn.ones(3), lurn.zeros(2, 2) })   --> ... true
 */
static int l_hash(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  uint64_t h = 1469598103934665603ULL;
  lua_Integer n = luaL_len(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    lurn_tensor *t = lurn_argtensor(L, -1, "dist.hash", "list entry");
    if (t->dtype != LURN_FLOAT32 || !lurn_is_contiguous(t))
      luaL_error(L, "dist.hash: tensor %I is not a contiguous float32 tensor", i);
    const unsigned char *p = (const unsigned char *)lurn_f32(t);
    size_t bytes = (size_t)lurn_numel(t) * sizeof(float);
    for (size_t k = 0; k < bytes; k++) {
      h ^= p[k];
      h *= 1099511628211ULL;
    }
    lua_pop(L, 1);
  }
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  lua_pushstring(L, buf);
  return 1;
}

#ifdef LURN_MPI
/* The float32 data of the contiguous tensors in list `idx`, checked for
 * numel: the list must fill exactly `want` elements (the bucket's size). */
typedef struct {
  float *data;
  int64_t n;
} span;

static span *tensor_spans(lua_State *L, int idx, int64_t want, const char *fn, int *count) {
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer n = luaL_len(L, idx);
  if (n < 0 || n > 1000000) luaL_error(L, "%s: a list of %I tensors", fn, n);
  span *s = lua_newuserdatauv(L, sizeof(span) * (size_t)(n ? n : 1), 0);
  int64_t total = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, idx, i);
    lurn_tensor *t = lurn_argtensor(L, -1, fn, "list entry");
    if (t->dtype != LURN_FLOAT32 || !lurn_is_contiguous(t))
      luaL_error(L, "%s: tensor %I is not a contiguous float32 tensor", fn, i);
    /* the list (an argument) keeps the tensors alive; no Lua call follows */
    s[i - 1].data = lurn_f32(t);
    s[i - 1].n = lurn_numel(t);
    total += s[i - 1].n;
    lua_pop(L, 1);
  }
  if (total != want)
    luaL_error(L, "%s: the tensors hold %I elements, the bucket %I", fn, (lua_Integer)total,
               (lua_Integer)want);
  *count = (int)n;
  return s;
}
#endif

#ifdef LURN_MPI

static int g_inited = 0, g_finalized = 0, g_rank = 0, g_size = 1;
static double g_timeout = 300.0;
static char g_where[160] = "setup";
static double g_wait_s = 0, g_reduce_s = 0, g_bytes = 0;
static double g_sparse_bytes = 0, g_gathered_bytes = 0;
static long g_reduces = 0, g_sparse = 0;

/* Wait for `req`; 0 when done, else pushes nil, message, kind and returns 3. */
static int wait_req(lua_State *L, MPI_Request *req, const char *what) {
  double t0 = now_s(), sig_at = 0;
  long spins = 0;
  for (;;) {
    int flag = 0;
    MPI_Test(req, &flag, MPI_STATUS_IGNORE);
    if (flag) break;
    double t = now_s();
    if (lurn_signal_caught() && sig_at == 0) sig_at = t;
    if (sig_at > 0 && t - sig_at > 0.3) {
      char msg[512];
      snprintf(msg, sizeof msg, "rank %d of %d: a signal arrived while it waited %.1f s for %s "
               "at %s; another rank stopped or died (mpirun names it)",
               g_rank, g_size, t - t0, what, g_where);
      lua_pushnil(L);
      lua_pushstring(L, msg);
      lua_pushliteral(L, "signal");
      return 3;
    }
    if (t - t0 > g_timeout) {
      char msg[512];
      snprintf(msg, sizeof msg, "rank %d of %d: %s at %s did not complete within %g s "
               "(LURN_DIST_TIMEOUT): a rank is hung, dead or far behind",
               g_rank, g_size, what, g_where, g_timeout);
      lua_pushnil(L);
      lua_pushstring(L, msg);
      lua_pushliteral(L, "timeout");
      return 3;
    }
    if (++spins > 2000) {
      if (spins > 20000) {
        struct timespec nap = {0, 200000};   /* 0.2 ms */
        nanosleep(&nap, NULL);
      } else {
        sched_yield();
      }
    }
  }
  g_wait_s += now_s() - t0;
  return 0;
}

static void need_init(lua_State *L, const char *fn) {
  if (!g_inited || g_finalized) luaL_error(L, "%s: MPI is not initialized (dist.init)", fn);
}

/*** lurn.dist.init() — MPI_Init_thread (FUNNELED) once; later calls return the same.
 * lurn.dist.setup calls it under mpirun; a program without a launcher runs as rank 0 of 1
 * without it.
 * @function dist.init
 * @treturn integer this rank (0-based)
 * @treturn integer the number of ranks
 * @usage local rank, size = lurn.dist.rank(), lurn.dist.size()   -- 0, 1 before init
 * if lurn.dist.launched() then rank, size = lurn.dist.init() end
 * print(("rank %d of %d"):format(rank, size))
 */
static int l_init(lua_State *L) {
  if (!g_inited) {
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      return luaL_error(L, "dist.init: MPI_Init_thread failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_inited = 1;
  }
  lua_pushinteger(L, g_rank);
  lua_pushinteger(L, g_size);
  return 2;
}

/*** lurn.dist.initialized() — whether MPI is initialized (dist.init called, dist.finalize not).
 * @function dist.initialized
 * @treturn boolean
 * @usage print(lurn.dist.initialized())   --> false before dist.init
 */
static int l_initialized(lua_State *L) {
  lua_pushboolean(L, g_inited && !g_finalized);
  return 1;
}

static int l_rank(lua_State *L) {
  lua_pushinteger(L, g_rank);
  return 1;
}

static int l_size(lua_State *L) {
  lua_pushinteger(L, g_size);
  return 1;
}

/*** lurn.dist.set_timeout(seconds) — how long any collective may wait before it gives up
 * with a message naming this rank and what it waited for (default 300; lurn.dist.setup takes
 * LURN_DIST_TIMEOUT).
 * @function dist.set_timeout
 * @tparam number seconds in (0, 1e6]
 * @usage if lurn.dist.built() then lurn.dist.set_timeout(60) end
 */
static int l_set_timeout(lua_State *L) {
  double t = luaL_checknumber(L, 1);
  luaL_argcheck(L, t > 0 && t <= 1e6, 1, "seconds in (0, 1e6]");
  g_timeout = t;
  return 0;
}

/*** lurn.dist.set_where(text) — what the next waits are part of ("step 12"), for their
 * timeout and signal messages.
 * @function dist.set_where
 * @tparam string text
 * @usage if lurn.dist.built() then lurn.dist.set_where("step 12") end
 */
static int l_set_where(lua_State *L) {
  const char *s = luaL_checkstring(L, 1);
  snprintf(g_where, sizeof g_where, "%s", s);
  return 0;
}

/* ---- the fused gradient bucket ---------------------------------------------- */

typedef struct {
  float *buf;
  int64_t n;
  MPI_Request req;
  int active;
  double t_start;
} bucket;

/*** lurn.dist.bucket(n) — a fused float32 buffer of n elements for gradient allreduces.
 * `b:start(tensors, scale)` packs scale * each tensor into it and starts MPI_Iallreduce (sum);
 * `b:test()` progresses it (true when done); `b:finish(tensors, scale)` waits and unpacks
 * scale * the sum into the tensors (returns true, or nil, a message and "timeout" or
 * "signal"); `b:numel()` is n. start and finish need dist.init.
 * @function dist.bucket
 * @tparam integer n elements, 1 to 2^31 - 1
 * @treturn userdata the bucket
 * @usage if lurn.dist.built() then
 *   local b = lurn.dist.bucket(1024)
 *   print(b:numel())   --> 1024
 * end
 */
static int l_bucket(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1);
  luaL_argcheck(L, n > 0 && n <= ((lua_Integer)1 << 31) - 1, 1, "1 to 2^31-1 elements");
  bucket *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  b->buf = malloc((size_t)n * sizeof(float));
  if (!b->buf) return luaL_error(L, "dist.bucket: out of memory for %I floats", n);
  b->n = n;
  luaL_setmetatable(L, BUCKET_MT);
  return 1;
}

static bucket *check_bucket(lua_State *L) { return luaL_checkudata(L, 1, BUCKET_MT); }

static int b_start(lua_State *L) {
  bucket *b = check_bucket(L);
  float scale = (float)luaL_checknumber(L, 3);
  need_init(L, "Bucket:start");
  if (b->active) return luaL_error(L, "Bucket:start: the bucket's allreduce is still running");
  int count;
  span *s = tensor_spans(L, 2, b->n, "Bucket:start", &count);
  float *p = b->buf;
  for (int i = 0; i < count; i++) {
    const float *x = s[i].data;
    if (scale == 1.0f) memcpy(p, x, (size_t)s[i].n * sizeof(float));
    else
      for (int64_t k = 0; k < s[i].n; k++) p[k] = scale * x[k];
    p += s[i].n;
  }
  b->t_start = now_s();
  MPI_Iallreduce(MPI_IN_PLACE, b->buf, (int)b->n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &b->req);
  b->active = 1;
  g_reduces++;
  g_bytes += (double)b->n * sizeof(float);
  return 0;
}

static int b_test(lua_State *L) {
  bucket *b = check_bucket(L);
  int flag = 1;
  if (b->active) {
    MPI_Test(&b->req, &flag, MPI_STATUS_IGNORE);
    if (flag) {
      b->active = 0;
      g_reduce_s += now_s() - b->t_start;
    }
  }
  lua_pushboolean(L, flag);
  return 1;
}

static int b_finish(lua_State *L) {
  bucket *b = check_bucket(L);
  float scale = (float)luaL_checknumber(L, 3);
  int count;
  span *s = tensor_spans(L, 2, b->n, "Bucket:finish", &count);
  if (b->active) {
    int r = wait_req(L, &b->req, "the gradient allreduce");
    if (r) return r;
    b->active = 0;
    g_reduce_s += now_s() - b->t_start;
  }
  const float *p = b->buf;
  for (int i = 0; i < count; i++) {
    float *x = s[i].data;
    if (scale == 1.0f) memcpy(x, p, (size_t)s[i].n * sizeof(float));
    else
      for (int64_t k = 0; k < s[i].n; k++) x[k] = scale * p[k];
    p += s[i].n;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int b_gc(lua_State *L) {
  bucket *b = luaL_checkudata(L, 1, BUCKET_MT);
  /* a request still running owns the buffer: finish it (or leak it when MPI
   * is gone) rather than free memory MPI may still write */
  if (b->active) b->buf = NULL;   /* abandoned mid-step (the job is stopping): leak it */
  free(b->buf);
  b->buf = NULL;
  return 0;
}

static int b_numel(lua_State *L) {
  lua_pushinteger(L, check_bucket(L)->n);
  return 1;
}

/* ---- the sparse exchange of an embedding table's gradient ----------------------- */

/* A batch names a few hundred of an embedding's rows, and only those rows of
 * its gradient are non-zero: each rank sends just them, and every rank adds
 * all ranks' rows into its dense gradient. Two collectives per step:
 *
 *   s:offer(rows)        MPI_Iallgather of this rank's row count k
 *   s:counts()           wait for it: {k_0, ..., k_{N-1}} (the same on every
 *                        rank, so all decide alike between this and the
 *                        dense allreduce)
 *                        (when they decide for the dense allreduce, the
 *                        exchange ends here: the next offer may follow)
 *   s:start(grad, scale) pack [k int32 indices][k x D floats: scale * rows]
 *                        and start MPI_Iallgatherv (bytes) of all ranks' packs
 *   s:finish(grad, scale)  wait; zero this rank's rows of grad, add every
 *                        rank's rows in rank order 0..N-1, multiply the rows
 *                        any rank sent by scale
 *
 * Every rank adds the same numbers in the same order, so all end with
 * bit-identical gradients; against the dense allreduce only the order of
 * the sum can differ (none with 2 ranks: 0 + a + b rounds like a + b).
 * Untouched rows stay exactly zero, as the dense sum of zeros leaves them. */
typedef struct {
  int64_t V, D;
  int *k;                  /* this rank's rows: the Iallgather's send buffer, malloc'd
                              (after counts) so that an abandoned request keeps it */
  char *send;              /* [k] int32 rows, then [k, D] floats */
  size_t send_cap;
  char *recv;              /* the ranks' packs, rank after rank */
  size_t recv_cap;
  int *counts;             /* [N] rows per rank */
  int *rbytes, *displs;    /* [N] bytes per rank and their offsets in recv */
  unsigned char *mark;     /* [V] rows seen while adding (cleared after scaling) */
  MPI_Request req;
  int phase;               /* 0 idle, 1 counting, 2 counted, 3 sending, 4 sent */
  double t_start;
} sparse;

#define SPARSE_MT "lurn.dist.Sparse"

/*** lurn.dist.sparse(V, D) — the row-sparse exchange of an embedding's [V, D] gradient.
 * Each rank sends only the rows its batch touched; every rank adds all ranks' rows in rank
 * order: `s:offer(rows)` (int32 [k] ascending, or nil) starts the allgather of the row
 * counts, `s:counts()` waits for them ({k_0, ..., k_{N-1}}, the same on every rank),
 * `s:start(grad, scale)` sends scale * those rows of grad, `s:finish(grad, scale)` waits,
 * zeroes this rank's rows, adds every rank's and multiplies them by scale (true, or nil, a
 * message and "timeout" or "signal"); `s:test()` progresses whichever collective runs.
 * After counts the exchange may end (the ranks chose the dense allreduce). Needs dist.init.
 * @function dist.sparse
 * @tparam integer V rows of the table, 1 to 2^31 - 1
 * @tparam integer D columns, 1 to 2^24
 * @treturn userdata the exchange
 * @usage if lurn.dist.initialized() then
 *   local s = lurn.dist.sparse(100, 8)   -- then s:offer(rows), s:counts(), s:start, s:finish
 * end
 */
static int l_sparse(lua_State *L) {
  lua_Integer V = luaL_checkinteger(L, 1), D = luaL_checkinteger(L, 2);
  luaL_argcheck(L, V >= 1 && V <= INT32_MAX, 1, "1 to 2^31-1 rows");
  luaL_argcheck(L, D >= 1 && D <= (1 << 24), 2, "1 to 2^24 columns");
  need_init(L, "dist.sparse");
  sparse *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, SPARSE_MT);   /* from here __gc frees what was allocated */
  s->V = V;
  s->D = D;
  s->counts = calloc((size_t)g_size * 3 + 1, sizeof(int));
  s->mark = calloc((size_t)V, 1);
  if (!s->counts || !s->mark) return luaL_error(L, "dist.sparse: out of memory for %I rows", V);
  s->rbytes = s->counts + g_size;
  s->displs = s->rbytes + g_size;
  s->k = s->displs + g_size;
  return 1;
}

static sparse *check_sparse(lua_State *L) { return luaL_checkudata(L, 1, SPARSE_MT); }

/* grad at idx: a contiguous float32 [V, D] tensor. */
static float *sparse_grad(lua_State *L, sparse *s, int idx, const char *fn) {
  lurn_tensor *g = lurn_argtensor(L, idx, fn, "gradient");
  if (g->dtype != LURN_FLOAT32 || !lurn_is_contiguous(g) || g->ndim != 2 || g->size[0] != s->V ||
      g->size[1] != s->D)
    luaL_error(L, "%s: the gradient is not a contiguous float32 [%I, %I] tensor", fn,
               (lua_Integer)s->V, (lua_Integer)s->D);
  return lurn_f32(g);
}

static int grow(char **buf, size_t *cap, size_t want) {
  if (want <= *cap) return 1;
  char *p = realloc(*buf, want);
  if (!p) return 0;
  *buf = p;
  *cap = want;
  return 1;
}

/* s:offer(rows | nil): this rank's rows (int32 [k], ascending, distinct, in
 * [0, V); nil: none); starts the allgather of the counts. */
static int s_offer(lua_State *L) {
  sparse *s = check_sparse(L);
  need_init(L, "Sparse:offer");
  /* phase 2: the counts were the last step's end (the table went dense) */
  if (s->phase != 0 && s->phase != 2)
    return luaL_error(L, "Sparse:offer: the previous exchange is not finished");
  int64_t k = 0;
  const int32_t *r = NULL;
  if (!lua_isnoneornil(L, 2)) {
    lurn_tensor *t = lurn_argtensor(L, 2, "Sparse:offer", "rows");
    if (t->dtype != LURN_INT32 || t->ndim != 1 || !lurn_is_contiguous(t))
      return luaL_error(L, "Sparse:offer: rows must be a contiguous 1-D int32 tensor");
    k = lurn_numel(t);
    r = lurn_i32(t);
  }
  for (int64_t j = 0; j < k; j++)
    if (r[j] < 0 || r[j] >= s->V || (j > 0 && r[j] <= r[j - 1]))
      return luaL_error(L, "Sparse:offer: row %d at position %I is out of [0, %I) or not "
                        "ascending", (int)r[j], (lua_Integer)(j + 1), (lua_Integer)s->V);
  size_t bytes = (size_t)k * (size_t)(s->D + 1) * sizeof(float);
  if (bytes > INT32_MAX) return luaL_error(L, "Sparse:offer: %I rows are too many", (lua_Integer)k);
  if (!grow(&s->send, &s->send_cap, bytes ? bytes : 1))
    return luaL_error(L, "Sparse:offer: out of memory for %I rows", (lua_Integer)k);
  if (k) memcpy(s->send, r, (size_t)k * sizeof(int32_t));
  *s->k = (int)k;
  s->t_start = now_s();
  MPI_Iallgather(s->k, 1, MPI_INT, s->counts, 1, MPI_INT, MPI_COMM_WORLD, &s->req);
  s->phase = 1;
  return 0;
}

/* s:counts() -> {k_0, ..., k_{N-1}} | nil, err, kind */
static int s_counts(lua_State *L) {
  sparse *s = check_sparse(L);
  if (s->phase == 0) return luaL_error(L, "Sparse:counts: no exchange (Sparse:offer first)");
  if (s->phase == 1) {
    int rc = wait_req(L, &s->req, "the sparse gradient's row counts");
    if (rc) return rc;
    s->phase = 2;
  }
  lua_createtable(L, g_size, 0);
  for (int i = 0; i < g_size; i++) {
    lua_pushinteger(L, s->counts[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* s:start(grad, scale): pack scale * this rank's rows, start the allgatherv. */
static int s_start(lua_State *L) {
  sparse *s = check_sparse(L);
  float *g = sparse_grad(L, s, 2, "Sparse:start");
  float scale = (float)luaL_checknumber(L, 3);
  if (s->phase != 2) return luaL_error(L, "Sparse:start: the row counts are not in (Sparse:counts)");
  size_t row_bytes = (size_t)(s->D + 1) * sizeof(float);
  size_t total = 0;
  for (int i = 0; i < g_size; i++) {
    if (s->counts[i] < 0 || s->counts[i] > s->V)
      return luaL_error(L, "Sparse:start: rank %d offers %d rows of %I", i, s->counts[i],
                        (lua_Integer)s->V);
    s->displs[i] = (int)total;
    s->rbytes[i] = (int)((size_t)s->counts[i] * row_bytes);
    total += (size_t)s->counts[i] * row_bytes;
    if (total > INT32_MAX)
      return luaL_error(L, "Sparse:start: the ranks' rows exceed 2 GB (use the dense allreduce)");
  }
  if (!grow(&s->recv, &s->recv_cap, total ? total : 1))
    return luaL_error(L, "Sparse:start: out of memory for %I bytes", (lua_Integer)total);
  const int32_t *idx = (const int32_t *)s->send;   // [k]
  const int k = *s->k;
  float *dst = (float *)(s->send + (size_t)k * sizeof(int32_t));   // [k, D]
  for (int j = 0; j < k; j++) {
    const float *src = g + (int64_t)idx[j] * s->D;
    for (int64_t d = 0; d < s->D; d++) dst[(int64_t)j * s->D + d] = scale * src[d];
  }
  MPI_Iallgatherv(s->send, k * (int)row_bytes, MPI_BYTE, s->recv, s->rbytes, s->displs,
                  MPI_BYTE, MPI_COMM_WORLD, &s->req);
  s->phase = 3;
  g_reduces++;
  g_bytes += (double)k * (double)row_bytes;
  g_sparse++;
  g_sparse_bytes += (double)k * (double)row_bytes;
  g_gathered_bytes += (double)total;
  return 0;
}

/* s:test() -> done: progress whichever collective runs. */
static int s_test(lua_State *L) {
  sparse *s = check_sparse(L);
  int flag = 1;
  if (s->phase == 1 || s->phase == 3) {
    MPI_Test(&s->req, &flag, MPI_STATUS_IGNORE);
    if (flag) s->phase++;
  }
  lua_pushboolean(L, flag);
  return 1;
}

/* s:finish(grad, scale) -> true | nil, err, kind */
static int s_finish(lua_State *L) {
  sparse *s = check_sparse(L);
  float *g = sparse_grad(L, s, 2, "Sparse:finish");   // [V, D]
  float scale = (float)luaL_checknumber(L, 3);
  if (s->phase == 3) {
    int rc = wait_req(L, &s->req, "the sparse gradient exchange");
    if (rc) return rc;
    s->phase = 4;
  }
  if (s->phase != 4) return luaL_error(L, "Sparse:finish: no exchange running (Sparse:start)");
  s->phase = 0;
  g_reduce_s += now_s() - s->t_start;
  const int64_t D = s->D;
  /* the rows the others sent, checked before anything changes */
  for (int r = 0; r < g_size; r++) {
    const int32_t *idx = (const int32_t *)(s->recv + s->displs[r]);   // [k_r]
    for (int j = 0; j < s->counts[r]; j++)
      if (idx[j] < 0 || idx[j] >= s->V)
        return luaL_error(L, "Sparse:finish: rank %d sent row %d, outside [0, %I)", r,
                          (int)idx[j], (lua_Integer)s->V);
  }
  const int32_t *mine = (const int32_t *)s->send;
  for (int j = 0; j < *s->k; j++) memset(g + (int64_t)mine[j] * D, 0, (size_t)D * sizeof(float));
  /* rank order: the same sum on every rank */
  for (int pass = 0; pass < 2; pass++)
    for (int r = 0; r < g_size; r++) {
      const int32_t *idx = (const int32_t *)(s->recv + s->displs[r]);   // [k_r]
      const float *rows = (const float *)(idx + s->counts[r]);          // [k_r, D]
      for (int j = 0; j < s->counts[r]; j++) {
        int32_t v = idx[j];
        float *row = g + (int64_t)v * D;
        if (pass == 0) {   /* add */
          const float *src = rows + (int64_t)j * D;
          for (int64_t d = 0; d < D; d++) row[d] += src[d];
          s->mark[v] = 1;
        } else if (s->mark[v]) {   /* scale each row once */
          if (scale != 1.0f)
            for (int64_t d = 0; d < D; d++) row[d] *= scale;
          s->mark[v] = 0;
        }
      }
    }
  lua_pushboolean(L, 1);
  return 1;
}

static int s_gc(lua_State *L) {
  sparse *s = luaL_checkudata(L, 1, SPARSE_MT);
  if (s->phase == 1 || s->phase == 3) {   /* MPI may still write them (a stopping job): leak */
    s->send = s->recv = NULL;
    s->counts = NULL;   /* (and k, in the same block) */
  }
  free(s->send);
  free(s->recv);
  free(s->counts);
  free(s->mark);
  s->send = s->recv = NULL;
  s->counts = NULL;
  s->mark = NULL;
  return 0;
}

/* ---- small double allreduces (loss, counts, flags) ----------------------------- */

typedef struct {
  double *v;   /* malloc'd: an abandoned request keeps it (leaked) */
  int n;
  MPI_Request req;
  int active;
} dreq;

/*** lurn.dist.iallreduce(numbers [, op]) — start an allreduce of up to 64 numbers (doubles)
 * over the ranks; `r:wait([what])` returns the reduced list, or nil, a message naming `what`
 * and "timeout" or "signal". Needs dist.init.
 * @function dist.iallreduce
 * @tparam {number,...} numbers 1 to 64 of them
 * @tparam[opt] string op "sum" (default) or "max"
 * @treturn userdata the request
 * @usage if lurn.dist.initialized() then
 *   local r = lurn.dist.iallreduce({ 0.25, 32 }, "sum")   -- this rank's loss and tokens
 *   local sums = assert(r:wait("the loss"))
 * end
 */
static int l_iallreduce(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  const char *op = luaL_optstring(L, 2, "sum");
  need_init(L, "dist.iallreduce");
  MPI_Op mop;
  if (strcmp(op, "sum") == 0) mop = MPI_SUM;
  else if (strcmp(op, "max") == 0) mop = MPI_MAX;
  else return luaL_argerror(L, 2, "'sum' or 'max'");
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 1 && n <= 64, 1, "1 to 64 numbers");
  dreq *r = lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  r->n = (int)n;
  r->v = calloc(64, sizeof(double));
  if (!r->v) return luaL_error(L, "dist.iallreduce: out of memory");
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    r->v[i - 1] = luaL_checknumber(L, -1);
    lua_pop(L, 1);
  }
  luaL_setmetatable(L, REQ_MT);
  MPI_Iallreduce(MPI_IN_PLACE, r->v, r->n, MPI_DOUBLE, mop, MPI_COMM_WORLD, &r->req);
  r->active = 1;
  return 1;
}

static int r_wait(lua_State *L) {
  dreq *r = luaL_checkudata(L, 1, REQ_MT);
  const char *what = luaL_optstring(L, 2, "an allreduce of the loss and flags");
  if (r->active) {
    int rc = wait_req(L, &r->req, what);
    if (rc) return rc;
    r->active = 0;
  }
  lua_createtable(L, r->n, 0);
  for (int i = 0; i < r->n; i++) {
    lua_pushnumber(L, r->v[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int r_gc(lua_State *L) {
  dreq *r = luaL_checkudata(L, 1, REQ_MT);
  if (!r->active) free(r->v);   /* else MPI may still write it: leaked */
  r->v = NULL;
  return 0;
}

/* ---- strings: allgather, broadcast, point-to-point ------------------------------ */

static int l_allgather(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  need_init(L, "dist.allgather");
  if (len > (1u << 30)) return luaL_error(L, "dist.allgather: string too long");
  int *lens = lua_newuserdatauv(L, sizeof(int) * 2 * (size_t)g_size, 0);
  int *displs = lens + g_size;
  int mine = (int)len;
  MPI_Request req;
  MPI_Iallgather(&mine, 1, MPI_INT, lens, 1, MPI_INT, MPI_COMM_WORLD, &req);
  int rc = wait_req(L, &req, "an allgather");
  if (rc) return rc;
  long total = 0;
  for (int i = 0; i < g_size; i++) {
    displs[i] = (int)total;
    total += lens[i];
  }
  char *all = lua_newuserdatauv(L, (size_t)(total ? total : 1), 0);
  MPI_Iallgatherv(s, mine, MPI_CHAR, all, lens, displs, MPI_CHAR, MPI_COMM_WORLD, &req);
  rc = wait_req(L, &req, "an allgather");
  if (rc) return rc;
  lua_createtable(L, g_size, 0);
  for (int i = 0; i < g_size; i++) {
    lua_pushlstring(L, all + displs[i], (size_t)lens[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int l_bcast(lua_State *L) {
  need_init(L, "dist.bcast");
  size_t len = 0;
  const char *s = g_rank == 0 ? luaL_checklstring(L, 1, &len) : NULL;
  int n = (int)len;
  MPI_Request req;
  MPI_Ibcast(&n, 1, MPI_INT, 0, MPI_COMM_WORLD, &req);
  int rc = wait_req(L, &req, "a broadcast");
  if (rc) return rc;
  char *buf = lua_newuserdatauv(L, (size_t)(n ? n : 1), 0);
  if (g_rank == 0) memcpy(buf, s, len);
  MPI_Ibcast(buf, n, MPI_CHAR, 0, MPI_COMM_WORLD, &req);
  rc = wait_req(L, &req, "a broadcast");
  if (rc) return rc;
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}

/* Sends are buffered here (a copy per message) and completed lazily, so a
 * send to a rank that died never blocks the sender. */
typedef struct pending {
  MPI_Request req;
  char *buf;
  struct pending *next;
} pending;
static pending *g_pending = NULL;

static void reap_sends(int all) {
  pending **pp = &g_pending;
  while (*pp) {
    int flag = 0;
    MPI_Test(&(*pp)->req, &flag, MPI_STATUS_IGNORE);
    if (flag || all) {
      pending *d = *pp;
      *pp = d->next;
      if (!flag) MPI_Request_free(&d->req);   /* a dead peer: let it go */
      else free(d->buf);                      /* (a freed request's buffer is leaked) */
      free(d);
    } else {
      pp = &(*pp)->next;
    }
  }
}

/*** lurn.dist.send(dest, tag, text) — send a string to rank dest without waiting for it to be
 * received (buffered; the distributed sweeps' messages). Needs dist.init.
 * @function dist.send
 * @tparam integer dest the rank, 0 to size - 1
 * @tparam integer tag 0 to 32766
 * @tparam string text
 * @usage if lurn.dist.initialized() and lurn.dist.rank() > 0 then
 *   lurn.dist.send(0, 1, '{"trial": 3, "loss": 0.41}')
 * end
 */
static int l_send(lua_State *L) {
  lua_Integer dest = luaL_checkinteger(L, 1), tag = luaL_checkinteger(L, 2);
  size_t len;
  const char *s = luaL_checklstring(L, 3, &len);
  need_init(L, "dist.send");
  luaL_argcheck(L, dest >= 0 && dest < g_size, 1, "not a rank");
  luaL_argcheck(L, tag >= 0 && tag < 32767, 2, "tag 0 to 32766");
  reap_sends(0);
  pending *p = malloc(sizeof *p);
  char *buf = malloc(len ? len : 1);
  if (!p || !buf) {
    free(p);
    free(buf);
    return luaL_error(L, "dist.send: out of memory");
  }
  memcpy(buf, s, len);
  p->buf = buf;
  MPI_Isend(buf, (int)len, MPI_CHAR, (int)dest, (int)tag, MPI_COMM_WORLD, &p->req);
  p->next = g_pending;
  g_pending = p;
  return 0;
}

/*** lurn.dist.poll() — a message some rank sent this one (dist.send), if one is waiting.
 * Needs dist.init.
 * @function dist.poll
 * @treturn integer|nil the sender's rank (nothing when no message waits)
 * @treturn integer the tag
 * @treturn string the text
 * @usage if lurn.dist.initialized() then
 *   local from, tag, text = lurn.dist.poll()
 *   if from then print(from, tag, text) end
 * end
 */
static int l_poll(lua_State *L) {
  need_init(L, "dist.poll");
  reap_sends(0);
  int flag = 0;
  MPI_Status st;
  MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
  if (!flag) return 0;
  int n;
  MPI_Get_count(&st, MPI_CHAR, &n);
  char *buf = lua_newuserdatauv(L, (size_t)(n ? n : 1), 0);
  MPI_Recv(buf, n, MPI_CHAR, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  lua_pushinteger(L, st.MPI_SOURCE);
  lua_pushinteger(L, st.MPI_TAG);
  lua_pushlstring(L, buf, (size_t)n);
  return 3;
}

/* "Open MPI v4.1.4, ..." (its first line) */
/*** lurn.dist.library() — the MPI library's version line ("Open MPI v4.1.4"), as lurn info shows it.
 * @function dist.library
 * @treturn string
 * @usage if lurn.dist.built() then print(lurn.dist.library()) end
 */
static int l_library(lua_State *L) {
  char v[MPI_MAX_LIBRARY_VERSION_STRING];
  int n = 0;
  MPI_Get_library_version(v, &n);
  v[n < MPI_MAX_LIBRARY_VERSION_STRING ? n : MPI_MAX_LIBRARY_VERSION_STRING - 1] = 0;
  char *nl = strpbrk(v, ",\n");
  if (nl) *nl = 0;
  lua_pushstring(L, v);
  return 1;
}

static int l_stats(lua_State *L) {
  lua_createtable(L, 0, 7);
  lua_pushinteger(L, g_sparse);
  lua_setfield(L, -2, "sparse");
  lua_pushnumber(L, g_sparse_bytes);
  lua_setfield(L, -2, "sparse_bytes");
  lua_pushnumber(L, g_gathered_bytes);
  lua_setfield(L, -2, "gathered_bytes");
  lua_pushnumber(L, g_wait_s);
  lua_setfield(L, -2, "wait_s");
  lua_pushnumber(L, g_reduce_s);
  lua_setfield(L, -2, "reduce_s");
  lua_pushinteger(L, g_reduces);
  lua_setfield(L, -2, "reduces");
  lua_pushnumber(L, g_bytes);
  lua_setfield(L, -2, "bytes");
  return 1;
}

/*** lurn.dist.finalize() — MPI_Finalize, once, after the last collective (nothing before dist.init).
 * @function dist.finalize
 * @usage lurn.dist.finalize()   -- at the end of a rank's work; a no-op without MPI initialized
 */
static int l_finalize(lua_State *L) {
  (void)L;
  if (g_inited && !g_finalized) {
    reap_sends(0);
    MPI_Finalize();
    g_finalized = 1;
  }
  return 0;
}

/*** lurn.dist.abort([code]) — stop every rank of the job (MPI_Abort) with status code
 * (default 1), or this process alone when MPI is not initialized. Does not return.
 * @function dist.abort
 * @tparam[opt] integer code
 * @usage local fatal = false   -- e.g. a rank found its data missing
 * if fatal and lurn.dist.initialized() then lurn.dist.abort(3) end
 */
static int l_abort(lua_State *L) {
  lua_Integer code = luaL_optinteger(L, 1, 1);
  fflush(stdout);
  fflush(stderr);
  if (g_inited && !g_finalized) MPI_Abort(MPI_COMM_WORLD, (int)code);
  exit((int)code);
}

/* Exit without MPI_Finalize: after a rank died, Finalize would wait for it. */
/*** lurn.dist.exit_now([code]) — exit this process at once (status code, default 0) without
 * MPI_Finalize, which would wait for a rank that died. Does not return.
 * @function dist.exit_now
 * @tparam[opt] integer code
 * @usage local peer_lost = false   -- set when a collective timed out on a dead rank
 * if peer_lost then lurn.dist.exit_now(5) end
 */
static int l_exit_now(lua_State *L) {
  lua_Integer code = luaL_optinteger(L, 1, 0);
  fflush(stdout);
  fflush(stderr);
  exit((int)code);
}

static const luaL_Reg dist_funcs[] = {
    {"exit_now", l_exit_now},
    {"built", l_built},       {"launched", l_launched},   {"init", l_init},
    {"initialized", l_initialized}, {"rank", l_rank},     {"size", l_size},
    {"set_timeout", l_set_timeout}, {"set_where", l_set_where}, {"bucket", l_bucket},
    {"iallreduce", l_iallreduce}, {"allgather", l_allgather}, {"bcast", l_bcast},
    {"hash", l_hash},         {"send", l_send},           {"poll", l_poll},
    {"stats", l_stats},       {"finalize", l_finalize},   {"abort", l_abort},
    {"library", l_library},   {"sparse", l_sparse},       {NULL, NULL},
};

void lurn_open_dist(lua_State *L) {
  static const luaL_Reg sparse_methods[] = {{"offer", s_offer}, {"counts", s_counts},
      {"start", s_start}, {"test", s_test}, {"finish", s_finish}, {NULL, NULL}};
  static const luaL_Reg sparse_meta[] = {{"__gc", s_gc}, {NULL, NULL}};
  static const luaL_Reg bucket_methods[] = {
      {"start", b_start}, {"test", b_test}, {"finish", b_finish}, {"numel", b_numel}, {NULL, NULL}};
  static const luaL_Reg bucket_meta[] = {{"__gc", b_gc}, {NULL, NULL}};
  static const luaL_Reg req_methods[] = {{"wait", r_wait}, {NULL, NULL}};
  static const luaL_Reg req_meta[] = {{"__gc", r_gc}, {NULL, NULL}};
  lurn_createmeta(L, BUCKET_MT, bucket_methods, bucket_meta);
  lurn_createmeta(L, REQ_MT, req_methods, req_meta);
  lurn_createmeta(L, SPARSE_MT, sparse_methods, sparse_meta);
  lua_newtable(L);
  luaL_setfuncs(L, dist_funcs, 0);
  lua_setfield(L, -2, "dist");
}

#else /* no MPI: the facts, and a clear error for the rest */

static int no_mpi(lua_State *L) {
  return luaL_error(L, "this lurn was built without MPI (cmake -DLURN_MPI=ON with "
                       "libopenmpi-dev installed)");
}

static int l_zero(lua_State *L) {
  lua_pushinteger(L, 0);
  return 1;
}

static int l_one(lua_State *L) {
  lua_pushinteger(L, 1);
  return 1;
}

static int l_false(lua_State *L) {
  lua_pushboolean(L, 0);
  return 1;
}

static int l_exit(lua_State *L) {
  lua_Integer code = luaL_optinteger(L, 1, 1);
  fflush(stdout);
  fflush(stderr);
  exit((int)code);
}

static int l_nothing(lua_State *L) {
  (void)L;
  return 0;
}

static const luaL_Reg dist_funcs[] = {
    {"exit_now", l_exit},
    {"built", l_built},   {"launched", l_launched}, {"init", no_mpi},     {"initialized", l_false},
    {"rank", l_zero},     {"size", l_one},          {"set_timeout", no_mpi}, {"set_where", no_mpi},
    {"bucket", no_mpi},   {"iallreduce", no_mpi},   {"allgather", no_mpi}, {"bcast", no_mpi},
    {"hash", l_hash},     {"send", no_mpi},         {"poll", no_mpi},     {"stats", no_mpi},
    {"finalize", l_nothing}, {"abort", l_exit},     {"library", no_mpi}, {"sparse", no_mpi},
    {NULL, NULL},
};

void lurn_open_dist(lua_State *L) {
  lua_newtable(L);
  luaL_setfuncs(L, dist_funcs, 0);
  lua_setfield(L, -2, "dist");
}

#endif
