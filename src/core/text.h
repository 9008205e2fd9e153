/*
 * text.h — tokenizers for lurn.text: UTF-8 text to token strings.
 *
 * The hot path of reading a corpus (the 25,000 IMDB reviews are 33 MB) is
 * splitting text into tokens; it lives here in C so that a Lua loop never
 * walks bytes. Tokens are written one after another into a growable byte
 * buffer, with their offsets and lengths; the binding turns them into Lua
 * strings, vocabulary counts or ids.
 *
 * Word tokenizer (kind LURN_TOK_WORD), in this order:
 *   - "<br />", "<br/>", "<br>" (any case, any spaces) are whitespace;
 *   - whitespace (ASCII, U+00A0, U+2000-U+200B, U+202F, U+205F, U+3000,
 *     U+FEFF) and control characters separate tokens;
 *   - a word is a run of letters and digits (every code point >= U+0080
 *     that is not listed as space or punctuation counts as a letter), with
 *     joiners kept inside it: an apostrophe (' or U+2019, written ') or a
 *     hyphen between two word characters ("don't", "well-made"), and . , / :
 *     between two digits ("3.5", "1,000", "7/10", "12:30");
 *   - clitics are split off the end of a word: "n't" ("don't" -> "do" "n't",
 *     "can't" -> "ca" "n't", as in the Penn Treebank), and 's 're 've 'll 'd 'm
 *     ("it's" -> "it" "'s"); a clitic standing alone ("'s", "n't" in SST-2's
 *     PTB text) stays one token;
 *   - an ASCII emoticon standing alone is one token (":)", ":-(", ";)", ":D",
 *     "<3", ":)))"): in reviews it carries sentiment;
 *   - any other character is punctuation: a run of the same punctuation
 *     character is one token ("...", "!!!"), different ones are separate;
 *   - lower-casing (optional) maps ASCII, Latin-1, Latin Extended-A, Greek
 *     and Cyrillic capitals, the letters whose lower case has the same UTF-8
 *     length; other code points are kept as they are.
 * Character tokenizer (LURN_TOK_CHAR): one token per code point, "<br />"
 * as whitespace, every run of whitespace one " " token, none at the ends.
 * Invalid UTF-8: each bad byte is one character on its own (a letter for
 * the word tokenizer), copied through unchanged, never an error — corpora
 * scraped from the web hold such bytes and a reader must not stop on them.
 */
#ifndef LURN_TEXT_H
#define LURN_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

typedef enum { LURN_TOK_WORD = 0, LURN_TOK_CHAR = 1 } lurn_tok_kind;

typedef struct lurn_tok_opts {
  lurn_tok_kind kind;
  int lower;        /* non-zero: lower-case (see above) */
} lurn_tok_opts;

/* The tokens of one text. buf holds the token bytes back to back (not
 * NUL-separated); token i is buf[off[i] .. off[i] + len[i]). Reused across
 * calls: lurn_tokenize resets it, lurn_tokens_free releases it. */
typedef struct lurn_tokens {
  char *buf;
  size_t buf_len, buf_cap;
  size_t *off;      /* (n) */
  size_t *len;      /* (n) */
  size_t n, cap;
} lurn_tokens;

/* Tokenize s[0..n) into out (emptied first). Returns LURN_OK, or LURN_ENOMEM
 * / LURN_EARG with a message in st; out stays valid to free either way. */
int lurn_tokenize(lurn_tokens *out, const char *s, size_t n, const lurn_tok_opts *o,
                  lurn_status *st);

/* Release the buffers of t (idempotent; t becomes empty). */
void lurn_tokens_free(lurn_tokens *t);

/* ---- string map: token bytes -> int64 ---------------------------------------
 * Counting a corpus and numericalising it look every token up once; doing it
 * here rather than in a Lua table saves making a Lua string per token (the
 * 6.7 million tokens of IMDB's training reviews). Open addressing over an
 * index of 32-bit slots; keys live in one arena; entries stay in insertion
 * order, so iterating them is deterministic. */
typedef struct lurn_strmap {
  char *keys;             /* the arena: key bytes back to back */
  size_t keys_len, keys_cap;
  struct lurn_strmap_entry { size_t off, len; uint64_t hash; int64_t value; } *e;   /* (n) */
  size_t n, cap;
  uint32_t *slot;         /* (nslot): entry index + 1, 0 = empty */
  size_t nslot;
} lurn_strmap;

/* The value slot of key s[0..n), or NULL when it is absent. */
int64_t *lurn_strmap_get(const lurn_strmap *m, const char *s, size_t n);
/* The value slot of s[0..n), created with value 0 when absent (*created set
 * to 1 then). NULL with st filled when memory runs out. */
int64_t *lurn_strmap_put(lurn_strmap *m, const char *s, size_t n, int *created, lurn_status *st);
/* Release m (idempotent; m becomes an empty map). */
void lurn_strmap_free(lurn_strmap *m);

/* ---- features and counting -------------------------------------------------- */

/* Call fn(ud, p, n) for every feature of t: its tokens, then every run of
 * 2..ngrams consecutive tokens, joined by one space (word) or nothing (char).
 * *gram / *gram_cap is a join buffer the caller keeps (NULL / 0 at first,
 * free() at the end). Stops at fn's first non-zero result and returns it;
 * LURN_ENOMEM with st filled if the buffer cannot grow. */
typedef int (*lurn_feature_fn)(void *ud, const char *p, size_t n);
int lurn_features(const lurn_tokens *t, int ngrams, lurn_tok_kind kind, char **gram,
                  size_t *gram_cap, lurn_feature_fn fn, void *ud, lurn_status *st);

/* The texts a counter has seen, as the entry numbers of their features in
 * the map: text d is ids[doc_end[d-1] .. doc_end[d]) (doc_end[-1] = 0). */
typedef struct lurn_text_records {
  uint32_t *ids;          /* (n) */
  size_t n, cap;
  size_t *doc_end;        /* (ndocs) */
  size_t ndocs, docs_cap;
} lurn_text_records;

void lurn_text_records_free(lurn_text_records *r);   /* idempotent */

/* m[f] += 1 for every feature f of texts[0..ndocs) (lengths lens), and, when
 * rec is not NULL, each text appended to rec; *counted (if not NULL) grows
 * by the number of features. nthreads > 1 splits the texts into that many
 * contiguous parts (at least 64 texts each), each counted into a map of its
 * own, then merged in order: counts and records are the same at every
 * thread count (only the order of m's entries differs). Returns LURN_OK, or
 * an error with st filled and m and rec still valid to free. */
int lurn_count_texts(lurn_strmap *m, lurn_text_records *rec, const char *const *texts,
                     const size_t *lens, size_t ndocs, const lurn_tok_opts *o, int ngrams,
                     int nthreads, size_t *counted, lurn_status *st);

#endif
