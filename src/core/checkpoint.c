/*
 * checkpoint.c — write and read lurn checkpoints (see checkpoint.h for the
 * layout and docs/checkpoint-format.md for every field).
 *
 * The header is built and parsed with cJSON, never by hand. The loader
 * treats the file as hostile: every number it reads is range-checked before
 * it is used as a size or an offset, and the checks run in the order of the
 * layout, so the first problem found is the one reported.
 */
#define _POSIX_C_SOURCE 200809L
#include "checkpoint.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "lurn checkpoints store raw little-endian data; add byte swapping for this host"
#endif

/* safetensors refuses headers over 100 MB; so do we (it also bounds what a
 * corrupt length field can make us allocate). */
#define MAX_HEADER_BYTES (100LL * 1000 * 1000)
/* Sizes and offsets travel as JSON numbers (doubles): keep them exact. */
#define MAX_EXACT ((int64_t)1 << 53)

#define CK_PLACEHOLDER "fnv1a64:0000000000000000"
#define CK_PREFIX "fnv1a64:"
#define CK_HEXLEN 16

uint64_t lurn_fnv1a64(const void *data, size_t n, uint64_t h) {
  const unsigned char *p = data;  // [n]
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  return h;
}

const char *lurn_ck_dtype_name(lurn_ck_dtype d) {
  switch (d) {
    case LURN_CK_F32: return "F32";
    case LURN_CK_I32: return "I32";
    case LURN_CK_U8: return "U8";
  }
  return "?";
}

int lurn_ck_dtype_size(lurn_ck_dtype d) { return d == LURN_CK_U8 ? 1 : 4; }

static int dtype_from_name(const char *s, lurn_ck_dtype *d) {
  for (int i = LURN_CK_F32; i <= LURN_CK_U8; i++)
    if (strcmp(s, lurn_ck_dtype_name((lurn_ck_dtype)i)) == 0) {
      *d = (lurn_ck_dtype)i;
      return 1;
    }
  return 0;
}

/* Bytes of a tensor, or -1 if the shape is invalid or too large. */
static int64_t tensor_bytes(lurn_ck_dtype d, int ndim, const int64_t *shape) {
  int64_t n = lurn_ck_dtype_size(d);
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return -1;
    if (shape[i] != 0 && n > MAX_EXACT / shape[i]) return -1;
    n *= shape[i];
  }
  return n;
}

/* ========================================================================= */
/*  Saving                                                                    */
/* ========================================================================= */

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;  // [n]
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Arguments first, before anything is allocated or opened. */
static int check_save_args(const char *path, const lurn_ck_tensor *t, int nt,
                           const lurn_ck_meta *meta, int nmeta, lurn_status *st) {
  if (!path || !*path) return lurn_fail(st, LURN_EARG, "save_checkpoint: empty path");
  if (nt < 0 || nmeta < 0 || (nt > 0 && !t) || (nmeta > 0 && !meta))
    return lurn_fail(st, LURN_EARG, "save_checkpoint: bad tensor or metadata list");
  for (int i = 0; i < nt; i++) {
    const char *nm = t[i].name;
    if (!nm || !*nm) return lurn_fail(st, LURN_EARG, "save_checkpoint: tensor %d has no name", i + 1);
    if (strcmp(nm, "__metadata__") == 0)
      return lurn_fail(st, LURN_EARG, "save_checkpoint: '__metadata__' cannot name a tensor");
    if ((int)t[i].dtype < LURN_CK_F32 || (int)t[i].dtype > LURN_CK_U8)
      return lurn_fail(st, LURN_EARG, "save_checkpoint: tensor '%s' has an unknown dtype", nm);
    if (t[i].ndim < 0 || t[i].ndim > LURN_MAXDIM)
      return lurn_fail(st, LURN_EARG, "save_checkpoint: tensor '%s' has %d dims (max %d)", nm,
                       t[i].ndim, LURN_MAXDIM);
    int64_t nb = tensor_bytes(t[i].dtype, t[i].ndim, t[i].shape);
    if (nb < 0) {
      char sh[128];
      return lurn_fail(st, LURN_EARG, "save_checkpoint: tensor '%s' has an invalid shape %s", nm,
                       lurn_shape_str(sh, sizeof sh, t[i].ndim, t[i].shape));
    }
    if (nb > 0 && !t[i].data)
      return lurn_fail(st, LURN_EARG, "save_checkpoint: tensor '%s' has no data", nm);
  }
  for (int i = 0; i < nmeta; i++) {
    if (!meta[i].key || !meta[i].value)
      return lurn_fail(st, LURN_EARG, "save_checkpoint: metadata entry %d lacks a key or value",
                       i + 1);
    if (strncmp(meta[i].key, "lurn.", 5) == 0)
      return lurn_fail(st, LURN_EARG, "save_checkpoint: metadata key '%s' is reserved (\"lurn.\" "
                       "keys belong to the format)", meta[i].key);
  }
  // Duplicate names would make the JSON object ambiguous: sort copies of the
  // name pointers and compare neighbours.
  int nmax = nt > nmeta ? nt : nmeta;
  if (nmax > 1) {
    const char **names = malloc((size_t)nmax * sizeof *names);
    if (!names) return lurn_fail(st, LURN_ENOMEM, "save_checkpoint: out of memory");
    for (int pass = 0; pass < 2; pass++) {
      int n = pass ? nmeta : nt;
      for (int i = 0; i < n; i++) names[i] = pass ? meta[i].key : t[i].name;
      qsort(names, (size_t)n, sizeof *names, cmp_str_ptr);
      for (int i = 1; i < n; i++)
        if (strcmp(names[i - 1], names[i]) == 0) {
          int rc = lurn_fail(st, LURN_EARG, "save_checkpoint: duplicate %s '%s'",
                             pass ? "metadata key" : "tensor name", names[i]);
          free(names);
          return rc;
        }
    }
    free(names);
  }
  return LURN_OK;
}

static void put_hex(char *dst, uint64_t h) {
  static const char hex[] = "0123456789abcdef";
  for (int i = CK_HEXLEN - 1; i >= 0; i--, h >>= 4) dst[i] = hex[h & 15];
}

/* The header text, padded, with its checksum filled in; *len receives N. */
static char *build_header(const lurn_ck_tensor *t, int nt, const lurn_ck_meta *meta, int nmeta,
                          int64_t data_bytes, uint64_t data_sum, int64_t *len, lurn_status *st) {
  char buf[64];
  cJSON *root = cJSON_CreateObject(), *md = cJSON_CreateObject();
  int ok = root && md && cJSON_AddItemToObject(root, "__metadata__", md);
  if (!ok) cJSON_Delete(md);
  // lurn.header_checksum goes first so that the loader's search for its
  // value can never hit a copy of it elsewhere (see find_checksum_digits).
  ok = ok && cJSON_AddStringToObject(md, "lurn.header_checksum", CK_PLACEHOLDER);
  ok = ok && cJSON_AddStringToObject(md, "lurn.format", LURN_CHECKPOINT_FORMAT);
  snprintf(buf, sizeof buf, "%d", LURN_CHECKPOINT_VERSION);
  ok = ok && cJSON_AddStringToObject(md, "lurn.version", buf);
  snprintf(buf, sizeof buf, "%" PRId64, data_bytes);
  ok = ok && cJSON_AddStringToObject(md, "lurn.data_bytes", buf);
  memcpy(buf, CK_PREFIX, sizeof CK_PREFIX - 1);
  put_hex(buf + sizeof CK_PREFIX - 1, data_sum);
  buf[sizeof CK_PREFIX - 1 + CK_HEXLEN] = 0;
  ok = ok && cJSON_AddStringToObject(md, "lurn.data_checksum", buf);
  for (int i = 0; ok && i < nmeta; i++) ok = cJSON_AddStringToObject(md, meta[i].key, meta[i].value) != NULL;

  int64_t off = 0;
  for (int i = 0; ok && i < nt; i++) {
    cJSON *e = cJSON_AddObjectToObject(root, t[i].name), *shape = NULL;
    ok = e && cJSON_AddStringToObject(e, "dtype", lurn_ck_dtype_name(t[i].dtype)) &&
         (shape = cJSON_AddArrayToObject(e, "shape"));
    for (int d = 0; ok && d < t[i].ndim; d++)
      ok = cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].shape[d]));
    int64_t nb = tensor_bytes(t[i].dtype, t[i].ndim, t[i].shape);
    cJSON *offs = ok ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
    ok = offs && cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off)) &&
         cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + nb)));
    off += nb;
  }
  char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  if (!text) {
    lurn_fail(st, LURN_ENOMEM, "save_checkpoint: out of memory building the header");
    return NULL;
  }
  // Pad with spaces so the data section starts 8-byte aligned (as the
  // safetensors writer does), then checksum the padded bytes with the
  // placeholder digits still zero, then write the digits in.
  size_t tl = strlen(text), n = (tl + 7) / 8 * 8;
  char *hdr = malloc(n + 1);
  if (!hdr) {
    cJSON_free(text);
    lurn_fail(st, LURN_ENOMEM, "save_checkpoint: out of memory building the header");
    return NULL;
  }
  memcpy(hdr, text, tl);
  memset(hdr + tl, ' ', n - tl);
  hdr[n] = 0;
  cJSON_free(text);
  char *digits = strstr(hdr, "\"" CK_PLACEHOLDER "\"") + 1 + sizeof CK_PREFIX - 1;
  put_hex(digits, lurn_fnv1a64(hdr, n, LURN_FNV1A64_INIT));
  *len = (int64_t)n;
  return hdr;
}

int lurn_checkpoint_save(const char *path, const lurn_ck_tensor *tensors, int ntensors,
                         const lurn_ck_meta *meta, int nmeta, lurn_status *st) {
  int rc = check_save_args(path, tensors, ntensors, meta, nmeta, st);
  if (rc) return rc;

  int64_t data_bytes = 0;
  uint64_t data_sum = LURN_FNV1A64_INIT;
  for (int i = 0; i < ntensors; i++) {
    int64_t nb = tensor_bytes(tensors[i].dtype, tensors[i].ndim, tensors[i].shape);
    if (nb > MAX_EXACT - data_bytes)
      return lurn_fail(st, LURN_EARG, "save_checkpoint: tensors too large for one file");
    data_sum = lurn_fnv1a64(tensors[i].data, (size_t)nb, data_sum);
    data_bytes += nb;
  }
  int64_t hlen = 0;
  char *hdr = build_header(tensors, ntensors, meta, nmeta, data_bytes, data_sum, &hlen, st);
  if (!hdr) return st ? st->code : LURN_ENOMEM;

  size_t tmplen = strlen(path) + 32;
  char *tmp = malloc(tmplen);
  if (!tmp) {
    free(hdr);
    return lurn_fail(st, LURN_ENOMEM, "save_checkpoint: out of memory");
  }
  snprintf(tmp, tmplen, "%s.tmp.%ld", path, (long)getpid());

  const char *what = "create";
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    what = "write";
    int bad = write_all(fd, lenbuf, 8) || write_all(fd, hdr, (size_t)hlen);
    for (int i = 0; !bad && i < ntensors; i++) {
      int64_t nb = tensor_bytes(tensors[i].dtype, tensors[i].ndim, tensors[i].shape);
      bad = write_all(fd, tensors[i].data, (size_t)nb);
    }
    // fsync before rename: otherwise a crash soon after the rename can leave
    // the new name pointing at a file whose data never reached the disk.
    if (!bad) what = "fsync", bad = fsync(fd) != 0;
    if (bad) err = errno;
    if (close(fd) != 0 && !bad) what = "close", bad = 1, err = errno;
    if (!bad) what = "rename", bad = rename(tmp, path) != 0, err = bad ? errno : 0;
    if (bad) unlink(tmp);
  }
  if (!err) {
    // Make the rename itself durable (best effort: not every file system
    // lets a directory be fsynced).
    char *dir = strdup(path);
    if (dir) {
      char *slash = strrchr(dir, '/');
      const char *d = ".";
      if (slash == dir) d = "/";
      else if (slash) *slash = 0, d = dir;
      int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
      }
      free(dir);
    }
  }
  free(hdr);
  if (err) {
    rc = lurn_fail(st, LURN_EIO, "%s: cannot %s %s (%s); the previous file is unchanged", path,
                   what, strcmp(what, "rename") == 0 ? "the temporary file over it" : tmp,
                   strerror(err));
  }
  free(tmp);
  return rc;
}

/* ========================================================================= */
/*  Loading                                                                   */
/* ========================================================================= */

void lurn_checkpoint_free(lurn_checkpoint *ck) {
  if (!ck) return;
  free(ck->tensors);
  free(ck->meta);
  free(ck->data);
  cJSON_Delete((cJSON *)ck->strings_);
  memset(ck, 0, sizeof *ck);
}

static int read_exact(int fd, void *buf, size_t n) {
  char *p = buf;  // [n]
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/* A JSON number that is a non-negative integer below 2^53. */
static int json_uint(const cJSON *v, int64_t *out) {
  if (!cJSON_IsNumber(v)) return 0;
  double d = v->valuedouble;
  if (!(d >= 0) || d >= (double)MAX_EXACT || d != floor(d)) return 0;
  *out = (int64_t)d;
  return 1;
}

/* A decimal string "0".."2^53": lurn's own numeric metadata entries. */
static int str_uint(const char *s, int64_t *out) {
  if (!s || !*s || strlen(s) > 16) return 0;
  int64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    v = v * 10 + (*p - '0');
  }
  if (v > MAX_EXACT) return 0;
  *out = v;
  return 1;
}

/* "fnv1a64:" + 16 lowercase hex digits. */
static int parse_sum(const char *s, uint64_t *out) {
  if (!s || strncmp(s, CK_PREFIX, sizeof CK_PREFIX - 1) != 0) return 0;
  s += sizeof CK_PREFIX - 1;
  if (strlen(s) != CK_HEXLEN) return 0;
  uint64_t h = 0;
  for (int i = 0; i < CK_HEXLEN; i++) {
    int c = s[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return 0;
    h = h << 4 | (uint64_t)d;
  }
  *out = h;
  return 1;
}

/* Where the digits of the stored header checksum sit in the raw header: the
 * first occurrence of the quoted value. The writer puts that entry first, so
 * for a lurn-written file this is the right place; a crafted file with an
 * earlier copy only makes the check fail, never pass. */
static char *find_checksum_digits(char *hdr, int64_t n, const char *value) {
  char pat[64];
  int pl = snprintf(pat, sizeof pat, "\"%s\"", value);
  for (int64_t i = 0; i + pl <= n; i++)
    if (hdr[i] == '"' && memcmp(hdr + i, pat, (size_t)pl) == 0)
      return hdr + i + 1 + sizeof CK_PREFIX - 1;
  return NULL;
}

typedef struct {
  const char *name;
  int64_t begin, end;
  int idx;           /* entry number in header order */
} span;

static int cmp_span(const void *a, const void *b) {
  const span *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* Check one tensor entry; fill t (data holds the begin offset for now). */
static int parse_entry(const char *path, const cJSON *e, lurn_ck_tensor *t, int64_t *begin,
                       int64_t *end, lurn_status *st) {
  const char *nm = e->string;
  if (!cJSON_IsObject(e))
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header: entry '%s' is not an object", path, nm);
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
  const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  if (!cJSON_IsString(dt))
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header: tensor '%s' has no dtype", path, nm);
  if (!dtype_from_name(dt->valuestring, &t->dtype))
    return lurn_fail(st, LURN_EFORMAT,
                     "%s: tensor '%s' has unsupported dtype '%.20s' (lurn reads F32, I32, U8)",
                     path, nm, dt->valuestring);
  if (!cJSON_IsArray(sh))
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header: tensor '%s' has no shape array", path, nm);
  int nd = cJSON_GetArraySize(sh);
  if (nd > LURN_MAXDIM)
    return lurn_fail(st, LURN_EFORMAT, "%s: tensor '%s' has %d dims (lurn supports %d)", path, nm,
                     nd, LURN_MAXDIM);
  t->ndim = nd;
  for (int d = 0; d < nd; d++)
    if (!json_uint(cJSON_GetArrayItem(sh, d), &t->shape[d]))
      return lurn_fail(st, LURN_EFORMAT,
                       "%s: bad header: tensor '%s' shape entry %d is not a non-negative integer",
                       path, nm, d + 1);
  if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 ||
      !json_uint(cJSON_GetArrayItem(of, 0), begin) || !json_uint(cJSON_GetArrayItem(of, 1), end))
    return lurn_fail(st, LURN_EFORMAT,
                     "%s: bad header: tensor '%s' data_offsets is not [begin, end] with integers",
                     path, nm);
  if (*begin > *end)
    return lurn_fail(st, LURN_EFORMAT, "%s: tensor '%s' has data_offsets [%" PRId64 ", %" PRId64
                     "] with begin after end", path, nm, *begin, *end);
  int64_t nb = tensor_bytes(t->dtype, nd, t->shape);
  if (nb < 0 || nb != *end - *begin) {
    char shs[128];
    return lurn_fail(st, LURN_EFORMAT,
                     "%s: tensor '%s': data_offsets [%" PRId64 ", %" PRId64 "] hold %" PRId64
                     " bytes but %s %s needs %" PRId64, path, nm, *begin, *end, *end - *begin,
                     dt->valuestring, lurn_shape_str(shs, sizeof shs, nd, t->shape), nb);
  }
  t->name = nm;
  t->nbytes = nb;
  return LURN_OK;
}

static int load(const char *path, int flags, int fd, lurn_checkpoint *ck, lurn_status *st) {
  struct stat sb;
  if (fstat(fd, &sb) != 0)
    return lurn_fail(st, LURN_EIO, "%s: cannot stat (%s)", path, strerror(errno));
  if (!S_ISREG(sb.st_mode))
    return lurn_fail(st, LURN_EIO, "%s: not a regular file", path);
  const int64_t fsize = (int64_t)sb.st_size;
  if (fsize < 8)
    return lurn_fail(st, LURN_EFORMAT, "%s: truncated (file has %" PRId64 " bytes, less than the "
                     "8-byte header length)", path, fsize);

  unsigned char lb[8];
  if (read_exact(fd, lb, 8) != 0)
    return lurn_fail(st, LURN_EIO, "%s: cannot read (%s)", path, strerror(errno));
  uint64_t n64 = 0;
  for (int i = 7; i >= 0; i--) n64 = n64 << 8 | lb[i];
  if (n64 < 2 || n64 > (uint64_t)MAX_HEADER_BYTES)
    return lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (header length %" PRIu64
                     " is implausible)", path, n64);
  const int64_t hlen = (int64_t)n64;
  if (hlen > fsize - 8)
    return lurn_fail(st, LURN_EFORMAT, "%s: truncated (header says %" PRId64 " bytes, file has %"
                     PRId64 " after the length field)", path, hlen, fsize - 8);

  char *hdr = malloc((size_t)hlen + 1);
  if (!hdr) return lurn_fail(st, LURN_ENOMEM, "%s: out of memory for a %" PRId64 "-byte header",
                             path, hlen);
  if (read_exact(fd, hdr, (size_t)hlen) != 0) {
    free(hdr);
    return lurn_fail(st, LURN_EIO, "%s: cannot read the header (%s)", path, strerror(errno));
  }
  hdr[hlen] = 0;
  int rc = LURN_OK;
  cJSON *root = NULL;
  span *spans = NULL;

  // -- the JSON itself --------------------------------------------------------
  int64_t first = 0;
  while (first < hlen && (hdr[first] == ' ' || hdr[first] == '\n' || hdr[first] == '\t' ||
                          hdr[first] == '\r'))
    first++;
  if (first == hlen || hdr[first] != '{') {
    rc = lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (the header is not a JSON object)",
                   path);
    goto done;
  }
  const char *endp = NULL;
  root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &endp, 0);
  if (!root) {
    rc = lurn_fail(st, LURN_EFORMAT, "%s: bad JSON in header at byte %" PRId64, path,
                   endp ? (int64_t)(endp - hdr) : (int64_t)0);
    goto done;
  }
  for (const char *p = endp; p < hdr + hlen; p++)
    if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: bad JSON in header at byte %" PRId64
                     " (text after the object)", path, (int64_t)(p - hdr));
      goto done;
    }
  if (!cJSON_IsObject(root)) {
    rc = lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (the header is not a JSON object)",
                   path);
    goto done;
  }

  // -- __metadata__: format, version, header checksum --------------------------
  const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
  if (md && !cJSON_IsObject(md)) {
    rc = lurn_fail(st, LURN_EFORMAT, "%s: bad header: __metadata__ is not an object", path);
    goto done;
  }
  int nmeta = 0;
  for (const cJSON *m = md ? md->child : NULL; m; m = m->next) {
    if (!cJSON_IsString(m)) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: bad header: __metadata__ entry '%s' is not a string",
                     path, m->string);
      goto done;
    }
    if (strncmp(m->string, "lurn.", 5) != 0) nmeta++;
  }
  const cJSON *fmt = md ? cJSON_GetObjectItemCaseSensitive(md, "lurn.format") : NULL;
  const int plain = !fmt;
  int64_t data_bytes = -1;
  uint64_t data_sum = 0;
  if (plain && !(flags & LURN_CK_ALLOW_PLAIN)) {
    rc = lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (no lurn.format in __metadata__; "
                   "a plain safetensors file can be read with the 'safetensors' option)", path);
    goto done;
  }
  if (!plain) {
    if (strcmp(fmt->valuestring, LURN_CHECKPOINT_FORMAT) != 0) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (lurn.format is '%.40s')", path,
                     fmt->valuestring);
      goto done;
    }
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(md, "lurn.version");
    int64_t v = 0;
    if (!ver || !str_uint(ver->valuestring, &v)) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: bad header: lurn.version is missing or not a number",
                     path);
      goto done;
    }
    if (v != LURN_CHECKPOINT_VERSION) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: unsupported format version %" PRId64
                     " (this lurn reads version %d)", path, v, LURN_CHECKPOINT_VERSION);
      goto done;
    }
    ck->version = (int)v;
    const cJSON *hs = cJSON_GetObjectItemCaseSensitive(md, "lurn.header_checksum");
    uint64_t want = 0;
    char *digits = hs && parse_sum(hs->valuestring, &want)
                       ? find_checksum_digits(hdr, hlen, hs->valuestring) : NULL;
    if (!digits) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: bad header: lurn.header_checksum is missing or "
                     "malformed", path);
      goto done;
    }
    // The parsed tree holds its own copies of the strings, so the raw header
    // can be edited for the checksum.
    memset(digits, '0', CK_HEXLEN);
    if (lurn_fnv1a64(hdr, (size_t)hlen, LURN_FNV1A64_INIT) != want) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: checksum mismatch in header", path);
      goto done;
    }
    const cJSON *db = cJSON_GetObjectItemCaseSensitive(md, "lurn.data_bytes");
    const cJSON *ds = cJSON_GetObjectItemCaseSensitive(md, "lurn.data_checksum");
    if (!db || !str_uint(db->valuestring, &data_bytes) || !ds ||
        !parse_sum(ds->valuestring, &data_sum)) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: bad header: lurn.data_bytes or lurn.data_checksum is "
                     "missing or malformed", path);
      goto done;
    }
  }

  // -- tensor entries ----------------------------------------------------------
  int nt = 0;
  for (const cJSON *e = root->child; e; e = e->next)
    if (strcmp(e->string, "__metadata__") != 0) nt++;
  ck->tensors = calloc((size_t)nt + 1, sizeof *ck->tensors);
  ck->meta = calloc((size_t)nmeta + 1, sizeof *ck->meta);
  spans = calloc((size_t)nt + 1, sizeof *spans);
  if (!ck->tensors || !ck->meta || !spans) {
    rc = lurn_fail(st, LURN_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  int k = 0;
  int64_t max_end = 0;  // a plain safetensors file's data section ends with its last tensor
  for (const cJSON *e = root->child; e; e = e->next) {
    if (strcmp(e->string, "__metadata__") == 0) continue;
    for (int j = 0; j < k; j++)
      if (strcmp(ck->tensors[j].name, e->string) == 0) {
        rc = lurn_fail(st, LURN_EFORMAT, "%s: bad header: duplicate tensor name '%s'", path,
                       e->string);
        goto done;
      }
    if ((rc = parse_entry(path, e, &ck->tensors[k], &spans[k].begin, &spans[k].end, st))) goto done;
    spans[k].name = e->string;
    spans[k].idx = k;
    if (spans[k].end > max_end) max_end = spans[k].end;
    k++;
  }
  if (plain) data_bytes = max_end;
  for (int i = 0; i < nt; i++)
    if (spans[i].end > data_bytes) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: tensor '%s' has data_offsets [%" PRId64 ", %" PRId64
                     "] out of range (the data section is %" PRId64 " bytes)", path,
                     spans[i].name, spans[i].begin, spans[i].end, data_bytes);
      goto done;
    }
  // Every byte of the data section belongs to exactly one tensor: sorted by
  // begin, each tensor starts where the previous one ended (safetensors
  // demands the same, so a file lurn accepts is one the package accepts).
  qsort(spans, (size_t)nt, sizeof *spans, cmp_span);
  int64_t pos = 0;
  for (int i = 0; i <= nt; i++) {
    int64_t b = i < nt ? spans[i].begin : data_bytes;
    if (b < pos) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: tensors '%s' [%" PRId64 ", %" PRId64 "] and '%s' [%"
                     PRId64 ", %" PRId64 "] overlap", path, spans[i - 1].name, spans[i - 1].begin,
                     spans[i - 1].end, spans[i].name, spans[i].begin, spans[i].end);
      goto done;
    }
    if (b > pos) {
      rc = lurn_fail(st, LURN_EFORMAT, "%s: bad header: data section bytes [%" PRId64 ", %" PRId64
                     ") belong to no tensor", path, pos, b);
      goto done;
    }
    if (i < nt) pos = spans[i].end;
  }

  // -- the data section ----------------------------------------------------------
  const int64_t have = fsize - 8 - hlen;
  if (have < data_bytes) {
    rc = lurn_fail(st, LURN_EFORMAT, "%s: truncated (header says data section is %" PRId64
                   " bytes, file has %" PRId64 ")", path, data_bytes, have);
    goto done;
  }
  if (have > data_bytes) {
    rc = lurn_fail(st, LURN_EFORMAT, "%s: %" PRId64 " unexpected bytes after the data section",
                   path, have - data_bytes);
    goto done;
  }
  ck->data = malloc(data_bytes > 0 ? (size_t)data_bytes : 1);
  if (!ck->data) {
    rc = lurn_fail(st, LURN_ENOMEM, "%s: out of memory for %" PRId64 " bytes of data", path,
                   data_bytes);
    goto done;
  }
  if (read_exact(fd, ck->data, (size_t)data_bytes) != 0) {
    rc = lurn_fail(st, LURN_EIO, "%s: cannot read the data section (%s)", path, strerror(errno));
    goto done;
  }
  if (!plain && lurn_fnv1a64(ck->data, (size_t)data_bytes, LURN_FNV1A64_INIT) != data_sum) {
    rc = lurn_fail(st, LURN_EFORMAT, "%s: checksum mismatch in data section", path);
    goto done;
  }

  // -- hand out the results ------------------------------------------------------
  // Tensors come out in data order (the order lurn wrote them in).
  lurn_ck_tensor *sorted = calloc((size_t)nt + 1, sizeof *sorted);
  if (!sorted) {
    rc = lurn_fail(st, LURN_ENOMEM, "%s: out of memory", path);
    goto done;
  }
  for (int i = 0; i < nt; i++) {
    sorted[i] = ck->tensors[spans[i].idx];
    sorted[i].data = (const char *)ck->data + spans[i].begin;
  }
  free(ck->tensors);
  ck->tensors = sorted;
  ck->ntensors = nt;
  k = 0;
  for (const cJSON *m = md ? md->child : NULL; m; m = m->next)
    if (strncmp(m->string, "lurn.", 5) != 0) {
      ck->meta[k].key = m->string;
      ck->meta[k].value = m->valuestring;
      k++;
    }
  ck->nmeta = nmeta;
  ck->data_bytes = data_bytes;
  ck->strings_ = root;
  root = NULL;

done:
  free(spans);
  free(hdr);
  cJSON_Delete(root);
  return rc;
}

int lurn_checkpoint_load(const char *path, int flags, lurn_checkpoint *ck, lurn_status *st) {
  if (!ck) return lurn_fail(st, LURN_EARG, "load_checkpoint: no output");
  memset(ck, 0, sizeof *ck);
  if (!path || !*path) return lurn_fail(st, LURN_EARG, "load_checkpoint: empty path");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return lurn_fail(st, LURN_EIO, "%s: cannot open (%s)", path, strerror(errno));
  int rc = load(path, flags, fd, ck, st);
  close(fd);
  if (rc) lurn_checkpoint_free(ck);
  return rc;
}
