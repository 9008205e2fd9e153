/*
 * test_checkpoint.c — the checkpoint file: round trip, layout, every corrupt
 * case with its message, and atomic saving.
 *
 * Corrupt files are made two ways: by damaging a file lurn wrote (truncating,
 * flipping a byte), and by crafting a header by hand with correct checksums
 * (craft() below follows docs/checkpoint-format.md independently of the
 * writer), so the checks behind the checksums are reached too.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint.h"

static char dir[256];

static const char *tpath(const char *name) {
  static char buf[4][512];
  static int k = 0;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
  return buf[k];
}

static long file_size(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static unsigned char *slurp(const char *p, long *n) {
  FILE *f = fopen(p, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  *n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)*n + 1);
  if (fread(b, 1, (size_t)*n, f) != (size_t)*n) *n = -1;
  fclose(f);
  return b;
}

static void spit(const char *p, const void *b, long n) {
  FILE *f = fopen(p, "wb");
  fwrite(b, 1, (size_t)n, f);
  fclose(f);
}

/* The standard fixture: five tensors of every kind and two metadata entries. */
static float W[2][3] = {{1.5f, -2.25f, 3.0f}, {0.0f, 1e-30f, -7.125f}};
static int32_t IDS[4] = {0, -1, 2147483647, 42};
static uint8_t BYTES[5] = {0, 1, 127, 128, 255};
static float SCALAR = 3.25f;

static int fixture(lurn_ck_tensor *t, lurn_ck_meta *m) {
  memset(t, 0, 5 * sizeof *t);
  t[0] = (lurn_ck_tensor){"1.weight_ih_l0", LURN_CK_F32, 2, {2, 3}, W, 0};
  t[1] = (lurn_ck_tensor){"ids", LURN_CK_I32, 1, {4}, IDS, 0};
  t[2] = (lurn_ck_tensor){"raw", LURN_CK_U8, 1, {5}, BYTES, 0};
  t[3] = (lurn_ck_tensor){"scalar", LURN_CK_F32, 0, {0}, &SCALAR, 0};
  t[4] = (lurn_ck_tensor){"empty", LURN_CK_F32, 2, {0, 3}, NULL, 0};
  m[0] = (lurn_ck_meta){"config", "{\"lr\": 0.001, \"name\": \"caf\xc3\xa9\\n\"}"};
  m[1] = (lurn_ck_meta){"note", "line1\nline2\t\"quoted\""};
  return 5;
}

static void save_fixture(const char *p) {
  lurn_ck_tensor t[5];
  lurn_ck_meta m[2];
  lurn_status st = {0};
  int n = fixture(t, m);
  CHECK(lurn_checkpoint_save(p, t, n, m, 2, &st) == LURN_OK);
}

/* Load that must fail with `code` and a message containing `sub`. */
static void expect_fail(const char *p, int flags, int code, const char *sub) {
  lurn_checkpoint ck;
  lurn_status st = {0};
  int rc = lurn_checkpoint_load(p, flags, &ck, &st);
  if (rc != code) {
    fprintf(stderr, "load %s: code %d, want %d (%s)\n", p, rc, code, st.msg);
    check_cur_failed_ = 1;
  }
  CHECK_MSG(st, sub);
  CHECK(strncmp(st.msg, p, strlen(p)) == 0);  // every message starts with the path
  CHECK(ck.tensors == NULL && ck.data == NULL && ck.ntensors == 0);
}

/* Write a file from a hand-made header, following the documented format:
 * `json` contains the value "fnv1a64:0000000000000000" for
 * lurn.header_checksum and "%s" where the data checksum goes. */
static void craft(const char *p, const char *json, const void *data, long dlen) {
  char dsum[32];
  snprintf(dsum, sizeof dsum, "fnv1a64:%016llx",
           (unsigned long long)lurn_fnv1a64(data, (size_t)dlen, LURN_FNV1A64_INIT));
  size_t cap = strlen(json) + 64;
  char *hdr = malloc(cap);
  int n = snprintf(hdr, cap, json, dsum);
  while ((8 + n) % 8) hdr[n++] = ' ';
  uint64_t h = lurn_fnv1a64(hdr, (size_t)n, LURN_FNV1A64_INIT);
  char *digits = strstr(hdr, "\"fnv1a64:0000000000000000\"") + 9;
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
  memcpy(digits, hex, 16);
  unsigned char *buf = malloc((size_t)(8 + n + dlen));
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
  memcpy(buf + 8, hdr, (size_t)n);
  memcpy(buf + 8 + n, data, (size_t)dlen);
  spit(p, buf, 8 + n + dlen);
  free(buf);
  free(hdr);
}

#define MD(extra)                                                                     \
  "{\"__metadata__\":{\"lurn.header_checksum\":\"fnv1a64:0000000000000000\","          \
  "\"lurn.format\":\"lurn-checkpoint\",\"lurn.version\":\"1\","                      \
  "\"lurn.data_checksum\":\"%s\"," extra "}"

/* ---- tests ------------------------------------------------------------------ */

static void test_round_trip(void) {
  const char *p = tpath("rt.safetensors");
  save_fixture(p);
  lurn_checkpoint ck;
  lurn_status st = {0};
  CHECK(lurn_checkpoint_load(p, 0, &ck, &st) == LURN_OK);
  CHECK(ck.version == 1);
  CHECK(ck.ntensors == 5);
  if (ck.ntensors == 5) {
    // data order = the order given to save
    CHECK(strcmp(ck.tensors[0].name, "1.weight_ih_l0") == 0);
    CHECK(ck.tensors[0].dtype == LURN_CK_F32 && ck.tensors[0].ndim == 2);
    CHECK(ck.tensors[0].shape[0] == 2 && ck.tensors[0].shape[1] == 3);
    CHECK(ck.tensors[0].nbytes == 24 && memcmp(ck.tensors[0].data, W, 24) == 0);
    CHECK(strcmp(ck.tensors[1].name, "ids") == 0 && ck.tensors[1].dtype == LURN_CK_I32);
    CHECK(memcmp(ck.tensors[1].data, IDS, 16) == 0);
    CHECK(strcmp(ck.tensors[2].name, "raw") == 0 && ck.tensors[2].dtype == LURN_CK_U8);
    CHECK(ck.tensors[2].nbytes == 5 && memcmp(ck.tensors[2].data, BYTES, 5) == 0);
    CHECK(strcmp(ck.tensors[3].name, "scalar") == 0 && ck.tensors[3].ndim == 0);
    float s;
    memcpy(&s, ck.tensors[3].data, 4);  // unaligned after the U8 tensor
    CHECK(s == 3.25f);
    CHECK(strcmp(ck.tensors[4].name, "empty") == 0 && ck.tensors[4].nbytes == 0);
    CHECK(ck.tensors[4].ndim == 2 && ck.tensors[4].shape[0] == 0 && ck.tensors[4].shape[1] == 3);
  }
  CHECK(ck.data_bytes == 24 + 16 + 5 + 4);
  CHECK(ck.nmeta == 2);  // lurn.* entries are not handed back
  if (ck.nmeta == 2) {
    CHECK(strcmp(ck.meta[0].key, "config") == 0);
    CHECK(strcmp(ck.meta[0].value, "{\"lr\": 0.001, \"name\": \"caf\xc3\xa9\\n\"}") == 0);
    CHECK(strcmp(ck.meta[1].key, "note") == 0);
    CHECK(strcmp(ck.meta[1].value, "line1\nline2\t\"quoted\"") == 0);
  }
  lurn_checkpoint_free(&ck);
  lurn_checkpoint_free(&ck);  // idempotent
  CHECK(ck.tensors == NULL);
}

static void test_layout(void) {
  // 8-byte LE length, header padded so data starts 8-aligned, header first
  // entry is the header checksum, file size = 8 + N + data.
  const char *p = tpath("layout.safetensors");
  save_fixture(p);
  long n = 0;
  unsigned char *b = slurp(p, &n);
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
  CHECK((8 + hl) % 8 == 0);
  CHECK((long)(8 + hl + 49) == n);
  CHECK(memcmp(b + 8, "{\"__metadata__\":{\"lurn.header_checksum\":\"fnv1a64:", 49) == 0);
  CHECK(strstr((char *)b + 8, "\"lurn.version\":\"1\"") != NULL);
  CHECK(strstr((char *)b + 8, "\"ids\":{\"dtype\":\"I32\",\"shape\":[4],\"data_offsets\":[24,40]}") != NULL);
  CHECK(memcmp(b + 8 + hl, W, 24) == 0);  // raw little-endian float32
  free(b);
  // Saving the same content twice gives the same bytes (no timestamps etc.).
  const char *q = tpath("layout2.safetensors");
  save_fixture(q);
  long n2 = 0;
  unsigned char *b1 = slurp(p, &n), *b2 = slurp(q, &n2);
  CHECK(n == n2 && memcmp(b1, b2, (size_t)n) == 0);
  free(b1), free(b2);
}

static void test_missing_file(void) {
  expect_fail(tpath("nope.safetensors"), 0, LURN_EIO, "cannot open (No such file or directory)");
  expect_fail(dir, 0, LURN_EIO, "not a regular file");
}

static void test_truncated_header(void) {
  const char *p = tpath("trunc_h.safetensors");
  save_fixture(p);
  long n = 0;
  unsigned char *b = slurp(p, &n);
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
  spit(p, b, 8 + 100);
  char want[128];
  snprintf(want, sizeof want, "truncated (header says %llu bytes, file has 100 after the length "
           "field)", (unsigned long long)hl);
  expect_fail(p, 0, LURN_EFORMAT, want);
  spit(p, b, 5);
  expect_fail(p, 0, LURN_EFORMAT, "truncated (file has 5 bytes, less than the 8-byte header length)");
  free(b);
}

static void test_truncated_data(void) {
  const char *p = tpath("trunc_d.safetensors");
  save_fixture(p);
  long n = 0;
  unsigned char *b = slurp(p, &n);
  spit(p, b, n - 3);
  expect_fail(p, 0, LURN_EFORMAT, "truncated (header says data section is 49 bytes, file has 46)");
  // and the opposite: extra bytes after the data
  unsigned char *c = malloc((size_t)n + 2);
  memcpy(c, b, (size_t)n);
  c[n] = c[n + 1] = 0;
  spit(p, c, n + 2);
  expect_fail(p, 0, LURN_EFORMAT, "2 unexpected bytes after the data section");
  free(b), free(c);
}

static void test_flipped_data_byte(void) {
  const char *p = tpath("flip_d.safetensors");
  save_fixture(p);
  long n = 0;
  unsigned char *b = slurp(p, &n);
  b[n - 10] ^= 0x01;  // one bit in the middle of the data
  spit(p, b, n);
  expect_fail(p, 0, LURN_EFORMAT, "checksum mismatch in data section");
  free(b);
}

static void test_flipped_header_byte(void) {
  // A byte of a tensor name: the JSON stays valid and consistent, only the
  // checksum can tell.
  const char *p = tpath("flip_h.safetensors");
  save_fixture(p);
  long n = 0;
  unsigned char *b = slurp(p, &n);
  char *at = strstr((char *)b + 8, "\"raw\"");
  CHECK(at != NULL);
  if (at) at[1] = 'R';
  spit(p, b, n);
  expect_fail(p, 0, LURN_EFORMAT, "checksum mismatch in header");
  // A digit of a shape: checksum again (checked before the entries).
  free(b);
  b = slurp(tpath("layout.safetensors"), &n);
  at = strstr((char *)b + 8, "\"shape\":[2,3]");
  if (at) at[9] = '4';
  spit(p, b, n);
  expect_fail(p, 0, LURN_EFORMAT, "checksum mismatch in header");
  free(b);
}

static void test_bad_json(void) {
  const char *p = tpath("badjson.safetensors");
  save_fixture(p);
  long n = 0;
  unsigned char *b = slurp(p, &n);
  char *at = strstr((char *)b + 8, "\"dtype\":");
  at[7] = '#';  // "dtype"# "F32"
  spit(p, b, n);
  char want[64];
  snprintf(want, sizeof want, "bad JSON in header at byte %ld", (long)(at + 7 - (char *)b - 8));
  expect_fail(p, 0, LURN_EFORMAT, want);
  free(b);
}

static void test_wrong_version(void) {
  const char *p = tpath("v7.safetensors");
  float d[2] = {1, 2};
  craft(p,
        "{\"__metadata__\":{\"lurn.header_checksum\":\"fnv1a64:0000000000000000\","
        "\"lurn.format\":\"lurn-checkpoint\",\"lurn.version\":\"7\",\"lurn.data_bytes\":\"8\","
        "\"lurn.data_checksum\":\"%s\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}}",
        d, 8);
  expect_fail(p, 0, LURN_EFORMAT, "unsupported format version 7 (this lurn reads version 1)");
}

static void test_crafted_ok(void) {
  // The hand-made file is accepted: the format doc and the writer agree.
  const char *p = tpath("crafted.safetensors");
  float d[3] = {1, 2, 3};
  craft(p, MD("\"lurn.data_bytes\":\"12\",\"user\":\"x\"") ",\"b\":{\"dtype\":\"F32\","
        "\"shape\":[1],\"data_offsets\":[8,12]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]}}", d, 12);
  lurn_checkpoint ck;
  lurn_status st = {0};
  CHECK(lurn_checkpoint_load(p, 0, &ck, &st) == LURN_OK);
  if (ck.ntensors == 2) {
    CHECK(strcmp(ck.tensors[0].name, "a") == 0 && strcmp(ck.tensors[1].name, "b") == 0);
    float x;
    memcpy(&x, ck.tensors[1].data, 4);
    CHECK(x == 3);
  } else {
    fprintf(stderr, "crafted: %s\n", st.msg);
    check_cur_failed_ = 1;
  }
  CHECK(ck.nmeta == 1 && strcmp(ck.meta[0].value, "x") == 0);
  lurn_checkpoint_free(&ck);
}

static void test_offsets(void) {
  const char *p = tpath("offsets.safetensors");
  float d[4] = {1, 2, 3, 4};
  // out of range: 16 bytes claimed, the data section is 8
  craft(p, MD("\"lurn.data_bytes\":\"8\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[4],"
        "\"data_offsets\":[0,16]}}", d, 8);
  expect_fail(p, 0, LURN_EFORMAT,
              "tensor 'a' has data_offsets [0, 16] out of range (the data section is 8 bytes)");
  // overlapping
  craft(p, MD("\"lurn.data_bytes\":\"12\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        d, 12);
  expect_fail(p, 0, LURN_EFORMAT, "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
  // a gap
  craft(p, MD("\"lurn.data_bytes\":\"16\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
        d, 16);
  expect_fail(p, 0, LURN_EFORMAT, "data section bytes [8, 12) belong to no tensor");
  // byte count does not match dtype and shape
  craft(p, MD("\"lurn.data_bytes\":\"12\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,12]}}", d, 12);
  expect_fail(p, 0, LURN_EFORMAT, "tensor 'a': data_offsets [0, 12] hold 12 bytes but F32 [2] needs 8");
  // begin after end
  craft(p, MD("\"lurn.data_bytes\":\"8\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[8,0]}}", d, 8);
  expect_fail(p, 0, LURN_EFORMAT, "data_offsets [8, 0] with begin after end");
  // negative and fractional numbers
  craft(p, MD("\"lurn.data_bytes\":\"8\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[-2],"
        "\"data_offsets\":[0,8]}}", d, 8);
  expect_fail(p, 0, LURN_EFORMAT, "tensor 'a' shape entry 1 is not a non-negative integer");
  craft(p, MD("\"lurn.data_bytes\":\"8\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
        "\"data_offsets\":[0,8.5]}}", d, 8);
  expect_fail(p, 0, LURN_EFORMAT, "data_offsets is not [begin, end] with integers");
  // unsupported dtype, missing dtype, duplicate names
  craft(p, MD("\"lurn.data_bytes\":\"8\"") ",\"a\":{\"dtype\":\"F16\",\"shape\":[4],"
        "\"data_offsets\":[0,8]}}", d, 8);
  expect_fail(p, 0, LURN_EFORMAT, "tensor 'a' has unsupported dtype 'F16' (lurn reads F32, I32, U8)");
  craft(p, MD("\"lurn.data_bytes\":\"8\"") ",\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", d, 8);
  expect_fail(p, 0, LURN_EFORMAT, "tensor 'a' has no dtype");
  craft(p, MD("\"lurn.data_bytes\":\"8\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        d, 8);
  expect_fail(p, 0, LURN_EFORMAT, "duplicate tensor name 'a'");
}

static void test_not_a_checkpoint(void) {
  const char *p = tpath("text.txt");
  const char *txt = "return { lr = 0.1 } -- a Lua config is not a checkpoint\n";
  spit(p, txt, (long)strlen(txt));
  expect_fail(p, 0, LURN_EFORMAT, "not a lurn checkpoint (header length");
  // a header that is not an object
  unsigned char b[16] = {8, 0, 0, 0, 0, 0, 0, 0, '[', '1', ']', ' ', ' ', ' ', ' ', ' '};
  spit(p, b, 16);
  expect_fail(p, 0, LURN_EFORMAT, "not a lurn checkpoint (the header is not a JSON object)");
  // a plain safetensors file: refused, unless asked for
  float d[2] = {5, 6};
  craft(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"__metadata__\":{\"format\":\"pt\",\"x\":\"fnv1a64:0000000000000000\"}}%.0s", d, 8);
  expect_fail(p, 0, LURN_EFORMAT, "not a lurn checkpoint (no lurn.format in __metadata__");
  lurn_checkpoint ck;
  lurn_status st = {0};
  CHECK(lurn_checkpoint_load(p, LURN_CK_ALLOW_PLAIN, &ck, &st) == LURN_OK);
  CHECK(ck.version == 0 && ck.ntensors == 1 && ck.nmeta == 2);
  if (ck.ntensors == 1) CHECK(memcmp(ck.tensors[0].data, d, 8) == 0);
  lurn_checkpoint_free(&ck);
  // another program's format name
  craft(p, "{\"__metadata__\":{\"lurn.header_checksum\":\"fnv1a64:0000000000000000\","
        "\"lurn.format\":\"other\"}}%.0s", d, 0);
  expect_fail(p, 0, LURN_EFORMAT, "not a lurn checkpoint (lurn.format is 'other')");
}

static void test_save_errors(void) {
  lurn_ck_tensor t[5];
  lurn_ck_meta m[2];
  lurn_status st = {0};
  int n = fixture(t, m);
  lurn_ck_meta bad = {"lurn.version", "9"};
  CHECK(lurn_checkpoint_save(tpath("e.safetensors"), t, n, &bad, 1, &st) == LURN_EARG);
  CHECK_MSG(st, "save_checkpoint: metadata key 'lurn.version' is reserved");
  t[2].name = "ids";
  CHECK(lurn_checkpoint_save(tpath("e.safetensors"), t, n, m, 2, &st) == LURN_EARG);
  CHECK_MSG(st, "save_checkpoint: duplicate tensor name 'ids'");
  t[2].name = "raw";
  t[0].shape[1] = -3;
  CHECK(lurn_checkpoint_save(tpath("e.safetensors"), t, n, m, 2, &st) == LURN_EARG);
  CHECK_MSG(st, "save_checkpoint: tensor '1.weight_ih_l0' has an invalid shape [2,-3]");
  CHECK(file_size(tpath("e.safetensors")) < 0);  // nothing was created
}

static int count_tmp_files(void) {
  DIR *d = opendir(dir);
  int k = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strstr(e->d_name, ".tmp.")) k++;
  closedir(d);
  return k;
}

static void test_failed_save_keeps_old_file(void) {
  const char *p = tpath("keep.safetensors");
  save_fixture(p);
  long n0 = 0;
  unsigned char *before = slurp(p, &n0);

  // 1. A write that fails half-way: a file size limit makes write() fail
  //    with EFBIG after 100 bytes of a ~4 KB file.
  static float big[1000];
  lurn_ck_tensor t = {"big", LURN_CK_F32, 1, {1000}, big, 0};
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 100;
  signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &lim);
  lurn_status st = {0};
  int rc = lurn_checkpoint_save(p, &t, 1, NULL, 0, &st);
  setrlimit(RLIMIT_FSIZE, &old);
  CHECK(rc == LURN_EIO);
  CHECK_MSG(st, "cannot write");
  CHECK_MSG(st, "File too large");
  CHECK_MSG(st, "the previous file is unchanged");

  long n1 = 0;
  unsigned char *after = slurp(p, &n1);
  CHECK(n0 == n1 && memcmp(before, after, (size_t)n0) == 0);
  free(after);
  lurn_checkpoint ck;
  CHECK(lurn_checkpoint_load(p, 0, &ck, &st) == LURN_OK && ck.ntensors == 5);
  lurn_checkpoint_free(&ck);
  CHECK(count_tmp_files() == 0);

  // 2. The rename fails: the target is a non-empty directory.
  const char *dp = tpath("a_directory");
  mkdir(dp, 0755);
  char inner[600];
  snprintf(inner, sizeof inner, "%s/x", dp);
  spit(inner, "x", 1);
  rc = lurn_checkpoint_save(dp, &t, 1, NULL, 0, &st);
  CHECK(rc == LURN_EIO);
  CHECK_MSG(st, "cannot rename the temporary file over it");
  CHECK(file_size(inner) == 1);
  CHECK(count_tmp_files() == 0);

  // 3. The directory of the path does not exist: nothing is created.
  rc = lurn_checkpoint_save(tpath("no/such/dir.safetensors"), &t, 1, NULL, 0, &st);
  CHECK(rc == LURN_EIO);
  CHECK_MSG(st, "cannot create");
  free(before);
}

static void test_fnv(void) {
  // Published FNV-1a 64 test vectors.
  CHECK(lurn_fnv1a64("", 0, LURN_FNV1A64_INIT) == 0xcbf29ce484222325ULL);
  CHECK(lurn_fnv1a64("a", 1, LURN_FNV1A64_INIT) == 0xaf63dc4c8601ec8cULL);
  CHECK(lurn_fnv1a64("foobar", 6, LURN_FNV1A64_INIT) == 0x85944171f73967e8ULL);
  // feeding in pieces = feeding at once
  CHECK(lurn_fnv1a64("bar", 3, lurn_fnv1a64("foo", 3, LURN_FNV1A64_INIT)) == 0x85944171f73967e8ULL);
}


/* ---- hostile files (issue 12): each of these failed on 53da342 ------------------ */

/* A FIFO is refused at once: open() used to wait for a writer forever. The
 * alarm turns a hang into a failure instead of a stuck suite. */
static void test_fifo_refused(void) {
  const char *p = tpath("fifo.safetensors");
  CHECK(mkfifo(p, 0600) == 0);
  alarm(20);
  expect_fail(p, LURN_CK_ALLOW_PLAIN, LURN_EIO, "not a regular file (a FIFO)");
  alarm(0);
  unlink(p);
}

/* 100,000 tensor entries and a duplicate name at the end: the duplicate
 * check used to compare every pair (44 s); now it sorts. */
static void test_many_entries(void) {
  const char *p = tpath("many.safetensors");
  const int n = 100000;
  size_t cap = (size_t)n * 64 + 1024;
  char *json = malloc(cap);
  size_t k = (size_t)snprintf(json, cap, "%s", MD("\"lurn.data_bytes\":\"0\""));
  for (int i = 0; i < n; i++)
    k += (size_t)snprintf(json + k, cap - k, ",\"t%d\":{\"dtype\":\"F32\",\"shape\":[0],"
                          "\"data_offsets\":[0,0]}", i == n - 1 ? 17 : i);
  snprintf(json + k, cap - k, "}");
  craft(p, json, "", 0);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  alarm(20);
  expect_fail(p, 0, LURN_EFORMAT, "duplicate tensor name 't17'");
  alarm(0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  printf("     100000 entries checked in %.3f s\n",
         (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  // the same without the duplicate loads
  char *last = strstr(json + k - 80, "\"t17\"");
  CHECK(last != NULL);
  if (last) memcpy(last, "\"tZZ\"", 5);
  craft(p, json, "", 0);
  lurn_checkpoint ck;
  lurn_status st = {0};
  CHECK(lurn_checkpoint_load(p, 0, &ck, &st) == LURN_OK && ck.ntensors == n);
  lurn_checkpoint_free(&ck);
  free(json);
}

static void test_second_metadata(void) {
  const char *p = tpath("meta2.safetensors");
  float d[1] = {1};
  craft(p, MD("\"lurn.data_bytes\":\"4\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[0,4]},\"__metadata__\":{\"config\":\"{}\"}}", d, 4);
  expect_fail(p, 0, LURN_EFORMAT, "bad header: more than one __metadata__");
  // a key twice inside __metadata__ or inside an entry
  craft(p, MD("\"lurn.data_bytes\":\"4\",\"x\":\"1\",\"x\":\"2\"") ",\"a\":{\"dtype\":\"F32\","
        "\"shape\":[1],\"data_offsets\":[0,4]}}", d, 4);
  expect_fail(p, 0, LURN_EFORMAT, "bad header: duplicate key 'x' in __metadata__");
  craft(p, MD("\"lurn.data_bytes\":\"4\"") ",\"a\":{\"dtype\":\"F32\",\"dtype\":\"I32\","
        "\"shape\":[1],\"data_offsets\":[0,4]}}", d, 4);
  expect_fail(p, 0, LURN_EFORMAT, "bad header: duplicate key 'dtype' in tensor 'a'");
}

static void test_strings_checked(void) {
  const char *p = tpath("utf8.safetensors");
  float d[1] = {1};
  // invalid UTF-8 (a lone continuation byte, an overlong '/', a surrogate)
  const char *bad[] = {"a\x80", "\xc0\xaf", "\xed\xa0\x80"};
  for (int i = 0; i < 3; i++) {
    char json[512];
    snprintf(json, sizeof json, "%s,\"%s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"
             "[0,4]}}", MD("\"lurn.data_bytes\":\"4\""), bad[i]);
    craft(p, json, d, 4);
    expect_fail(p, 0, LURN_EFORMAT, "invalid UTF-8");
  }
  // a NUL in a name: the name used to be cut at it ("a\u0000b" -> "a")
  craft(p, MD("\"lurn.data_bytes\":\"4\"") ",\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[0,4]}}", d, 4);
  expect_fail(p, 0, LURN_EFORMAT, "NUL character (\\u0000) in a string");
  // and in a metadata value
  craft(p, MD("\"lurn.data_bytes\":\"4\",\"config\":\"{}\\u0000x\"") ",\"a\":{\"dtype\":\"F32\","
        "\"shape\":[1],\"data_offsets\":[0,4]}}", d, 4);
  expect_fail(p, 0, LURN_EFORMAT, "NUL character");
  // saving refuses what loading would refuse
  lurn_ck_tensor t = {"caf\xe9", LURN_CK_F32, 1, {1}, d, 0};
  lurn_status st = {0};
  CHECK(lurn_checkpoint_save(p, &t, 1, NULL, 0, &st) == LURN_EARG);
  CHECK_MSG(st, "tensor name 1 is not valid UTF-8");
  // nesting beyond the safetensors shape, and over-long arrays, before cJSON
  craft(p, MD("\"lurn.data_bytes\":\"4\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[[[1]]],"
        "\"data_offsets\":[0,4]}}", d, 4);
  expect_fail(p, 0, LURN_EFORMAT, "nested too deeply");
  craft(p, MD("\"lurn.data_bytes\":\"4\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,"
        "1,1,1],\"data_offsets\":[0,4]}}", d, 4);
  expect_fail(p, 0, LURN_EFORMAT, "an array with too many values");
}

/* [0, 2^52, 2^52] holds no bytes, so byte counts agree, but the strides of
 * such a tensor overflow: the shape itself is refused. */
static void test_shape_overflow(void) {
  const char *p = tpath("huge.safetensors");
  craft(p, MD("\"lurn.data_bytes\":\"0\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[0,"
        "4503599627370496,4503599627370496],\"data_offsets\":[0,0]}}", "", 0);
  expect_fail(p, 0, LURN_EFORMAT,
              "tensor 'a' has shape [0,4503599627370496,4503599627370496], too large");
  // a zero with sizes whose product fits is fine
  craft(p, MD("\"lurn.data_bytes\":\"0\"") ",\"a\":{\"dtype\":\"F32\",\"shape\":[0,1000,1000],"
        "\"data_offsets\":[0,0]}}", "", 0);
  lurn_checkpoint ck;
  lurn_status st = {0};
  CHECK(lurn_checkpoint_load(p, 0, &ck, &st) == LURN_OK && ck.ntensors == 1);
  lurn_checkpoint_free(&ck);
}

/* A lurn checkpoint whose lurn.format key is damaged must not pass as a
 * plain safetensors file (which has no checksums to check). */
static void test_damaged_format_key(void) {
  const char *p = tpath("damaged_key.safetensors");
  save_fixture(p);
  long n = 0;
  unsigned char *b = slurp(p, &n);
  char *at = strstr((char *)b + 8, "\"lurn.format\"");
  CHECK(at != NULL);
  if (at) at[11] = 'T';  // "lurn.formaT"
  // and a flipped data byte, which the skipped checksum would have missed
  b[n - 10] ^= 0x01;
  spit(p, b, n);
  expect_fail(p, LURN_CK_ALLOW_PLAIN, LURN_EFORMAT, "damaged lurn checkpoint (lurn.format is "
              "missing from __metadata__, which has other lurn entries)");
  free(b);
}

/* A symlink planted at the temporary name is not written through. */
static void test_tmp_symlink_not_followed(void) {
  const char *p = tpath("planted.safetensors"), *target = tpath("planted_target");
  spit(target, "precious", 8);
  char tmpname[600];
  snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", p, (long)getpid());
  CHECK(symlink(target, tmpname) == 0);
  float d[1] = {1};
  lurn_ck_tensor t = {"a", LURN_CK_F32, 1, {1}, d, 0};
  lurn_status st = {0};
  CHECK(lurn_checkpoint_save(p, &t, 1, NULL, 0, &st) == LURN_EIO);
  CHECK_MSG(st, "cannot create");
  long n = 0;
  unsigned char *b = slurp(target, &n);
  CHECK(n == 8 && memcmp(b, "precious", 8) == 0);
  free(b);
  unlink(tmpname);
}

static void cleanup(void) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char p[600];
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (unlink(p) != 0) {
      char q[700];
      snprintf(q, sizeof q, "%s/x", p);
      unlink(q);
      rmdir(p);
    }
  }
  closedir(d);
  rmdir(dir);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/lurn_ck_XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  RUN(test_fnv);
  RUN(test_round_trip);
  RUN(test_layout);
  RUN(test_missing_file);
  RUN(test_truncated_header);
  RUN(test_truncated_data);
  RUN(test_flipped_data_byte);
  RUN(test_flipped_header_byte);
  RUN(test_bad_json);
  RUN(test_wrong_version);
  RUN(test_crafted_ok);
  RUN(test_offsets);
  RUN(test_not_a_checkpoint);
  RUN(test_save_errors);
  RUN(test_failed_save_keeps_old_file);
  RUN(test_fifo_refused);
  RUN(test_many_entries);
  RUN(test_second_metadata);
  RUN(test_strings_checked);
  RUN(test_shape_overflow);
  RUN(test_damaged_format_key);
  RUN(test_tmp_symlink_not_followed);
  cleanup();
  return check_summary();
}
