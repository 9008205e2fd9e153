/*
 * checkpoint.h — lurn's checkpoint file: the safetensors layout plus checksums.
 *
 *   [8 bytes]  N, the header length, unsigned little-endian
 *   [N bytes]  JSON header, space-padded so that 8 + N is a multiple of 8:
 *              {"__metadata__": {"lurn.header_checksum": "fnv1a64:<16 hex>",
 *                                "lurn.format": "lurn-checkpoint",
 *                                "lurn.version": "1",
 *                                "lurn.data_bytes": "<D>",
 *                                "lurn.data_checksum": "fnv1a64:<16 hex>",
 *                                <user key>: <user string>, ...},
 *               "<name>": {"dtype": "F32"|"I32"|"U8", "shape": [d0, ...],
 *                          "data_offsets": [begin, end]}, ...}
 *   [D bytes]  the data section: every tensor's elements, row-major,
 *              little-endian, packed back to back with no gaps.
 *
 * Any safetensors reader (the Python package, or twenty lines of numpy) reads
 * it; docs/checkpoint-format.md describes every field. The checksums are
 * 64-bit FNV-1a: of the data section, and of the N header bytes with the 16
 * hex digits of lurn.header_checksum replaced by ASCII '0'.
 *
 * Saving writes "<path>.tmp.<pid>", fsyncs it and renames it over <path>, so
 * a crash or a failure never leaves a half-written file at <path>: the old
 * file stays as it was and the temporary file is removed.
 *
 * Loading validates everything before trusting any of it (file type, sizes,
 * UTF-8, nesting, unique keys, JSON, every entry, offsets, checksums,
 * version) and fails with a message that starts with the path and says what
 * is wrong. Nothing in the file is ever executed. Time is linear in the file
 * (n log n in its entries); memory is the data section (one allocation) plus
 * the parsed header (at most 2^22 values, near 0.5 GB). A FIFO or device is
 * refused without blocking. docs/security.md states these promises.
 */
#ifndef LURN_CHECKPOINT_H
#define LURN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tensor.h"

#define LURN_CHECKPOINT_VERSION 1
#define LURN_CHECKPOINT_FORMAT "lurn-checkpoint"

typedef enum { LURN_CK_F32 = 0, LURN_CK_I32 = 1, LURN_CK_U8 = 2 } lurn_ck_dtype;

/* One tensor. Saving: `data` points at numel contiguous elements (host order
 * is little-endian on every platform lurn builds on). Loading: `name` and
 * `data` point into the lurn_checkpoint (data may be unaligned after a U8
 * tensor: copy it out with memcpy). */
typedef struct lurn_ck_tensor {
  const char *name;
  lurn_ck_dtype dtype;
  int ndim;                          /* 0 .. LURN_MAXDIM */
  int64_t shape[LURN_MAXDIM];
  const void *data;
  int64_t nbytes;                    /* filled by the loader; ignored by save */
} lurn_ck_tensor;

typedef struct lurn_ck_meta {
  const char *key, *value;           /* NUL-terminated UTF-8 */
} lurn_ck_meta;

/* Keys starting with "lurn." are reserved for the format's own entries. */
int lurn_checkpoint_save(const char *path, const lurn_ck_tensor *tensors, int ntensors,
                         const lurn_ck_meta *meta, int nmeta, lurn_status *st);

/* Write n bytes to path the same way: "<path>.tmp.<pid>", fsync, rename,
 * directory fsync (train.fit's `latest` pointer). */
int lurn_file_write_atomic(const char *path, const void *buf, size_t n, lurn_status *st);

typedef struct lurn_checkpoint {
  int version;                       /* format version; 0 for a plain safetensors file */
  int ntensors;
  lurn_ck_tensor *tensors;           /* in file order of data_offsets */
  int nmeta;
  lurn_ck_meta *meta;                /* user entries only (no "lurn." keys) */
  void *data;                        /* the data section, data_bytes long */
  int64_t data_bytes;
  void *strings_;                    /* owned: the parsed header */
} lurn_checkpoint;

/* Flags for lurn_checkpoint_load. */
enum {
  /* Also accept a plain safetensors file without lurn's entries (weights
   * written by PyTorch or numpy): everything is validated except the
   * checksums, which such a file does not have. */
  LURN_CK_ALLOW_PLAIN = 1
};

/* Fill *ck (zero it first or pass a freed one). On failure *ck is empty. */
int lurn_checkpoint_load(const char *path, int flags, lurn_checkpoint *ck, lurn_status *st);
/* Release what load allocated (idempotent). */
void lurn_checkpoint_free(lurn_checkpoint *ck);

const char *lurn_ck_dtype_name(lurn_ck_dtype d);
int lurn_ck_dtype_size(lurn_ck_dtype d);

/* A pre-scan of JSON text, run before cJSON parses anything from a file:
 * the text is valid UTF-8 (no overlong forms or surrogates), strings hold
 * no raw control characters and no \u0000 escape (C strings would be cut
 * there), brackets nest at most max_depth deep, no array holds more than
 * max_array values and the text holds at most max_values values (strings,
 * keys included, numbers, literals, objects, arrays: what a parser would
 * allocate). It does not check the grammar (cJSON does). Returns 0,
 * or -1 with pb->pos (0-based byte) and pb->what (a static phrase). Linear
 * time, no allocation. */
typedef struct lurn_json_problem {
  size_t pos;
  const char *what;
} lurn_json_problem;
int lurn_json_scan(const char *text, size_t n, int max_depth, int64_t max_array,
                   int64_t max_values, lurn_json_problem *pb);

/* 1 if s[0..n) is valid UTF-8 (as lurn_json_scan checks it), else 0. */
int lurn_utf8_valid(const char *s, size_t n);

/* 64-bit FNV-1a. Start with h = LURN_FNV1A64_INIT; feed pieces in order. */
#define LURN_FNV1A64_INIT 0xcbf29ce484222325ULL
uint64_t lurn_fnv1a64(const void *data, size_t n, uint64_t h);

#endif
