/*
 * fuzz_checkpoint.c — libFuzzer harness for the checkpoint reader
 * (lurn_checkpoint_load, src/core/checkpoint.c), the code that reads files
 * people download. Run by tests/fuzz/run.sh.
 *
 * The checksums would stop a blind fuzzer at the header: almost every
 * mutation of a lurn file is refused as "checksum mismatch". So the first
 * input byte chooses how the rest is used:
 *   even  the rest is the file, as is (every early check: sizes, JSON,
 *         plain safetensors files, which have no checksums);
 *   odd   the rest is [2-byte header length L][L header bytes][data]; the
 *         harness writes the 8-byte length itself and, where the header has
 *         lurn.header_checksum / lurn.data_checksum values, puts the right
 *         digits in, so mutations reach the entry, offset and data checks.
 * Bit 1 of the first byte passes LURN_CK_ALLOW_PLAIN.
 *
 * A successful load is then used the way the Lua binding uses it: every
 * tensor is allocated with lurn_tensor_new from its shape and its bytes
 * copied, so an unchecked shape or offset shows up under ASan/UBSan.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "checkpoint.h"
#include "tensor.h"

static int memfd = -1;
static char memfd_path[64];

static void put_digits(unsigned char *p, uint64_t h) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--, h >>= 4) p[i] = (unsigned char)hex[h & 15];
}

/* The 16 digits after `"key":"fnv1a64:` in hdr[0..n), or NULL. */
static unsigned char *digits_of(unsigned char *hdr, size_t n, const char *key) {
  char pat[64];
  int pl = snprintf(pat, sizeof pat, "\"%s\":\"fnv1a64:", key);
  for (size_t i = 0; i + (size_t)pl + 16 <= n; i++)
    if (memcmp(hdr + i, pat, (size_t)pl) == 0) return hdr + i + pl;
  return NULL;
}

/* Build a file from the structured form, checksums filled in. */
static unsigned char *build(const uint8_t *in, size_t n, size_t *out_n) {
  if (n < 2) return NULL;
  size_t hl = (size_t)in[0] | (size_t)in[1] << 8;
  in += 2, n -= 2;
  if (hl > n) hl = n;
  unsigned char *f = malloc(8 + n + 1);
  for (int i = 0; i < 8; i++) f[i] = (unsigned char)((uint64_t)hl >> (8 * i));
  memcpy(f + 8, in, n);
  unsigned char *hdr = f + 8, *data = f + 8 + hl;
  unsigned char *ds = digits_of(hdr, hl, "lurn.data_checksum");
  if (ds) put_digits(ds, lurn_fnv1a64(data, n - hl, LURN_FNV1A64_INIT));
  unsigned char *hs = digits_of(hdr, hl, "lurn.header_checksum");
  if (hs) {
    memset(hs, '0', 16);
    put_digits(hs, lurn_fnv1a64(hdr, hl, LURN_FNV1A64_INIT));
  }
  *out_n = 8 + n;
  return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n) {
  if (n < 1) return 0;
  if (memfd < 0) {
    memfd = memfd_create("lurn_fuzz_checkpoint", 0);
    if (memfd < 0) abort();
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
  }
  int mode = in[0];
  const unsigned char *file = in + 1;
  size_t fn = n - 1;
  unsigned char *built = NULL;
  if (mode & 1) {
    built = build(in + 1, n - 1, &fn);
    if (!built) return 0;
    file = built;
  }
  if (ftruncate(memfd, 0) != 0 || pwrite(memfd, file, fn, 0) != (ssize_t)fn) abort();
  free(built);

  lurn_checkpoint ck;
  lurn_status st = {0};
  int rc = lurn_checkpoint_load(memfd_path, (mode & 2) ? LURN_CK_ALLOW_PLAIN : 0, &ck, &st);
  if (rc == LURN_OK) {
    for (int i = 0; i < ck.ntensors; i++) {
      const lurn_ck_tensor *e = &ck.tensors[i];
      lurn_tensor t = {0};
      lurn_status ts = {0};
      if (lurn_tensor_new(&t, e->dtype == LURN_CK_F32 ? LURN_FLOAT32 : LURN_INT32, e->ndim,
                          e->shape, &ts) == LURN_OK) {
        int64_t numel = lurn_numel(&t);
        int64_t want = e->dtype == LURN_CK_U8 ? numel : numel * 4;
        if (want != e->nbytes) abort();  // the loader's byte count and the tensor's must agree
        if (numel > 0) memcpy(t.storage->data, e->data, (size_t)e->nbytes);
        lurn_tensor_release(&t);
      }
    }
    for (int i = 0; i < ck.nmeta; i++)
      if (!ck.meta[i].key || !ck.meta[i].value) abort();
    lurn_checkpoint_free(&ck);
  } else {
    // Every refusal names the file first.
    if (strncmp(st.msg, memfd_path, strlen(memfd_path)) != 0) abort();
  }
  return 0;
}
