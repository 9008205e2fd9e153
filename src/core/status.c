/* status.c — error messages for the core (see status.h). */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

int lurn_fail(lurn_status *st, int code, const char *fmt, ...) {
  if (st) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg, sizeof st->msg, fmt, ap);
    va_end(ap);
    st->code = code;
  }
  return code;
}

char *lurn_shape_str(char *buf, int buflen, int ndim, const int64_t *size) {
  int n = snprintf(buf, (size_t)buflen, "[");
  for (int i = 0; i < ndim && n < buflen; i++)
    n += snprintf(buf + n, (size_t)(buflen - n), i ? ",%lld" : "%lld", (long long)size[i]);
  if (n < buflen) snprintf(buf + n, (size_t)(buflen - n), "]");
  return buf;
}
