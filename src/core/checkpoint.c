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
/* cJSON spends ~80 bytes on every value, so a header of 100 MB of "0,"
 * would become a 4 GB tree: at most 2^22 values (keys included) bound it
 * near 0.5 GB, room for some 250,000 tensor entries. */
#define MAX_HEADER_VALUES ((int64_t)1 << 22)
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

/* Does every product of the sizes fit, zeros aside? A shape with a zero
 * holds no bytes, yet its strides are products of the other sizes. */
static int shape_fits(lurn_ck_dtype d, int ndim, const int64_t *shape) {
  int64_t n = lurn_ck_dtype_size(d);
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return 0;
    if (shape[i] == 0) continue;
    if (n > MAX_EXACT / shape[i]) return 0;
    n *= shape[i];
  }
  return 1;
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

static size_t utf8_seq(const unsigned char *s, size_t n);

int lurn_utf8_valid(const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;  // [n]
  for (size_t i = 0; i < n;) {
    size_t k = utf8_seq(s + i, n - i);
    if (!k) return 0;
    i += k;
  }
  return 1;
}

/* A header that is not valid UTF-8 would be refused by the loader (and by
 * other safetensors readers): never write one. */
static int utf8_valid(const char *s) { return lurn_utf8_valid(s, strlen(s)); }

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
    if (!utf8_valid(nm))
      return lurn_fail(st, LURN_EARG, "save_checkpoint: tensor name %d is not valid UTF-8", i + 1);
    if ((int)t[i].dtype < LURN_CK_F32 || (int)t[i].dtype > LURN_CK_U8)
      return lurn_fail(st, LURN_EARG, "save_checkpoint: tensor '%s' has an unknown dtype", nm);
    if (t[i].ndim < 0 || t[i].ndim > LURN_MAXDIM)
      return lurn_fail(st, LURN_EARG, "save_checkpoint: tensor '%s' has %d dims (max %d)", nm,
                       t[i].ndim, LURN_MAXDIM);
    int64_t nb = tensor_bytes(t[i].dtype, t[i].ndim, t[i].shape);
    if (nb < 0 || !shape_fits(t[i].dtype, t[i].ndim, t[i].shape)) {
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
    if (!utf8_valid(meta[i].key))
      return lurn_fail(st, LURN_EARG, "save_checkpoint: metadata key %d is not valid UTF-8", i + 1);
    if (!utf8_valid(meta[i].value))
      return lurn_fail(st, LURN_EARG, "save_checkpoint: metadata '%s' is not valid UTF-8",
                       meta[i].key);
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

/* Write the pieces to "<path>.tmp.<pid>", fsync, rename over path, fsync the
 * directory. On failure the temporary file is removed and the old file at
 * path is untouched. The directory fsync makes the rename durable before a
 * caller goes on (train.fit deletes an older checkpoint only after the new
 * one and the pointer to it are on disk). */
static int write_atomic(const char *path, const void *const *bufs, const size_t *lens, int nbufs,
                        lurn_status *st) {
  size_t tmplen = strlen(path) + 32;
  char *tmp = malloc(tmplen);
  if (!tmp) return lurn_fail(st, LURN_ENOMEM, "%s: out of memory", path);
  snprintf(tmp, tmplen, "%s.tmp.%ld", path, (long)getpid());

  const char *what = "create";
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
  int err = 0;
  if (fd < 0) {
    err = errno;
  } else {
    what = "write";
    int bad = 0;
    for (int i = 0; !bad && i < nbufs; i++) bad = write_all(fd, bufs[i], lens[i]);
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
  int rc = LURN_OK;
  if (err) {
    rc = lurn_fail(st, LURN_EIO, "%s: cannot %s %s (%s); the previous file is unchanged", path,
                   what, strcmp(what, "rename") == 0 ? "the temporary file over it" : tmp,
                   strerror(err));
  }
  free(tmp);
  return rc;
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

  // The pieces of the file, in order: length field, header, each tensor.
  unsigned char lenbuf[8];
  for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  const void **bufs = malloc(sizeof *bufs * (size_t)(ntensors + 2));
  size_t *lens = malloc(sizeof *lens * (size_t)(ntensors + 2));
  if (!bufs || !lens) {
    free(bufs), free(lens), free(hdr);
    return lurn_fail(st, LURN_ENOMEM, "save_checkpoint: out of memory");
  }
  bufs[0] = lenbuf, lens[0] = 8;
  bufs[1] = hdr, lens[1] = (size_t)hlen;
  for (int i = 0; i < ntensors; i++) {
    bufs[i + 2] = tensors[i].data;
    lens[i + 2] = (size_t)tensor_bytes(tensors[i].dtype, tensors[i].ndim, tensors[i].shape);
  }
  rc = write_atomic(path, bufs, lens, ntensors + 2, st);
  free(bufs), free(lens), free(hdr);
  return rc;
}

int lurn_file_write_atomic(const char *path, const void *buf, size_t n, lurn_status *st) {
  if (!path || !*path) return lurn_fail(st, LURN_EARG, "write_file_atomic: empty path");
  const void *bufs[1] = {buf};
  size_t lens[1] = {n};
  return write_atomic(path, bufs, lens, 1, st);
}

/* ========================================================================= */
/*  Loading                                                                   */
/* ========================================================================= */
/*
 * The loader treats the file as hostile, in the manner of Lua's lundump.c:
 * one small function per part of the layout, each checking what it reads
 * before the next one trusts it. The promises (docs/security.md):
 *   - time: every pass is linear in the file or n log n in its entries
 *     (duplicate keys are found by sorting, never pairwise);
 *   - memory: the header (<= 100 MB) is scanned before cJSON parses it:
 *     at most 3 levels deep, 8 values per array and 2^22 values in all, so
 *     the parsed tree stays near 0.5 GB at worst; the data section is one
 *     allocation the size of the file's remainder;
 *   - no blocking: the file is opened O_NONBLOCK and must be a regular file
 *     (a FIFO or a device is refused before a byte is read).
 */

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

/* ---- a pre-scan of JSON text ------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if it is invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  unsigned min;
  if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000;
  else return 0;
  if (n < len) return 0;
  unsigned cp = c & (0x3f >> (len - 1));
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

int lurn_json_scan(const char *text, size_t n, int max_depth, int64_t max_array,
                   int64_t max_values, lurn_json_problem *pb) {
  const unsigned char *s = (const unsigned char *)text;  // [n]
  // Per open bracket: is it an array, and how many values it has so far.
  enum { STACK = 256 };
  char is_arr[STACK];
  int64_t count[STACK];
  int depth = 0, expect = 0;  // expect: a value may start here (after '[' or ',')
  int64_t values = 0;         // strings (keys too), numbers, literals, containers
  if (max_depth > STACK) max_depth = STACK;
#define SCAN_FAIL(at, msg) do { pb->pos = (at); pb->what = (msg); return -1; } while (0)
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      i++;
      continue;
    }
    if (expect && c != ']' && ++count[depth - 1] > max_array)
      SCAN_FAIL(i, "an array with too many values");
    expect = 0;
    // The first byte of a token: count it (a number or literal counts once,
    // at its first character: the previous byte is not part of it).
    if (c == '"' || c == '{' || c == '[' ||
        ((c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') &&
         (i == 0 || strchr(" \n\t\r,:[{", s[i - 1])))) {
      if (++values > max_values) SCAN_FAIL(i, "too many values");
    }
    if (c == '"') {
      // A string: valid UTF-8, no raw control characters, no \u0000 (C
      // strings would cut the name or value there).
      size_t j = i + 1;
      for (;;) {
        if (j >= n) SCAN_FAIL(i, "unterminated string");
        unsigned d = s[j];
        if (d == '"') break;
        if (d < 0x20) SCAN_FAIL(j, "control character in a string");
        if (d == '\\') {
          if (j + 1 >= n) SCAN_FAIL(j, "unterminated string");
          if (s[j + 1] == 'u') {
            if (j + 6 > n) SCAN_FAIL(j, "short \\u escape");
            if (memcmp(s + j + 2, "0000", 4) == 0)
              SCAN_FAIL(j, "NUL character (\\u0000) in a string");
            j += 6;
          } else {
            j += 2;
          }
          continue;
        }
        size_t k = utf8_seq(s + j, n - j);
        if (!k) SCAN_FAIL(j, "invalid UTF-8");
        j += k;
      }
      i = j + 1;
      continue;
    }
    if (c >= 0x80) SCAN_FAIL(i, "invalid character");  // outside strings JSON is ASCII
    if (c == '{' || c == '[') {
      if (depth >= max_depth) SCAN_FAIL(i, "nested too deeply");
      is_arr[depth] = c == '[';
      count[depth] = 0;
      depth++;
      expect = c == '[';
    } else if (c == '}' || c == ']') {
      if (depth > 0) depth--;
    } else if (c == ',') {
      expect = depth > 0 && is_arr[depth - 1];
    }
    i++;
  }
#undef SCAN_FAIL
  return 0;
}

/* ---- duplicate keys, n log n --------------------------------------------------- */

static int cmp_item_name(const void *a, const void *b) {
  return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* The first key that occurs twice in an object (sorting the children's names,
 * never comparing them pairwise: 100,000 entries take milliseconds), or
 * NULL. *oom is set when the scratch array cannot be had. */
static const char *duplicate_key(const cJSON *obj, int *oom) {
  size_t n = 0;
  for (const cJSON *c = obj->child; c; c = c->next) n++;
  *oom = 0;
  if (n < 2) return NULL;
  const cJSON **v = malloc(n * sizeof *v);
  if (!v) {
    *oom = 1;
    return NULL;
  }
  size_t k = 0;
  for (const cJSON *c = obj->child; c; c = c->next) v[k++] = c;
  qsort(v, n, sizeof *v, cmp_item_name);
  const char *dup = NULL;
  for (size_t i = 1; i < n && !dup; i++)
    if (strcmp(v[i - 1]->string, v[i]->string) == 0) dup = v[i]->string;
  free(v);
  return dup;
}

/* ---- the sections of the file ------------------------------------------------------ */

/* What the loader has learned so far; each step fills its part. */
typedef struct {
  const char *path;
  int fd;
  int64_t fsize;
  char *hdr;           /* [hlen + 1] the raw header */
  int64_t hlen;
  cJSON *root;
  const cJSON *md;     /* __metadata__ or NULL */
  int plain;           /* no lurn entries at all: a plain safetensors file */
  int64_t data_bytes;
  uint64_t data_sum;
} loader;

/* The file is a regular file; the length field; the header bytes. */
static int read_header(loader *ld, lurn_status *st) {
  const char *path = ld->path;
  struct stat sb;
  if (fstat(ld->fd, &sb) != 0)
    return lurn_fail(st, LURN_EIO, "%s: cannot stat (%s)", path, strerror(errno));
  if (!S_ISREG(sb.st_mode))
    return lurn_fail(st, LURN_EIO, "%s: not a regular file (a %s)", path,
                     S_ISFIFO(sb.st_mode) ? "FIFO" : S_ISDIR(sb.st_mode) ? "directory"
                     : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ? "device" : S_ISSOCK(sb.st_mode)
                     ? "socket" : "special file");
  ld->fsize = (int64_t)sb.st_size;
  if (ld->fsize < 8)
    return lurn_fail(st, LURN_EFORMAT, "%s: truncated (file has %" PRId64 " bytes, less than the "
                     "8-byte header length)", path, ld->fsize);
  unsigned char lb[8];
  if (read_exact(ld->fd, lb, 8) != 0)
    return lurn_fail(st, LURN_EIO, "%s: cannot read (%s)", path, strerror(errno));
  uint64_t n64 = 0;
  for (int i = 7; i >= 0; i--) n64 = n64 << 8 | lb[i];
  if (n64 < 2 || n64 > (uint64_t)MAX_HEADER_BYTES)
    return lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (header length %" PRIu64
                     " is implausible)", path, n64);
  ld->hlen = (int64_t)n64;
  if (ld->hlen > ld->fsize - 8)
    return lurn_fail(st, LURN_EFORMAT, "%s: truncated (header says %" PRId64 " bytes, file has %"
                     PRId64 " after the length field)", path, ld->hlen, ld->fsize - 8);
  ld->hdr = malloc((size_t)ld->hlen + 1);
  if (!ld->hdr)
    return lurn_fail(st, LURN_ENOMEM, "%s: out of memory for a %" PRId64 "-byte header", path,
                     ld->hlen);
  if (read_exact(ld->fd, ld->hdr, (size_t)ld->hlen) != 0)
    return lurn_fail(st, LURN_EIO, "%s: cannot read the header (%s)", path, strerror(errno));
  ld->hdr[ld->hlen] = 0;
  return LURN_OK;
}

static int is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

/* The header is one JSON object of the safetensors shape, with unique keys. */
static int parse_header(loader *ld, lurn_status *st) {
  const char *path = ld->path, *hdr = ld->hdr;
  const int64_t hlen = ld->hlen;
  int64_t first = 0;
  while (first < hlen && is_space(hdr[first])) first++;
  if (first == hlen || hdr[first] != '{')
    return lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (the header is not a JSON "
                     "object)", path);
  // Before cJSON: the text is UTF-8, holds no NUL, and has the safetensors
  // nesting ({name: {dtype, shape: [...], data_offsets: [...]}}): at most 3
  // levels, 8 values per array and MAX_HEADER_VALUES values in all, which
  // bounds the parsed tree's size.
  lurn_json_problem pb = {0, NULL};
  if (lurn_json_scan(hdr, (size_t)hlen, 3, LURN_MAXDIM, MAX_HEADER_VALUES, &pb) != 0)
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header at byte %zu: %s", path, pb.pos + 1,
                     pb.what);
  const char *endp = NULL;
  ld->root = cJSON_ParseWithLengthOpts(hdr, (size_t)hlen, &endp, 0);
  if (!ld->root)
    return lurn_fail(st, LURN_EFORMAT, "%s: bad JSON in header at byte %" PRId64, path,
                     endp ? (int64_t)(endp - hdr) : (int64_t)0);
  for (const char *p = endp; p < hdr + hlen; p++)
    if (!is_space(*p))
      return lurn_fail(st, LURN_EFORMAT, "%s: bad JSON in header at byte %" PRId64
                       " (text after the object)", path, (int64_t)(p - hdr));
  if (!cJSON_IsObject(ld->root))
    return lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (the header is not a JSON "
                     "object)", path);
  // A JSON object with a key twice is ambiguous (cJSON would hand out the
  // first, other readers the last): refused at every level.
  int oom = 0;
  const char *dup = duplicate_key(ld->root, &oom);
  if (dup && strcmp(dup, "__metadata__") == 0)
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header: more than one __metadata__", path);
  if (dup)
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header: duplicate tensor name '%s'", path, dup);
  for (const cJSON *e = ld->root->child; e && !oom; e = e->next) {
    if (!cJSON_IsObject(e)) continue;
    if ((dup = duplicate_key(e, &oom)))
      return lurn_fail(st, LURN_EFORMAT, "%s: bad header: duplicate key '%s' in %s%s%s", path, dup,
                       strcmp(e->string, "__metadata__") ? "tensor '" : "", e->string,
                       strcmp(e->string, "__metadata__") ? "'" : "");
  }
  if (oom) return lurn_fail(st, LURN_ENOMEM, "%s: out of memory", path);
  return LURN_OK;
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

/* Is this a lurn checkpoint? Not decided by one key: a file whose
 * lurn.format key is damaged must not pass as a plain safetensors file and
 * skip the checksums. Any "lurn."-prefixed metadata key, or any value
 * "lurn-checkpoint", makes it one; then every lurn entry must be there. */
static int has_lurn_marks(const cJSON *md) {
  for (const cJSON *m = md ? md->child : NULL; m; m = m->next) {
    if (strncmp(m->string, "lurn.", 5) == 0) return 1;
    if (cJSON_IsString(m) && strcmp(m->valuestring, LURN_CHECKPOINT_FORMAT) == 0) return 1;
  }
  return 0;
}

/* __metadata__: strings only; format, version, header checksum, data size
 * and checksum (a lurn checkpoint) or nothing of lurn's (a plain file). */
static int check_metadata(loader *ld, int flags, lurn_checkpoint *ck, lurn_status *st) {
  const char *path = ld->path;
  const cJSON *md = cJSON_GetObjectItemCaseSensitive(ld->root, "__metadata__");
  if (md && !cJSON_IsObject(md))
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header: __metadata__ is not an object", path);
  for (const cJSON *m = md ? md->child : NULL; m; m = m->next)
    if (!cJSON_IsString(m))
      return lurn_fail(st, LURN_EFORMAT, "%s: bad header: __metadata__ entry '%s' is not a string",
                       path, m->string);
  ld->md = md;
  const cJSON *fmt = md ? cJSON_GetObjectItemCaseSensitive(md, "lurn.format") : NULL;
  ld->plain = !has_lurn_marks(md);
  if (ld->plain && !(flags & LURN_CK_ALLOW_PLAIN))
    return lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (no lurn.format in __metadata__; "
                     "a plain safetensors file can be read with the 'safetensors' option)", path);
  if (ld->plain) return LURN_OK;
  if (!fmt)
    return lurn_fail(st, LURN_EFORMAT, "%s: damaged lurn checkpoint (lurn.format is missing from "
                     "__metadata__, which has other lurn entries)", path);
  if (strcmp(fmt->valuestring, LURN_CHECKPOINT_FORMAT) != 0)
    return lurn_fail(st, LURN_EFORMAT, "%s: not a lurn checkpoint (lurn.format is '%.40s')", path,
                     fmt->valuestring);
  const cJSON *ver = cJSON_GetObjectItemCaseSensitive(md, "lurn.version");
  int64_t v = 0;
  if (!ver || !str_uint(ver->valuestring, &v))
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header: lurn.version is missing or not a number",
                     path);
  // Before the checksums: a later version may checksum differently.
  if (v != LURN_CHECKPOINT_VERSION)
    return lurn_fail(st, LURN_EFORMAT, "%s: unsupported format version %" PRId64
                     " (this lurn reads version %d)", path, v, LURN_CHECKPOINT_VERSION);
  ck->version = (int)v;
  const cJSON *hs = cJSON_GetObjectItemCaseSensitive(md, "lurn.header_checksum");
  uint64_t want = 0;
  char *digits = hs && parse_sum(hs->valuestring, &want)
                     ? find_checksum_digits(ld->hdr, ld->hlen, hs->valuestring) : NULL;
  if (!digits)
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header: lurn.header_checksum is missing or "
                     "malformed", path);
  // The parsed tree holds its own copies of the strings, so the raw header
  // can be edited for the checksum.
  memset(digits, '0', CK_HEXLEN);
  if (lurn_fnv1a64(ld->hdr, (size_t)ld->hlen, LURN_FNV1A64_INIT) != want)
    return lurn_fail(st, LURN_EFORMAT, "%s: checksum mismatch in header", path);
  const cJSON *db = cJSON_GetObjectItemCaseSensitive(md, "lurn.data_bytes");
  const cJSON *ds = cJSON_GetObjectItemCaseSensitive(md, "lurn.data_checksum");
  if (!db || !str_uint(db->valuestring, &ld->data_bytes) || !ds ||
      !parse_sum(ds->valuestring, &ld->data_sum))
    return lurn_fail(st, LURN_EFORMAT, "%s: bad header: lurn.data_bytes or lurn.data_checksum is "
                     "missing or malformed", path);
  return LURN_OK;
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
  // Every size product must fit, zeros or not: [0, 2^52, 2^52] holds no
  // bytes, but its strides (2^104 elements) overflow any tensor's.
  if (!shape_fits(t->dtype, nd, t->shape)) {
    char shs[160];
    return lurn_fail(st, LURN_EFORMAT, "%s: tensor '%s' has shape %s, too large (more than 2^53 "
                     "bytes)", path, nm, lurn_shape_str(shs, sizeof shs, nd, t->shape));
  }
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

/* Every tensor entry, then the tiling of the data section by their ranges. */
static int check_entries(loader *ld, lurn_checkpoint *ck, span **spans_out, lurn_status *st) {
  const char *path = ld->path;
  int nt = 0, nmeta = 0;
  for (const cJSON *e = ld->root->child; e; e = e->next)
    if (strcmp(e->string, "__metadata__") != 0) nt++;
  for (const cJSON *m = ld->md ? ld->md->child : NULL; m; m = m->next)
    if (strncmp(m->string, "lurn.", 5) != 0) nmeta++;
  ck->tensors = calloc((size_t)nt + 1, sizeof *ck->tensors);
  ck->meta = calloc((size_t)nmeta + 1, sizeof *ck->meta);
  span *spans = *spans_out = calloc((size_t)nt + 1, sizeof *spans);
  if (!ck->tensors || !ck->meta || !spans)
    return lurn_fail(st, LURN_ENOMEM, "%s: out of memory", path);
  ck->nmeta = nmeta;
  int k = 0, rc;
  int64_t max_end = 0;  // a plain safetensors file's data section ends with its last tensor
  for (const cJSON *e = ld->root->child; e; e = e->next) {
    if (strcmp(e->string, "__metadata__") == 0) continue;
    if ((rc = parse_entry(path, e, &ck->tensors[k], &spans[k].begin, &spans[k].end, st)))
      return rc;
    spans[k].name = e->string;
    spans[k].idx = k;
    if (spans[k].end > max_end) max_end = spans[k].end;
    k++;
  }
  ck->ntensors = nt;
  if (ld->plain) ld->data_bytes = max_end;
  for (int i = 0; i < nt; i++)
    if (spans[i].end > ld->data_bytes)
      return lurn_fail(st, LURN_EFORMAT, "%s: tensor '%s' has data_offsets [%" PRId64 ", %" PRId64
                       "] out of range (the data section is %" PRId64 " bytes)", path,
                       spans[i].name, spans[i].begin, spans[i].end, ld->data_bytes);
  // Every byte of the data section belongs to exactly one tensor: sorted by
  // begin, each tensor starts where the previous one ended (safetensors
  // demands the same, so a file lurn accepts is one the package accepts).
  qsort(spans, (size_t)nt, sizeof *spans, cmp_span);
  int64_t pos = 0;
  for (int i = 0; i <= nt; i++) {
    int64_t b = i < nt ? spans[i].begin : ld->data_bytes;
    if (b < pos)
      return lurn_fail(st, LURN_EFORMAT, "%s: tensors '%s' [%" PRId64 ", %" PRId64 "] and '%s' [%"
                       PRId64 ", %" PRId64 "] overlap", path, spans[i - 1].name,
                       spans[i - 1].begin, spans[i - 1].end, spans[i].name, spans[i].begin,
                       spans[i].end);
    if (b > pos)
      return lurn_fail(st, LURN_EFORMAT, "%s: bad header: data section bytes [%" PRId64 ", %"
                       PRId64 ") belong to no tensor", path, pos, b);
    if (i < nt) pos = spans[i].end;
  }
  return LURN_OK;
}

/* The data section: exactly data_bytes long, with the right checksum. */
static int read_data(loader *ld, lurn_checkpoint *ck, lurn_status *st) {
  const char *path = ld->path;
  const int64_t have = ld->fsize - 8 - ld->hlen, want = ld->data_bytes;
  if (have < want)
    return lurn_fail(st, LURN_EFORMAT, "%s: truncated (header says data section is %" PRId64
                     " bytes, file has %" PRId64 ")", path, want, have);
  if (have > want)
    return lurn_fail(st, LURN_EFORMAT, "%s: %" PRId64 " unexpected bytes after the data section",
                     path, have - want);
  ck->data = malloc(want > 0 ? (size_t)want : 1);
  if (!ck->data)
    return lurn_fail(st, LURN_ENOMEM, "%s: out of memory for %" PRId64 " bytes of data", path, want);
  if (read_exact(ld->fd, ck->data, (size_t)want) != 0)
    return lurn_fail(st, LURN_EIO, "%s: cannot read the data section (%s)", path, strerror(errno));
  if (!ld->plain && lurn_fnv1a64(ck->data, (size_t)want, LURN_FNV1A64_INIT) != ld->data_sum)
    return lurn_fail(st, LURN_EFORMAT, "%s: checksum mismatch in data section", path);
  ck->data_bytes = want;
  return LURN_OK;
}

/* Tensors in data order (the order lurn wrote them in), user metadata, and
 * the parsed tree handed to ck (the names point into it). */
static int hand_out(loader *ld, lurn_checkpoint *ck, const span *spans, lurn_status *st) {
  int nt = ck->ntensors;
  lurn_ck_tensor *sorted = calloc((size_t)nt + 1, sizeof *sorted);
  if (!sorted) return lurn_fail(st, LURN_ENOMEM, "%s: out of memory", ld->path);
  for (int i = 0; i < nt; i++) {
    sorted[i] = ck->tensors[spans[i].idx];
    sorted[i].data = (const char *)ck->data + spans[i].begin;
  }
  free(ck->tensors);
  ck->tensors = sorted;
  int k = 0;
  for (const cJSON *m = ld->md ? ld->md->child : NULL; m; m = m->next)
    if (strncmp(m->string, "lurn.", 5) != 0) {
      ck->meta[k].key = m->string;
      ck->meta[k].value = m->valuestring;
      k++;
    }
  ck->strings_ = ld->root;
  ld->root = NULL;
  return LURN_OK;
}

int lurn_checkpoint_load(const char *path, int flags, lurn_checkpoint *ck, lurn_status *st) {
  if (!ck) return lurn_fail(st, LURN_EARG, "load_checkpoint: no output");
  memset(ck, 0, sizeof *ck);
  if (!path || !*path) return lurn_fail(st, LURN_EARG, "load_checkpoint: empty path");
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
  // writer forever; read_header then refuses anything but a regular file
  // (for which O_NONBLOCK changes nothing).
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return lurn_fail(st, LURN_EIO, "%s: cannot open (%s)", path, strerror(errno));
  loader ld = {.path = path, .fd = fd, .data_bytes = -1};
  span *spans = NULL;
  int rc = read_header(&ld, st);
  if (!rc) rc = parse_header(&ld, st);
  if (!rc) rc = check_metadata(&ld, flags, ck, st);
  if (!rc) rc = check_entries(&ld, ck, &spans, st);
  if (!rc) rc = read_data(&ld, ck, st);
  if (!rc) rc = hand_out(&ld, ck, spans, st);
  free(spans);
  free(ld.hdr);
  cJSON_Delete(ld.root);
  close(fd);
  if (rc) lurn_checkpoint_free(ck);
  return rc;
}
