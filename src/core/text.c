/*
 * text.c — the word and character tokenizers (rules in text.h).
 *
 * One pass over the bytes: decode a code point, classify it, and either
 * extend the current word, emit punctuation, or skip whitespace. Output
 * bytes never outnumber input bytes (lower-casing keeps UTF-8 lengths, a
 * U+2019 apostrophe becomes one byte, "<br />" becomes nothing), so the
 * token buffer is sized once per text and never grows mid-token.
 */
#include "text.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BAD 0xFFFFFFFFu   /* an invalid UTF-8 byte */

enum { C_SPACE, C_PUNCT, C_WORD, C_DIGIT, C_APOS, C_HYPHEN };

/* Decode the code point at s[0..n) (n >= 1) into *cp; returns its length.
 * Overlong forms, surrogates, values above U+10FFFF and truncated sequences
 * decode as one BAD byte. */
static size_t decode(const unsigned char *s, size_t n, uint32_t *cp) {
  unsigned c = s[0];
  if (c < 0x80) { *cp = c; return 1; }
  size_t len; uint32_t v, min;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; }
  else { *cp = BAD; return 1; }
  if (len > n) { *cp = BAD; return 1; }
  for (size_t k = 1; k < len; k++) {
    if ((s[k] & 0xC0) != 0x80) { *cp = BAD; return 1; }
    v = (v << 6) | (s[k] & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { *cp = BAD; return 1; }
  *cp = v;
  return len;
}

static size_t encode(uint32_t cp, char *out) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

static int classify(uint32_t cp) {
  if (cp < 0x80) {
    if (cp <= 0x20 || cp == 0x7F) return C_SPACE;
    if (cp >= '0' && cp <= '9') return C_DIGIT;
    if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return C_WORD;
    if (cp == '\'') return C_APOS;
    if (cp == '-') return C_HYPHEN;
    return C_PUNCT;
  }
  if (cp == BAD) return C_WORD;
  if (cp <= 0xA0) return C_SPACE;                         /* C1 controls, no-break space */
  if (cp <= 0xBF) {                                       /* Latin-1 signs: ¡ « ° ¿ ...   */
    return (cp == 0xAA || cp == 0xAD || cp == 0xB2 || cp == 0xB3 || cp == 0xB5 ||
            cp == 0xB9 || cp == 0xBA || (cp >= 0xBC && cp <= 0xBE)) ? C_WORD : C_PUNCT;
  }
  if (cp == 0xD7 || cp == 0xF7) return C_PUNCT;           /* × ÷ */
  if (cp < 0x2000) return C_WORD;
  if (cp <= 0x200B || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F)
    return C_SPACE;
  if (cp == 0x2010 || cp == 0x2011) return C_HYPHEN;
  if (cp == 0x2019) return C_APOS;
  if (cp <= 0x206F) return (cp == 0x200C || cp == 0x200D) ? C_WORD : C_PUNCT;
  if (cp >= 0x20A0 && cp <= 0x20CF) return C_PUNCT;       /* currency */
  if (cp >= 0x2190 && cp <= 0x2BFF) return C_PUNCT;       /* arrows, maths, shapes, dingbats */
  if (cp == 0x3000 || cp == 0xFEFF) return C_SPACE;
  if (cp >= 0x3001 && cp <= 0x303F) return C_PUNCT;       /* CJK punctuation */
  if (cp >= 0xFE00 && cp <= 0xFE0F) return C_PUNCT;       /* variation selectors (emoji) */
  if ((cp >= 0xFF01 && cp <= 0xFF0F) || (cp >= 0xFF1A && cp <= 0xFF20) ||
      (cp >= 0xFF3B && cp <= 0xFF40) || (cp >= 0xFF5B && cp <= 0xFF65))
    return C_PUNCT;                                       /* full-width punctuation */
  if (cp >= 0x1F000 && cp <= 0x1FAFF) return C_PUNCT;     /* emoji, symbols */
  return C_WORD;
}

/* The lower case of cp where it has the same UTF-8 length, else cp. */
static uint32_t lower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  if (cp < 0xC0 || cp == BAD) return cp;
  if (cp <= 0xDE) return cp == 0xD7 ? cp : cp + 32;
  if (cp >= 0x100 && cp <= 0x17F) {
    if ((cp <= 0x12F) || (cp >= 0x132 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
      return cp | 1;                                      /* even capital, odd small */
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
      return (cp & 1) ? cp + 1 : cp;                      /* odd capital, even small */
    if (cp == 0x178) return 0xFF;
    return cp;
  }
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 32;   /* Greek */
  if (cp == 0x386) return 0x3AC;
  if (cp >= 0x388 && cp <= 0x38A) return cp + 37;
  if (cp == 0x38C) return 0x3CC;
  if (cp == 0x38E || cp == 0x38F) return cp + 63;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;                  /* Cyrillic */
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

/* Length of "<br />" (any case and spacing) at s[0..n), or 0. */
static size_t html_break(const char *s, size_t n) {
  if (n < 4 || s[0] != '<' || (s[1] | 0x20) != 'b' || (s[2] | 0x20) != 'r') return 0;
  size_t i = 3;
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
  if (i < n && s[i] == '/') i++;
  while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
  return (i < n && s[i] == '>') ? i + 1 : 0;
}

/* ---- output ---------------------------------------------------------------- */

static int push_token(lurn_tokens *t, size_t off, size_t len, lurn_status *st) {
  if (len == 0) return LURN_OK;
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 256;
    size_t *o = realloc(t->off, cap * sizeof *o);
    if (!o) return lurn_fail(st, LURN_ENOMEM, "tokenize: out of memory");
    t->off = o;
    size_t *l = realloc(t->len, cap * sizeof *l);
    if (!l) return lurn_fail(st, LURN_ENOMEM, "tokenize: out of memory");
    t->len = l;
    t->cap = cap;
  }
  t->off[t->n] = off;
  t->len[t->n] = len;
  t->n++;
  return LURN_OK;
}

/* Append cp (lower-cased if asked; a BAD byte as the raw byte b). */
static void put_cp(lurn_tokens *t, uint32_t cp, unsigned char b, int lo) {
  if (cp == BAD) { t->buf[t->buf_len++] = (char)b; return; }
  t->buf_len += encode(lo ? lower(cp) : cp, t->buf + t->buf_len);
}

static int ieq(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((a[i] | 0x20) != b[i]) return 0;
  return 1;
}

/* A clitic suffix after an apostrophe: s re ve ll d m (any case); its
 * length, or 0. */
static size_t clitic_len(const char *s, size_t n) {
  if (n == 1 && ((s[0] | 0x20) == 's' || (s[0] | 0x20) == 'd' || (s[0] | 0x20) == 'm')) return 1;
  if (n == 2 && (ieq(s, "re", 2) || ieq(s, "ve", 2) || ieq(s, "ll", 2))) return 2;
  return 0;
}

/* The word just written at buf[start..buf_len): push it, split into stem
 * and clitic when it ends in n't or 's 're 've 'll 'd 'm. */
static int push_word(lurn_tokens *t, size_t start, lurn_status *st) {
  const char *w = t->buf + start;
  size_t n = t->buf_len - start;
  if (n > 3 && ieq(w + n - 3, "n't", 3))
    return push_token(t, start, n - 3, st) || push_token(t, start + n - 3, 3, st);
  for (size_t k = n; k-- > 1;) {
    if (w[k] != '\'') continue;
    if (clitic_len(w + k + 1, n - k - 1))
      return push_token(t, start, k, st) || push_token(t, start + k, n - k, st);
    break;
  }
  return push_token(t, start, n, st);
}

static int is_wordish(int c) { return c == C_WORD || c == C_DIGIT; }

static int isspace_ascii(char c) { return (unsigned char)c <= 0x20; }

/* C_WORD / C_DIGIT for ASCII letters and digits, 0 for the rest. */
static const unsigned char ascii_alnum[128] = {
  ['0'] = C_DIGIT, ['1'] = C_DIGIT, ['2'] = C_DIGIT, ['3'] = C_DIGIT, ['4'] = C_DIGIT,
  ['5'] = C_DIGIT, ['6'] = C_DIGIT, ['7'] = C_DIGIT, ['8'] = C_DIGIT, ['9'] = C_DIGIT,
  ['A'] = C_WORD, ['B'] = C_WORD, ['C'] = C_WORD, ['D'] = C_WORD, ['E'] = C_WORD, ['F'] = C_WORD,
  ['G'] = C_WORD, ['H'] = C_WORD, ['I'] = C_WORD, ['J'] = C_WORD, ['K'] = C_WORD, ['L'] = C_WORD,
  ['M'] = C_WORD, ['N'] = C_WORD, ['O'] = C_WORD, ['P'] = C_WORD, ['Q'] = C_WORD, ['R'] = C_WORD,
  ['S'] = C_WORD, ['T'] = C_WORD, ['U'] = C_WORD, ['V'] = C_WORD, ['W'] = C_WORD, ['X'] = C_WORD,
  ['Y'] = C_WORD, ['Z'] = C_WORD,
  ['a'] = C_WORD, ['b'] = C_WORD, ['c'] = C_WORD, ['d'] = C_WORD, ['e'] = C_WORD, ['f'] = C_WORD,
  ['g'] = C_WORD, ['h'] = C_WORD, ['i'] = C_WORD, ['j'] = C_WORD, ['k'] = C_WORD, ['l'] = C_WORD,
  ['m'] = C_WORD, ['n'] = C_WORD, ['o'] = C_WORD, ['p'] = C_WORD, ['q'] = C_WORD, ['r'] = C_WORD,
  ['s'] = C_WORD, ['t'] = C_WORD, ['u'] = C_WORD, ['v'] = C_WORD, ['w'] = C_WORD, ['x'] = C_WORD,
  ['y'] = C_WORD, ['z'] = C_WORD,
};

/* The class of the code point at s[i..n) (C_SPACE at the end). */
static int class_at(const char *s, size_t n, size_t i, uint32_t *cp) {
  if (i >= n) { *cp = ' '; return C_SPACE; }
  decode((const unsigned char *)s + i, n - i, cp);
  if (*cp == '<' && html_break(s + i, n - i)) return C_SPACE;
  return classify(*cp);
}

/* c is one of the bytes of set (never NUL). */
static int in_set(char c, const char *set) { return c != 0 && strchr(set, c) != NULL; }

/* Length of an emoticon at s[i..n), or 0: eyes : ; =, an optional nose - o ' ^,
 * then a mouth ) ( ] [ D P p O o / \ | * 3 > < { }, repeated or not (":)))"),
 * or a heart "<3"; standing alone, after the start or whitespace and before
 * the end, whitespace or . , ! ? ; */
static size_t emoticon(const char *s, size_t n, size_t i) {
  static const char mouths[] = ")(][DPpOo/\\|*3><{}";
  if (i > 0 && !isspace_ascii(s[i - 1])) return 0;
  size_t j = i;
  if (j + 1 < n && s[j] == '<' && s[j + 1] == '3') {
    j += 2;
  } else {
    if (j >= n || !in_set(s[j], ":;=")) return 0;
    j++;
    if (j + 1 < n && in_set(s[j], "-o'^") && in_set(s[j + 1], mouths)) j++;
    if (j >= n || !in_set(s[j], mouths)) return 0;
    char mouth = s[j];
    while (j < n && s[j] == mouth) j++;
  }
  if (j < n && !isspace_ascii(s[j]) && !in_set(s[j], ".,!?;")) return 0;
  return j - i;
}

static int tokenize_words(lurn_tokens *t, const char *s, size_t n, int lo, lurn_status *st) {
  size_t i = 0;
  while (i < n) {
    if ((unsigned char)s[i] <= 0x20) { i++; continue; }   /* fast path: ASCII space */
    uint32_t cp;
    size_t cl = decode((const unsigned char *)s + i, n - i, &cp);
    if (cp == '<') {
      size_t br = html_break(s + i, n - i);
      if (br) { i += br; continue; }
    }
    int c = classify(cp);
    if (c == C_SPACE) { i += cl; continue; }

    if (is_wordish(c)) {
      size_t start = t->buf_len;
      int prev = c;
      put_cp(t, cp, (unsigned char)s[i], lo);
      i += cl;
      while (i < n) {
        unsigned char b = (unsigned char)s[i];
        /* fast path: an ASCII letter or digit (most of any English text) */
        if (b < 0x80 && ascii_alnum[b]) {
          t->buf[t->buf_len++] = (char)(lo && b >= 'A' && b <= 'Z' ? b + 32 : b);
          prev = ascii_alnum[b];
          i++;
          continue;
        }
        uint32_t nc;
        size_t nl = decode((const unsigned char *)s + i, n - i, &nc);
        int k = (nc == '<' && html_break(s + i, n - i)) ? C_SPACE : classify(nc);
        if (is_wordish(k)) {
          put_cp(t, nc, (unsigned char)s[i], lo);
          prev = k;
          i += nl;
          continue;
        }
        /* a joiner stays inside the word only between two word characters */
        int joins = 0;
        uint32_t after;
        int ak = class_at(s, n, i + nl, &after);
        if ((k == C_APOS || k == C_HYPHEN) && is_wordish(ak)) joins = 1;
        if ((nc == '.' || nc == ',' || nc == '/' || nc == ':') && prev == C_DIGIT && ak == C_DIGIT)
          joins = 1;
        if (!joins) break;
        if (k == C_APOS) t->buf[t->buf_len++] = '\'';
        else put_cp(t, nc, (unsigned char)s[i], lo);
        prev = k;
        i += nl;
      }
      if (push_word(t, start, st)) return st ? st->code : LURN_ENOMEM;
      continue;
    }

    if (c == C_APOS) {
      /* a clitic standing alone: 's, 're, ... followed by a non-word */
      size_t j = i + cl, m = 0;
      while (j + m < n && m < 3 && (((unsigned char)s[j + m] | 0x20) >= 'a') &&
             (((unsigned char)s[j + m] | 0x20) <= 'z'))
        m++;
      uint32_t after;
      if (m > 0 && clitic_len(s + j, m) && !is_wordish(class_at(s, n, j + m, &after))) {
        size_t start = t->buf_len;
        t->buf[t->buf_len++] = '\'';
        for (size_t k = 0; k < m; k++) {
          char b = s[j + k];
          t->buf[t->buf_len++] = (char)(lo && b >= 'A' && b <= 'Z' ? b + 32 : b);
        }
        if (push_token(t, start, t->buf_len - start, st)) return st ? st->code : LURN_ENOMEM;
        i = j + m;
        continue;
      }
    }

    /* an ASCII emoticon standing alone is one token: it carries sentiment */
    size_t em = emoticon(s, n, i);
    if (em) {
      size_t start = t->buf_len;
      for (size_t k = 0; k < em; k++) {
        char b = s[i + k];
        t->buf[t->buf_len++] = (char)(lo && b >= 'A' && b <= 'Z' ? b + 32 : b);
      }
      if (push_token(t, start, em, st)) return st ? st->code : LURN_ENOMEM;
      i += em;
      continue;
    }

    /* punctuation: a run of the same character is one token */
    size_t start = t->buf_len;
    uint32_t first = cp;
    while (i < n) {
      uint32_t nc;
      size_t nl = decode((const unsigned char *)s + i, n - i, &nc);
      if (nc != first) break;
      if (classify(nc) == C_APOS) t->buf[t->buf_len++] = '\'';
      else put_cp(t, nc, (unsigned char)s[i], lo);
      i += nl;
    }
    if (push_token(t, start, t->buf_len - start, st)) return st ? st->code : LURN_ENOMEM;
  }
  return LURN_OK;
}

static int tokenize_chars(lurn_tokens *t, const char *s, size_t n, int lo, lurn_status *st) {
  size_t i = 0;
  int space = 0;
  while (i < n) {
    uint32_t cp;
    size_t cl = decode((const unsigned char *)s + i, n - i, &cp);
    size_t br = cp == '<' ? html_break(s + i, n - i) : 0;
    if (br || (cp != BAD && classify(cp) == C_SPACE)) {
      space = 1;
      i += br ? br : cl;
      continue;
    }
    if (space && t->n > 0) {
      t->buf[t->buf_len++] = ' ';
      if (push_token(t, t->buf_len - 1, 1, st)) return st ? st->code : LURN_ENOMEM;
    }
    space = 0;
    size_t start = t->buf_len;
    put_cp(t, cp, (unsigned char)s[i], lo);
    if (push_token(t, start, t->buf_len - start, st)) return st ? st->code : LURN_ENOMEM;
    i += cl;
  }
  return LURN_OK;
}

int lurn_tokenize(lurn_tokens *out, const char *s, size_t n, const lurn_tok_opts *o,
                  lurn_status *st) {
  if (o->kind != LURN_TOK_WORD && o->kind != LURN_TOK_CHAR)
    return lurn_fail(st, LURN_EARG, "tokenize: unknown tokenizer kind %d", (int)o->kind);
  out->n = 0;
  out->buf_len = 0;
  /* output bytes <= input bytes (see the file header), plus slack */
  if (out->buf_cap < n + 8) {
    char *b = realloc(out->buf, n + 8);
    if (!b) return lurn_fail(st, LURN_ENOMEM, "tokenize: out of memory (%zu bytes of text)", n);
    out->buf = b;
    out->buf_cap = n + 8;
  }
  int lo = o->lower != 0;
  return o->kind == LURN_TOK_WORD ? tokenize_words(out, s, n, lo, st)
                                  : tokenize_chars(out, s, n, lo, st);
}

void lurn_tokens_free(lurn_tokens *t) {
  free(t->buf);
  free(t->off);
  free(t->len);
  memset(t, 0, sizeof *t);
}

/* ---- string map ------------------------------------------------------------- */

/* FNV-1a, 64-bit: tokens are short, and it needs no alignment. */
static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 0x100000001b3u; }
  return h;
}

/* The slot index holding s, or the empty slot where it would go. */
static size_t find_slot(const lurn_strmap *m, const char *s, size_t n, uint64_t h) {
  size_t mask = m->nslot - 1, i = (size_t)h & mask;
  for (;;) {
    uint32_t k = m->slot[i];
    if (k == 0) return i;
    const struct lurn_strmap_entry *e = &m->e[k - 1];
    if (e->hash == h && e->len == n && memcmp(m->keys + e->off, s, n) == 0) return i;
    i = (i + 1) & mask;
  }
}

int64_t *lurn_strmap_get(const lurn_strmap *m, const char *s, size_t n) {
  if (m->nslot == 0) return NULL;
  uint32_t k = m->slot[find_slot(m, s, n, hash_bytes(s, n))];
  return k ? &m->e[k - 1].value : NULL;
}

static int grow_slots(lurn_strmap *m, lurn_status *st) {
  size_t nslot = m->nslot ? 2 * m->nslot : 1024;
  uint32_t *slot = calloc(nslot, sizeof *slot);
  if (!slot) return lurn_fail(st, LURN_ENOMEM, "string map: out of memory");
  free(m->slot);
  m->slot = slot;
  m->nslot = nslot;
  for (size_t j = 0; j < m->n; j++) {
    size_t i = (size_t)m->e[j].hash & (nslot - 1);
    while (slot[i]) i = (i + 1) & (nslot - 1);
    slot[i] = (uint32_t)(j + 1);
  }
  return LURN_OK;
}

int64_t *lurn_strmap_put(lurn_strmap *m, const char *s, size_t n, int *created, lurn_status *st) {
  *created = 0;
  /* keep the load at most 1/2 so probes stay short */
  if (2 * (m->n + 1) > m->nslot) {
    if (m->n + 1 >= UINT32_MAX) { lurn_fail(st, LURN_ENOMEM, "string map: too many keys"); return NULL; }
    if (grow_slots(m, st)) return NULL;
  }
  uint64_t h = hash_bytes(s, n);
  size_t i = find_slot(m, s, n, h);
  if (m->slot[i]) return &m->e[m->slot[i] - 1].value;
  if (m->n == m->cap) {
    size_t cap = m->cap ? 2 * m->cap : 512;
    struct lurn_strmap_entry *e = realloc(m->e, cap * sizeof *e);
    if (!e) { lurn_fail(st, LURN_ENOMEM, "string map: out of memory"); return NULL; }
    m->e = e;
    m->cap = cap;
  }
  if (m->keys_len + n > m->keys_cap) {
    size_t cap = m->keys_cap ? 2 * m->keys_cap : 4096;
    while (cap < m->keys_len + n) cap *= 2;
    char *k = realloc(m->keys, cap);
    if (!k) { lurn_fail(st, LURN_ENOMEM, "string map: out of memory"); return NULL; }
    m->keys = k;
    m->keys_cap = cap;
  }
  if (n) memcpy(m->keys + m->keys_len, s, n);
  m->e[m->n] = (struct lurn_strmap_entry){ m->keys_len, n, h, 0 };
  m->keys_len += n;
  m->slot[i] = (uint32_t)(++m->n);
  *created = 1;
  return &m->e[m->n - 1].value;
}

void lurn_strmap_free(lurn_strmap *m) {
  free(m->keys);
  free(m->e);
  free(m->slot);
  memset(m, 0, sizeof *m);
}

/* ---- features and counting -------------------------------------------------- */

int lurn_features(const lurn_tokens *t, int ngrams, lurn_tok_kind kind, char **gram,
                  size_t *gram_cap, lurn_feature_fn fn, void *ud, lurn_status *st) {
  size_t n = t->n;
  for (size_t i = 0; i < n; i++) {
    int r = fn(ud, t->buf + t->off[i], t->len[i]);
    if (r) return r;
  }
  for (int k = 2; k <= ngrams; k++) {
    for (size_t i = 0; i + (size_t)k <= n; i++) {
      size_t need = 0;
      for (int j = 0; j < k; j++) need += t->len[i + j] + 1;
      if (need > *gram_cap) {
        char *g = realloc(*gram, need);
        if (!g) return lurn_fail(st, LURN_ENOMEM, "tokenize: out of memory (an n-gram of %zu bytes)", need);
        *gram = g;
        *gram_cap = need;
      }
      size_t m = 0;
      for (int j = 0; j < k; j++) {
        if (j > 0 && kind == LURN_TOK_WORD) (*gram)[m++] = ' ';
        memcpy(*gram + m, t->buf + t->off[i + j], t->len[i + j]);
        m += t->len[i + j];
      }
      int r = fn(ud, *gram, m);
      if (r) return r;
    }
  }
  return LURN_OK;
}

void lurn_text_records_free(lurn_text_records *r) {
  free(r->ids);
  free(r->doc_end);
  memset(r, 0, sizeof *r);
}

static int rec_push(lurn_text_records *r, uint32_t id) {
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 1 << 14;
    uint32_t *p = realloc(r->ids, cap * sizeof *p);
    if (!p) return LURN_ENOMEM;
    r->ids = p;
    r->cap = cap;
  }
  r->ids[r->n++] = id;
  return LURN_OK;
}

static int rec_end_doc(lurn_text_records *r) {
  if (r->ndocs == r->docs_cap) {
    size_t cap = r->docs_cap ? 2 * r->docs_cap : 1024;
    size_t *p = realloc(r->doc_end, cap * sizeof *p);
    if (!p) return LURN_ENOMEM;
    r->doc_end = p;
    r->docs_cap = cap;
  }
  r->doc_end[r->ndocs++] = r->n;
  return LURN_OK;
}

typedef struct { lurn_strmap *m; lurn_text_records *rec; lurn_status *st; size_t counted; } count_ctx;

static int count_one(void *ud, const char *p, size_t n) {
  count_ctx *c = ud;
  int created;
  int64_t *v = lurn_strmap_put(c->m, p, n, &created, c->st);
  if (!v) return LURN_ENOMEM;
  *v += 1;
  c->counted++;
  if (!c->rec) return LURN_OK;
  /* the entry number of the value slot just returned */
  const struct lurn_strmap_entry *e =
    (const struct lurn_strmap_entry *)((const char *)v - offsetof(struct lurn_strmap_entry, value));
  if (rec_push(c->rec, (uint32_t)(e - c->m->e)))
    return lurn_fail(c->st, LURN_ENOMEM, "count: out of memory (recording %zu tokens)", c->rec->n);
  return LURN_OK;
}

/* Count texts[d0..d1) into m (and rec) on this thread. */
static int count_range(lurn_strmap *m, lurn_text_records *rec, const char *const *texts,
                       const size_t *lens, size_t d0, size_t d1, const lurn_tok_opts *o,
                       int ngrams, size_t *counted, lurn_status *st) {
  lurn_tokens t = { 0 };
  char *gram = NULL;
  size_t gram_cap = 0;
  count_ctx c = { m, rec, st, 0 };
  int r = LURN_OK;
  for (size_t d = d0; d < d1 && r == LURN_OK; d++) {
    r = lurn_tokenize(&t, texts[d], lens[d], o, st);
    if (r == LURN_OK) r = lurn_features(&t, ngrams, o->kind, &gram, &gram_cap, count_one, &c, st);
    if (r == LURN_OK && rec && rec_end_doc(rec))
      r = lurn_fail(st, LURN_ENOMEM, "count: out of memory (recording %zu texts)", rec->ndocs);
  }
  lurn_tokens_free(&t);
  free(gram);
  *counted += c.counted;
  return r;
}

/* Add part p's map and records into m and rec: every entry's count, and the
 * records with p's entry numbers turned into m's. */
static int merge_part(lurn_strmap *m, lurn_text_records *rec, const lurn_strmap *pm,
                      const lurn_text_records *pr, lurn_status *st) {
  uint32_t *remap = malloc((pm->n ? pm->n : 1) * sizeof *remap);
  if (!remap) return lurn_fail(st, LURN_ENOMEM, "count: out of memory (merging)");
  for (size_t i = 0; i < pm->n; i++) {
    int created;
    int64_t *v = lurn_strmap_put(m, pm->keys + pm->e[i].off, pm->e[i].len, &created, st);
    if (!v) { free(remap); return LURN_ENOMEM; }
    *v += pm->e[i].value;
    const struct lurn_strmap_entry *e =
      (const struct lurn_strmap_entry *)((const char *)v - offsetof(struct lurn_strmap_entry, value));
    remap[i] = (uint32_t)(e - m->e);
  }
  if (rec) {
    size_t base = rec->n;
    for (size_t j = 0; j < pr->n; j++) {
      if (rec_push(rec, remap[pr->ids[j]])) { free(remap); return lurn_fail(st, LURN_ENOMEM, "count: out of memory (merging)"); }
    }
    for (size_t d = 0; d < pr->ndocs; d++) {
      if (rec_end_doc(rec)) { free(remap); return lurn_fail(st, LURN_ENOMEM, "count: out of memory (merging)"); }
      rec->doc_end[rec->ndocs - 1] = base + pr->doc_end[d];
    }
  }
  free(remap);
  return LURN_OK;
}

int lurn_count_texts(lurn_strmap *m, lurn_text_records *rec, const char *const *texts,
                     const size_t *lens, size_t ndocs, const lurn_tok_opts *o, int ngrams,
                     int nthreads, size_t *counted, lurn_status *st) {
  size_t dummy = 0;
  if (!counted) counted = &dummy;
  if (ngrams < 1) return lurn_fail(st, LURN_EARG, "count: ngrams must be >= 1, got %d", ngrams);
  /* below ~64 texts a second thread costs more than it saves */
  if (nthreads > (int)(ndocs / 64)) nthreads = (int)(ndocs / 64);
  if (nthreads <= 1) return count_range(m, rec, texts, lens, 0, ndocs, o, ngrams, counted, st);

  lurn_strmap *pm = calloc((size_t)nthreads, sizeof *pm);
  lurn_text_records *pr = calloc((size_t)nthreads, sizeof *pr);
  lurn_status *ps = calloc((size_t)nthreads, sizeof *ps);
  int *pr_code = calloc((size_t)nthreads, sizeof *pr_code);
  size_t *pc = calloc((size_t)nthreads, sizeof *pc);
  int r = LURN_OK;
  if (!pm || !pr || !ps || !pr_code || !pc) {
    r = lurn_fail(st, LURN_ENOMEM, "count: out of memory");
  } else {
    #pragma omp parallel for num_threads(nthreads) schedule(static, 1)
    for (int p = 0; p < nthreads; p++) {
      size_t d0 = ndocs * (size_t)p / (size_t)nthreads, d1 = ndocs * (size_t)(p + 1) / (size_t)nthreads;
      pr_code[p] = count_range(&pm[p], rec ? &pr[p] : NULL, texts, lens, d0, d1, o, ngrams, &pc[p], &ps[p]);
    }
    for (int p = 0; p < nthreads && r == LURN_OK; p++) {
      if (pr_code[p]) { if (st) *st = ps[p]; r = pr_code[p]; break; }
      r = merge_part(m, rec, &pm[p], &pr[p], st);
      *counted += pc[p];
    }
  }
  for (int p = 0; pm && pr && p < nthreads; p++) {
    lurn_strmap_free(&pm[p]);
    lurn_text_records_free(&pr[p]);
  }
  free(pm); free(pr); free(ps); free(pr_code); free(pc);
  return r;
}
