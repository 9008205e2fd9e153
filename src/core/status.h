/*
 * status.h — how the core reports failure.
 *
 * The core never prints, asserts or exits on bad input. Every function that
 * can fail takes a `lurn_status *` as its last argument, checks its arguments
 * before allocating anything, and on failure fills the status with a message
 * that names the operation and the shapes involved, e.g.
 *
 *     "mm: cannot multiply [3,4] by [5,6]"
 *
 * and returns the same non-zero code. The Lua bindings turn that message into
 * a Lua error after releasing whatever they allocated. A NULL status is
 * allowed: the code is still returned, the message is dropped.
 */
#ifndef LURN_STATUS_H
#define LURN_STATUS_H

#include <stdint.h>

enum {
  LURN_OK = 0,
  LURN_EARG,      /* a bad argument: wrong value, unknown option */
  LURN_ESHAPE,    /* shapes or dtypes that do not fit together */
  LURN_ENOMEM,    /* an allocation failed */
  LURN_EIO,       /* a file could not be read or written */
  LURN_EFORMAT,   /* a file or record is malformed or corrupt */
  LURN_EVALUE     /* a numeric problem: NaN/Inf where finite values are required */
};

typedef struct lurn_status {
  int code;
  char msg[512];
} lurn_status;

/* Fill `st` (if not NULL) with a printf-style message; return `code`. */
int lurn_fail(lurn_status *st, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Write "[d0,d1,...]" into buf (always NUL-terminated); returns buf.
 * Used to put shapes into error messages. */
char *lurn_shape_str(char *buf, int buflen, int ndim, const int64_t *size);

#endif
