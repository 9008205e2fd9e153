/*
 * test_text.c — the tokenizers and the string map of src/core/text.c.
 *
 * The tokenizer rules are checked in detail through Lua (tests/lua/test_text.lua);
 * here the core alone: tokens against expected lists, reuse of one token
 * buffer across texts of growing and shrinking size, the output-size bound,
 * and the string map against a naive linear search over 50,000 keys (growth,
 * collisions, empty and embedded-NUL keys).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "text.h"

/* Tokens of s joined by '|'. */
static char *joined(lurn_tokens *t, const char *s, lurn_tok_kind kind, int lower) {
  static char out[4096];
  lurn_tok_opts o = { kind, lower };
  lurn_status st = { 0, "" };
  if (lurn_tokenize(t, s, strlen(s), &o, &st) != LURN_OK) return NULL;
  size_t m = 0;
  for (size_t i = 0; i < t->n; i++) {
    if (i) out[m++] = '|';
    memcpy(out + m, t->buf + t->off[i], t->len[i]);
    m += t->len[i];
  }
  out[m] = 0;
  return out;
}

static void test_words(void) {
  lurn_tokens t = { 0 };
  const char *r = joined(&t, "I don't like it... It's BAD!!!<br />Rated 7/10", LURN_TOK_WORD, 1);
  CHECK(r && strcmp(r, "i|do|n't|like|it|...|it|'s|bad|!!!|rated|7/10") == 0);
  r = joined(&t, "Ça VA don\xE2\x80\x99t", LURN_TOK_WORD, 0);
  CHECK(r && strcmp(r, "Ça|VA|do|n't") == 0);
  r = joined(&t, "", LURN_TOK_WORD, 1);
  CHECK(r && strcmp(r, "") == 0 && t.n == 0);
  r = joined(&t, "a\xFF" "b", LURN_TOK_WORD, 1);
  CHECK(r && strcmp(r, "a\xFF" "b") == 0);
  lurn_tokens_free(&t);
  lurn_tokens_free(&t);   /* idempotent */
  CHECK(t.buf == NULL && t.n == 0);
}

static void test_chars(void) {
  lurn_tokens t = { 0 };
  const char *r = joined(&t, "  H\xC3\xA9  y<br>\xF0\x9F\x98\x82 ", LURN_TOK_CHAR, 1);
  CHECK(r && strcmp(r, "h|\xC3\xA9| |y| |\xF0\x9F\x98\x82") == 0);
  /* a truncated sequence is one bad byte per byte */
  r = joined(&t, "\xE2\x80", LURN_TOK_CHAR, 1);
  CHECK(r && t.n == 2);
  lurn_tokens_free(&t);
}

static void test_reuse_and_bound(void) {
  /* one buffer across texts of different sizes; output never exceeds input */
  lurn_tokens t = { 0 };
  lurn_tok_opts o = { LURN_TOK_WORD, 1 };
  lurn_status st = { 0, "" };
  unsigned seed = 7;
  for (int k = 0; k < 300; k++) {
    size_t n = (size_t)(k % 3 == 0 ? 5000 : k % 50);
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) { seed = seed * 1103515245u + 12345u; s[i] = (char)(seed >> 16); }
    s[n] = 0;
    lurn_tok_opts oc = { (k & 1) ? LURN_TOK_CHAR : LURN_TOK_WORD, k & 2 };
    CHECK(lurn_tokenize(&t, s, n, (k & 4) ? &oc : &o, &st) == LURN_OK);
    CHECK(t.buf_len <= n);
    size_t total = 0;
    for (size_t i = 0; i < t.n; i++) {
      CHECK(t.len[i] > 0 && t.off[i] + t.len[i] <= t.buf_len);
      total += t.len[i];
    }
    CHECK(total <= t.buf_len);
    free(s);
  }
  lurn_tok_opts bad = { (lurn_tok_kind)7, 0 };
  CHECK(lurn_tokenize(&t, "x", 1, &bad, &st) == LURN_EARG);
  CHECK_MSG(st, "unknown tokenizer kind 7");
  lurn_tokens_free(&t);
}

static void test_strmap(void) {
  enum { N = 50000 };
  lurn_strmap m = { 0 };
  lurn_status st = { 0, "" };
  char key[32];
  CHECK(lurn_strmap_get(&m, "a", 1) == NULL);   /* empty map */
  for (int i = 0; i < N; i++) {
    int len = snprintf(key, sizeof key, "k%d", i * 7919 % N);
    int created;
    int64_t *v = lurn_strmap_put(&m, key, (size_t)len, &created, &st);
    CHECK(v && created && *v == 0);
    if (v) *v = i;
  }
  CHECK(m.n == N);
  int bad = 0;
  for (int i = 0; i < N; i++) {
    int len = snprintf(key, sizeof key, "k%d", i * 7919 % N);
    const int64_t *v = lurn_strmap_get(&m, key, (size_t)len);
    if (!v || *v != i) bad++;
    /* insertion order is kept */
    if (m.e[i].len != (size_t)len || memcmp(m.keys + m.e[i].off, key, (size_t)len) != 0) bad++;
  }
  CHECK(bad == 0);
  int created;
  int64_t *v = lurn_strmap_put(&m, "k5", 2, &created, &st);
  CHECK(v && !created);
  CHECK(lurn_strmap_get(&m, "k", 1) == NULL && lurn_strmap_get(&m, "k50000", 6) == NULL);
  /* the empty key and keys with NUL bytes are keys like any other */
  v = lurn_strmap_put(&m, "", 0, &created, &st);
  CHECK(v && created);
  v = lurn_strmap_put(&m, "a\0b", 3, &created, &st);
  CHECK(v && created);
  CHECK(lurn_strmap_get(&m, "a\0c", 3) == NULL && lurn_strmap_get(&m, "a", 1) == NULL);
  CHECK(lurn_strmap_get(&m, "", 0) != NULL);
  lurn_strmap_free(&m);
  lurn_strmap_free(&m);
  CHECK(m.n == 0 && lurn_strmap_get(&m, "k5", 2) == NULL);
}

int main(void) {
  RUN(test_words);
  RUN(test_chars);
  RUN(test_reuse_and_bound);
  RUN(test_strmap);
  return check_summary();
}
