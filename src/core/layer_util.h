/*
 * layer_util.h — private helpers shared by layers.c and loss.c: argument
 * checks that produce the "layer: what [shape] ..." messages, positions of
 * bad ids/targets, and lengths validation. Not part of the public API.
 */
#ifndef LURN_LAYER_UTIL_H
#define LURN_LAYER_UTIL_H

#include <stdint.h>

#include "status.h"
#include "tensor.h"

/* Shape of a tensor as "[d0,d1,...]" into a local char array. */
#define LURN_SHP(t, buf) lurn_tensor_shape_str((t), (buf), (int)sizeof(buf))

/* `t` must be a live tensor of dtype `dt`; `what` names it ("input", "weight"). */
static inline int lurn__check(const char *op, const char *what, const lurn_tensor *t,
                              lurn_dtype dt, lurn_status *st) {
  if (!t || !t->storage)
    return lurn_fail(st, LURN_EARG, "%s: %s is missing (empty tensor)", op, what);
  if (t->dtype != dt)
    return lurn_fail(st, LURN_ESHAPE, "%s: %s must be %s, got %s", op, what,
                     lurn_dtype_name(dt), lurn_dtype_name(t->dtype));
  return LURN_OK;
}

/* The multi-index of row-major element `flat` of a `size` shape, as "[i,j]",
 * 1-based: messages reach Lua, where positions count from 1 (README). */
static inline char *lurn__pos_str(char *buf, int len, int ndim, const int64_t *size,
                                  int64_t flat) {
  int64_t idx[LURN_MAXDIM];
  for (int d = ndim - 1; d >= 0; d--) {
    idx[d] = (size[d] > 0 ? flat % size[d] : 0) + 1;
    flat = size[d] > 0 ? flat / size[d] : 0;
  }
  return lurn_shape_str(buf, len, ndim, idx);
}

/* Length of sample b (T when lengths is NULL); lengths already checked. */
static inline int64_t lurn__len(const lurn_tensor *lengths, int64_t b, int64_t T) {
  return lengths ? (int64_t)lurn_i32(lengths)[b * lengths->stride[0]] : T;
}

/* lengths: NULL, or int32 [B] with every value in [0, T]. `x` (the tensor
 * the lengths belong to, called `what`) only appears in the message. */
static inline int lurn__check_lengths(const char *op, const lurn_tensor *lengths, int64_t T,
                                      int64_t B, const char *what, const lurn_tensor *x,
                                      lurn_status *st) {
  char sl[96], sx[96];
  int rc;
  if (!lengths) return LURN_OK;
  if ((rc = lurn__check(op, "lengths", lengths, LURN_INT32, st))) return rc;
  if (lengths->ndim != 1 || lengths->size[0] != B)
    return lurn_fail(st, LURN_ESHAPE, "%s: lengths %s do not match %s %s (expected [%lld])",
                     op, LURN_SHP(lengths, sl), what, LURN_SHP(x, sx), (long long)B);
  for (int64_t b = 0; b < B; b++) {
    int64_t n = lurn__len(lengths, b, T);
    if (n < 0 || n > T)
      return lurn_fail(st, LURN_EARG, "%s: length %lld at position [%lld] is outside [0, %lld]"
                       " (%s %s)", op, (long long)n, (long long)b + 1, (long long)T,
                       what, LURN_SHP(x, sx));
  }
  return LURN_OK;
}

#endif
