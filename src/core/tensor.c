/*
 * tensor.c — tensor lifetime, queries and views (see tensor.h).
 *
 * Storage: one 64-byte aligned, zero-filled block of nelem * 4 bytes (both
 * dtypes are 4 bytes wide), rounded up to a multiple of 64 so SIMD loads of
 * the last partial vector stay inside the allocation. Refcounted, not
 * atomically: tensors are created and released from the Lua thread only;
 * OpenMP workers touch data, never refcounts.
 *
 * Views (view, narrow, select, transpose, permute, expand) build the result
 * in a local struct that retains the input's storage, and only then release
 * `out` and store the result into it — so `lurn_narrow(&x, &x, ...)` works.
 * Elementwise kernels, reductions and GEMM live in tensor_ops.c.
 */
#include "tensor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

/* ---- storage ------------------------------------------------------------- */

/* glibc serves a block of 128 KiB or more with its own mmap, returned to
 * the system on free, but after each such free it raises that threshold to
 * the block's size (up to 32 MiB): from then on a training step's big
 * tensors (13 MB each for a GRU at (64,100,512,512)) come from the heap,
 * whose holes the system never gets back, and the peak RSS of such a step
 * was 213-250 MB instead of 189 (issue 13: at most half of PyTorch's 498).
 * A fixed threshold turns the raising off: storages of 4 MiB and more are
 * mapped and unmapped, and pay their page faults again each time (about
 * 0.15 ms per MB here: 1 ms on an LSTM (64,100,128,256) inference of 40 ms,
 * under 1 % of a training step); smaller ones keep the heap's fast reuse (an
 * SST-2 step's tensors are about 1.6 MB). A process that set glibc's own
 * MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ / GLIBC_TUNABLES keeps its
 * choice. */
#ifdef __GLIBC__
static void malloc_tune(void) {
  const char *tun = getenv("GLIBC_TUNABLES");
  if (getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_") ||
      (tun && strstr(tun, "glibc.malloc.")))
    return;
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);   /* what glibc's own raising would pair with it */
}
#else
static void malloc_tune(void) {}
#endif
static pthread_once_t g_malloc_once = PTHREAD_ONCE_INIT;

/* Bytes held by live storages. The Lua binding reads it to collect garbage
 * when tensor memory grows, since Lua's collector only sees the small
 * userdata headers, not the storages behind them. */
static int64_t g_live_bytes = 0;

int64_t lurn_storage_bytes(void) { return __atomic_load_n(&g_live_bytes, __ATOMIC_RELAXED); }

/* zero: fill with zeros (lurn_tensor_new); 0 leaves the memory as it comes
 * (lurn_tensor_new_uninit: for outputs a kernel then writes in full). */
static lurn_storage *storage_new(lurn_dtype dtype, int64_t nelem, int zero) {
  pthread_once(&g_malloc_once, malloc_tune);
  lurn_storage *s = malloc(sizeof *s);
  if (!s) return NULL;
  size_t bytes = (size_t)nelem * 4;
  bytes = (bytes + 63) & ~(size_t)63;
  if (bytes == 0) bytes = 64;   /* a real pointer even for empty tensors */
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes) != 0) {
    free(s);
    return NULL;
  }
  if (zero) memset(p, 0, bytes);
  __atomic_add_fetch(&g_live_bytes, (int64_t)bytes, __ATOMIC_RELAXED);
  s->data = p;
  s->nelem = nelem;
  s->dtype = dtype;
  s->refcount = 1;
  return s;
}

static void storage_release(lurn_storage *s) {
  if (s && --s->refcount == 0) {
    size_t bytes = ((size_t)s->nelem * 4 + 63) & ~(size_t)63;
    __atomic_sub_fetch(&g_live_bytes, (int64_t)(bytes ? bytes : 64), __ATOMIC_RELAXED);
    free(s->data);
    free(s);
  }
}

/* ---- lifetime ------------------------------------------------------------ */

static void contiguous_strides(int ndim, const int64_t *size, int64_t *stride) {
  int64_t s = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    stride[d] = s;
    s *= size[d] > 0 ? size[d] : 1;
  }
}

int lurn_shape_check(int ndim, const int64_t *size, int64_t *numel, const char *name,
                     lurn_status *st) {
  char b[160];
  if (ndim < 0 || ndim > LURN_MAXDIM)
    return lurn_fail(st, LURN_EARG, "%s: %d dims requested, at most %d", name, ndim, LURN_MAXDIM);
  int64_t n = 1, span = 1;   // span: the product with zeros as 1, i.e. the outer stride
  for (int d = 0; d < ndim; d++) {
    if (size[d] < 0)
      return lurn_fail(st, LURN_EARG, "%s: negative size %lld in %s", name, (long long)size[d],
                       lurn_shape_str(b, sizeof b, ndim, size));
    int64_t s = size[d] > 0 ? size[d] : 1;
    if (span > LURN_MAX_NUMEL / s)
      return lurn_fail(st, LURN_ENOMEM, "%s: shape %s is too large (more than 2^40 elements)",
                       name, lurn_shape_str(b, sizeof b, ndim, size));
    span *= s;
    n *= size[d];   // n <= span
  }
  if (numel) *numel = n;
  return LURN_OK;
}

static int tensor_new(lurn_tensor *out, lurn_dtype dtype, int ndim, const int64_t *size, int zero,
                      lurn_status *st) {
  char b[160];
  if (ndim < 0 || ndim > LURN_MAXDIM)
    return lurn_fail(st, LURN_EARG, "tensor: %d dims requested, at most %d", ndim, LURN_MAXDIM);
  int64_t sz[LURN_MAXDIM];   /* `size` may point into `out`, which is released below */
  for (int d = 0; d < ndim; d++) sz[d] = size[d];
  size = sz;
  if (dtype != LURN_FLOAT32 && dtype != LURN_INT32)
    return lurn_fail(st, LURN_EARG, "tensor: unknown dtype %d", (int)dtype);
  int64_t n;
  int rc = lurn_shape_check(ndim, size, &n, "tensor", st);
  if (rc) return rc;
  lurn_storage *s = storage_new(dtype, n, zero);
  if (!s)
    return lurn_fail(st, LURN_ENOMEM, "tensor: out of memory allocating %s (%lld bytes)",
                     lurn_shape_str(b, sizeof b, ndim, size), (long long)n * 4);
  lurn_tensor_release(out);
  memset(out, 0, sizeof *out);
  out->storage = s;
  out->dtype = dtype;
  out->ndim = ndim;
  out->offset = 0;
  for (int d = 0; d < ndim; d++) out->size[d] = sz[d];
  contiguous_strides(ndim, sz, out->stride);
  return LURN_OK;
}

int lurn_tensor_new(lurn_tensor *out, lurn_dtype dtype, int ndim, const int64_t *size,
                    lurn_status *st) {
  return tensor_new(out, dtype, ndim, size, 1, st);
}

int lurn_tensor_new_uninit(lurn_tensor *out, lurn_dtype dtype, int ndim, const int64_t *size,
                           lurn_status *st) {
  return tensor_new(out, dtype, ndim, size, 0, st);
}

int lurn_tensor_new_like(lurn_tensor *out, const lurn_tensor *like, lurn_status *st) {
  lurn_dtype dt = like->dtype;
  int ndim = like->ndim;
  int64_t size[LURN_MAXDIM];
  /* copy first: `out` may be `like` */
  memcpy(size, like->size, sizeof size);
  return lurn_tensor_new(out, dt, ndim, size, st);
}

void lurn_tensor_share(lurn_tensor *out, const lurn_tensor *t) {
  if (out == t) return;
  lurn_tensor tmp = *t;
  if (tmp.storage) tmp.storage->refcount++;
  lurn_tensor_release(out);
  *out = tmp;
}

void lurn_tensor_release(lurn_tensor *t) {
  if (!t) return;
  storage_release(t->storage);
  t->storage = NULL;
}

/* ---- queries ------------------------------------------------------------- */

int64_t lurn_numel(const lurn_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->size[d];
  return n;
}

int lurn_is_contiguous(const lurn_tensor *t) {
  int64_t expect = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    if (t->size[d] == 0) return 1;
    if (t->size[d] == 1) continue;   /* the stride of a size-1 dim never matters */
    if (t->stride[d] != expect) return 0;
    expect *= t->size[d];
  }
  return 1;
}

const char *lurn_dtype_name(lurn_dtype d) {
  switch (d) {
    case LURN_FLOAT32: return "float32";
    case LURN_INT32: return "int32";
  }
  return "unknown";
}

char *lurn_tensor_shape_str(const lurn_tensor *t, char *buf, int buflen) {
  return lurn_shape_str(buf, buflen, t->ndim, t->size);
}

int lurn_same_shape(const lurn_tensor *a, const lurn_tensor *b) {
  if (a->ndim != b->ndim) return 0;
  for (int d = 0; d < a->ndim; d++)
    if (a->size[d] != b->size[d]) return 0;
  return 1;
}

double lurn_get(const lurn_tensor *t, const int64_t *idx) {
  int64_t i = lurn_index(t, idx);
  if (t->dtype == LURN_INT32) return (double)((int32_t *)t->storage->data)[i];
  return (double)((float *)t->storage->data)[i];
}

/* double -> int32 truncating toward zero; NaN gives 0 and out-of-range values
 * saturate, instead of the undefined behaviour of a plain cast. */
static int32_t to_i32(double v) {
  if (v != v) return 0;
  if (v >= 2147483647.0) return INT32_MAX;
  if (v <= -2147483648.0) return INT32_MIN;
  return (int32_t)v;
}

void lurn_set(lurn_tensor *t, const int64_t *idx, double v) {
  int64_t i = lurn_index(t, idx);
  if (t->dtype == LURN_INT32) ((int32_t *)t->storage->data)[i] = to_i32(v);
  else ((float *)t->storage->data)[i] = (float)v;
}

/* ---- views --------------------------------------------------------------- */

#define CHECK_LIVE(t, name)                                                        \
  do {                                                                             \
    if (!(t)->storage)                                                             \
      return lurn_fail(st, LURN_EARG, "%s: tensor has been released", (name));     \
  } while (0)

/* Retain t's storage into a local copy of its metadata. */
static lurn_tensor retained(const lurn_tensor *t) {
  lurn_tensor v = *t;
  v.storage->refcount++;
  return v;
}

static void set_out(lurn_tensor *out, lurn_tensor *v) {
  lurn_tensor_release(out);
  *out = *v;
}

/* Strides for viewing (oldsize, oldstride) as newsize without moving data, or
 * 0 if impossible. This is PyTorch's computeStride: walk the old dims from the
 * innermost, grouping runs that are contiguous with each other ("chunks"); each
 * chunk must be split exactly by a run of new dims. */
static int view_strides(int on, const int64_t *osize, const int64_t *ostride, int nn,
                        const int64_t *nsize, int64_t *nstride) {
  int64_t numel = 1;
  for (int d = 0; d < on; d++) numel *= osize[d];
  if (numel == 0 || on == 0) {
    contiguous_strides(nn, nsize, nstride);
    return 1;
  }
  int view_d = nn - 1;
  int64_t chunk_base = ostride[on - 1];
  int64_t tensor_numel = 1, view_numel = 1;
  for (int td = on - 1; td >= 0; td--) {
    tensor_numel *= osize[td];
    if (td == 0 || (osize[td - 1] != 1 && ostride[td - 1] != tensor_numel * chunk_base)) {
      while (view_d >= 0 && (view_numel < tensor_numel || nsize[view_d] == 1)) {
        nstride[view_d] = view_numel * chunk_base;
        view_numel *= nsize[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return 0;
      if (td > 0) {
        chunk_base = ostride[td - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

/* Resolve a -1 in `size` against t's element count into `res`. */
static int infer_size(const lurn_tensor *t, int ndim, const int64_t *size, int64_t *res,
                      const char *name, lurn_status *st) {
  char b1[160], b2[160];
  if (ndim < 0 || ndim > LURN_MAXDIM)
    return lurn_fail(st, LURN_EARG, "%s: %d dims requested, at most %d", name, ndim,
                     LURN_MAXDIM);
  int64_t numel = lurn_numel(t), known = 1;
  int infer = -1;
  for (int d = 0; d < ndim; d++) {
    res[d] = size[d];
    if (size[d] == -1) {
      if (infer >= 0)
        return lurn_fail(st, LURN_EARG, "%s: only one dim can be -1 in %s", name,
                         lurn_shape_str(b1, sizeof b1, ndim, size));
      infer = d;
    } else if (size[d] < 0) {
      return lurn_fail(st, LURN_EARG, "%s: negative size %lld in %s", name,
                       (long long)size[d], lurn_shape_str(b1, sizeof b1, ndim, size));
    } else {
      if (size[d] > 0 && known > LURN_MAX_NUMEL / size[d]) known = -1;
      if (known >= 0) known *= size[d];
    }
  }
  if (infer >= 0) {
    if (known > 0 && numel % known == 0) res[infer] = numel / known;
    else known = -1;
  }
  if (known < 0 || (infer < 0 && known != numel))
    return lurn_fail(st, LURN_ESHAPE, "%s: shape %s is invalid for input %s of %lld elements",
                     name, lurn_shape_str(b1, sizeof b1, ndim, size),
                     lurn_tensor_shape_str(t, b2, sizeof b2), (long long)numel);
  /* an empty input views as any empty shape, but not one whose strides overflow */
  return lurn_shape_check(ndim, res, NULL, name, st);
}

static int view_impl(lurn_tensor *out, const lurn_tensor *t, int ndim, const int64_t *size,
                     int allow_copy, lurn_status *st) {
  const char *name = allow_copy ? "reshape" : "view";
  char b1[160], b2[160];
  CHECK_LIVE(t, name);
  int64_t res[LURN_MAXDIM], nstride[LURN_MAXDIM];
  int rc = infer_size(t, ndim, size, res, name, st);
  if (rc) return rc;
  if (view_strides(t->ndim, t->size, t->stride, ndim, res, nstride)) {
    lurn_tensor v = retained(t);
    v.ndim = ndim;
    for (int d = 0; d < ndim; d++) {
      v.size[d] = res[d];
      v.stride[d] = nstride[d];
    }
    set_out(out, &v);
    return LURN_OK;
  }
  if (!allow_copy)
    return lurn_fail(st, LURN_ESHAPE, "view: cannot view %s (non-contiguous) as %s; use reshape",
                     lurn_tensor_shape_str(t, b1, sizeof b1),
                     lurn_shape_str(b2, sizeof b2, ndim, res));
  lurn_tensor c = {0};
  rc = lurn_clone(&c, t, t->dtype, st);
  if (rc) return rc;
  c.ndim = ndim;
  for (int d = 0; d < ndim; d++) c.size[d] = res[d];
  contiguous_strides(ndim, res, c.stride);
  set_out(out, &c);
  return LURN_OK;
}

int lurn_view(lurn_tensor *out, const lurn_tensor *t, int ndim, const int64_t *size,
              lurn_status *st) {
  return view_impl(out, t, ndim, size, 0, st);
}

int lurn_reshape(lurn_tensor *out, const lurn_tensor *t, int ndim, const int64_t *size,
                 lurn_status *st) {
  return view_impl(out, t, ndim, size, 1, st);
}

static int check_dim(const lurn_tensor *t, int dim, const char *name, lurn_status *st) {
  char b[160];
  if (dim < 0 || dim >= t->ndim)
    return lurn_fail(st, LURN_EARG, "%s: dim %d out of range for %s", name, dim,
                     lurn_tensor_shape_str(t, b, sizeof b));
  return LURN_OK;
}

int lurn_narrow(lurn_tensor *out, const lurn_tensor *t, int dim, int64_t start, int64_t length,
                lurn_status *st) {
  char b[160];
  CHECK_LIVE(t, "narrow");
  int rc = check_dim(t, dim, "narrow", st);
  if (rc) return rc;
  if (start < 0 || length < 0 || start > t->size[dim] || length > t->size[dim] - start)
    return lurn_fail(st, LURN_EARG, "narrow: dim %d range [%lld,%lld) out of bounds for size %lld in %s",
                     dim, (long long)start, (long long)(start + length), (long long)t->size[dim],
                     lurn_tensor_shape_str(t, b, sizeof b));
  lurn_tensor v = retained(t);
  v.offset += start * t->stride[dim];
  v.size[dim] = length;
  set_out(out, &v);
  return LURN_OK;
}

int lurn_select(lurn_tensor *out, const lurn_tensor *t, int dim, int64_t index,
                lurn_status *st) {
  char b[160];
  CHECK_LIVE(t, "select");
  int rc = check_dim(t, dim, "select", st);
  if (rc) return rc;
  if (index < 0 || index >= t->size[dim])
    return lurn_fail(st, LURN_EARG, "select: index %lld out of range for dim %d of size %lld in %s",
                     (long long)index, dim, (long long)t->size[dim],
                     lurn_tensor_shape_str(t, b, sizeof b));
  lurn_tensor v = retained(t);
  v.offset += index * t->stride[dim];
  for (int d = dim; d < t->ndim - 1; d++) {
    v.size[d] = t->size[d + 1];
    v.stride[d] = t->stride[d + 1];
  }
  v.ndim = t->ndim - 1;
  set_out(out, &v);
  return LURN_OK;
}

int lurn_transpose(lurn_tensor *out, const lurn_tensor *t, int d0, int d1, lurn_status *st) {
  CHECK_LIVE(t, "transpose");
  int rc = check_dim(t, d0, "transpose", st);
  if (!rc) rc = check_dim(t, d1, "transpose", st);
  if (rc) return rc;
  lurn_tensor v = retained(t);
  v.size[d0] = t->size[d1];
  v.stride[d0] = t->stride[d1];
  v.size[d1] = t->size[d0];
  v.stride[d1] = t->stride[d0];
  set_out(out, &v);
  return LURN_OK;
}

int lurn_permute(lurn_tensor *out, const lurn_tensor *t, const int *perm, lurn_status *st) {
  char b[160], p[160];
  CHECK_LIVE(t, "permute");
  int seen[LURN_MAXDIM] = {0}, ok = 1;
  for (int d = 0; d < t->ndim; d++) {
    if (perm[d] < 0 || perm[d] >= t->ndim || seen[perm[d]]) ok = 0;
    else seen[perm[d]] = 1;
  }
  if (!ok) {
    int n = snprintf(p, sizeof p, "[");
    for (int d = 0; d < t->ndim && n < (int)sizeof p; d++)
      n += snprintf(p + n, sizeof p - (size_t)n, d ? ",%d" : "%d", perm[d]);
    if (n < (int)sizeof p) snprintf(p + n, sizeof p - (size_t)n, "]");
    return lurn_fail(st, LURN_EARG, "permute: %s is not a permutation of the %d dims of %s", p,
                     t->ndim, lurn_tensor_shape_str(t, b, sizeof b));
  }
  lurn_tensor v = retained(t);
  for (int d = 0; d < t->ndim; d++) {
    v.size[d] = t->size[perm[d]];
    v.stride[d] = t->stride[perm[d]];
  }
  set_out(out, &v);
  return LURN_OK;
}

int lurn_expand(lurn_tensor *out, const lurn_tensor *t, int ndim, const int64_t *size,
                lurn_status *st) {
  char b1[160], b2[160];
  CHECK_LIVE(t, "expand");
  if (ndim < t->ndim || ndim > LURN_MAXDIM)
    return lurn_fail(st, LURN_ESHAPE, "expand: cannot expand %s to %s",
                     lurn_tensor_shape_str(t, b1, sizeof b1),
                     lurn_shape_str(b2, sizeof b2, ndim < 0 ? 0 : ndim > LURN_MAXDIM ? LURN_MAXDIM : ndim, size));
  int lead = ndim - t->ndim;
  int64_t nsize[LURN_MAXDIM], nstride[LURN_MAXDIM];
  for (int d = 0; d < ndim; d++) {
    int td = d - lead;
    int64_t want = size[d];
    if (td < 0) {   /* a new leading dim */
      if (want < 0) goto bad;
      nsize[d] = want;
      nstride[d] = 0;
    } else if (want == -1 || want == t->size[td]) {
      nsize[d] = t->size[td];
      nstride[d] = t->stride[td];
    } else if (t->size[td] == 1 && want >= 0) {
      nsize[d] = want;
      nstride[d] = 0;
    } else {
      goto bad;
    }
  }
  int rc = lurn_shape_check(ndim, nsize, NULL, "expand", st);
  if (rc) return rc;
  lurn_tensor v = retained(t);
  v.ndim = ndim;
  for (int d = 0; d < ndim; d++) {
    v.size[d] = nsize[d];
    v.stride[d] = nstride[d];
  }
  set_out(out, &v);
  return LURN_OK;
bad:
  return lurn_fail(st, LURN_ESHAPE, "expand: cannot expand %s to %s",
                   lurn_tensor_shape_str(t, b1, sizeof b1), lurn_shape_str(b2, sizeof b2, ndim, size));
}

int lurn_contiguous(lurn_tensor *out, const lurn_tensor *t, lurn_status *st) {
  CHECK_LIVE(t, "contiguous");
  if (lurn_is_contiguous(t)) {
    lurn_tensor v = retained(t);
    set_out(out, &v);
    return LURN_OK;
  }
  return lurn_clone(out, t, t->dtype, st);
}

/* ---- creation ------------------------------------------------------------ */

int lurn_clone(lurn_tensor *out, const lurn_tensor *t, lurn_dtype dtype, lurn_status *st) {
  CHECK_LIVE(t, "clone");
  lurn_tensor c = {0};
  int rc = lurn_tensor_new(&c, dtype, t->ndim, t->size, st);
  if (rc) return rc;
  rc = lurn_copy(&c, t, st);
  if (rc) {
    lurn_tensor_release(&c);
    return rc;
  }
  set_out(out, &c);
  return LURN_OK;
}

int lurn_arange(lurn_tensor *out, lurn_dtype dtype, double start, double step, int64_t count,
                lurn_status *st) {
  if (count < 0)
    return lurn_fail(st, LURN_EARG, "arange: negative count %lld", (long long)count);
  if (!(start == start) || !(step == step) || start - start != 0 || step - step != 0)
    return lurn_fail(st, LURN_EVALUE, "arange: start %g and step %g must be finite", start, step);
  lurn_tensor c = {0};
  int rc = lurn_tensor_new(&c, dtype, 1, &count, st);
  if (rc) return rc;
  if (dtype == LURN_INT32) {
    int32_t *p = lurn_i32(&c);   // [count]
    for (int64_t i = 0; i < count; i++) p[i] = to_i32(start + (double)i * step);
  } else {
    float *p = lurn_f32(&c);     // [count]
    for (int64_t i = 0; i < count; i++) p[i] = (float)(start + (double)i * step);
  }
  set_out(out, &c);
  return LURN_OK;
}

int lurn_eye(lurn_tensor *out, int64_t n, int64_t m, lurn_status *st) {
  if (n < 0 || m < 0)
    return lurn_fail(st, LURN_EARG, "eye: negative size [%lld,%lld]", (long long)n, (long long)m);
  int64_t size[2] = {n, m};
  lurn_tensor c = {0};
  int rc = lurn_tensor_new(&c, LURN_FLOAT32, 2, size, st);
  if (rc) return rc;
  float *p = lurn_f32(&c);   // [n, m]
  for (int64_t i = 0; i < n && i < m; i++) p[i * m + i] = 1.0f;
  set_out(out, &c);
  return LURN_OK;
}
