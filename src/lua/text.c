/*
 * text.c — Lua binding of the tokenizers (src/core/text.h) and the few
 * file-system calls the readers need. lua/lurn/text/ builds on these.
 *
 *   text_tokenize(s, kind, lower, ngrams) -> {tok, ...}
 *   text_map([{tok, ...} [, base]]) -> map    a TextMap: token -> integer in C,
 *                         tokens[i] -> base + i - 1 (base 0: a vocabulary's ids)
 *   map:count(s, kind, lower, ngrams [, record]) -> n    map[tok] += 1 for every
 *                         feature; record = true keeps the text for map:recorded
 *   map:count_texts({s, ...}, kind, lower, ngrams [, record]) -> n
 *                         map:count of every text, on lurn's threads
 *   map:recorded(vocab_map, unk) -> {{id, ...}, ...}, n_unk    the recorded texts
 *                         as ids of vocab_map (a TextMap), without tokenizing again
 *   map:encode(s, kind, lower, ngrams, unk) -> {id, ...}, n_unk   map[tok], or unk
 *   map:top(min_count [, max_n]) -> {tok, ...}   keys by value (a count), largest
 *                         first, ties in byte order; at least min_count
 *   map:get(tok) -> value | nil;  map:totable() -> {tok = value};  #map
 *   text_listdir(path) -> {name, ...} | nil, message     (no "." and "..")
 *
 * kind is "word" or "char"; lower a boolean; ngrams >= 1: after the tokens
 * come every run of 2..ngrams consecutive tokens, joined by one space (word)
 * or nothing (char). Counting and encoding look the C tokens up in a C map,
 * so a corpus never becomes Lua strings: only the distinct tokens do.
 */
/***
 * @submodule lurn.core
 */

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "blas.h"   /* lurn_get_threads */
#include "text.h"

#define SCRATCH_MT "lurn.text_scratch"
#define TEXTMAP_MT "lurn.TextMap"

/* The buffers reused by every call (one per Lua state, an upvalue). */
typedef struct scratch {
  lurn_tokens toks;
  char *gram;            /* an n-gram being joined */
  size_t gram_cap;
} scratch;

static int scratch_gc(lua_State *L) {
  scratch *s = luaL_checkudata(L, 1, SCRATCH_MT);
  lurn_tokens_free(&s->toks);
  free(s->gram);
  s->gram = NULL;
  s->gram_cap = 0;
  return 0;
}

static scratch *get_scratch(lua_State *L) {
  return lua_touserdata(L, lua_upvalueindex(1));
}

/* Options at a..a+2 (kind, lower, ngrams). */
static void text_opts(lua_State *L, int a, lurn_tok_opts *o, int *ngrams) {
  static const char *const kinds[] = { "word", "char", NULL };
  o->kind = (lurn_tok_kind)luaL_checkoption(L, a, "word", kinds);
  o->lower = lua_toboolean(L, a + 1);
  lua_Integer g = luaL_optinteger(L, a + 2, 1);
  luaL_argcheck(L, g >= 1 && g <= 16, a + 2, "ngrams must be in 1..16");
  *ngrams = (int)g;
}

/* Arguments a..a+3 (text, kind, lower, ngrams): tokenize into the scratch. */
static scratch *tokenize_args(lua_State *L, int a, int *ngrams, int *kind) {
  size_t n;
  const char *s = luaL_checklstring(L, a, &n);
  lurn_tok_opts o;
  text_opts(L, a + 1, &o, ngrams);
  *kind = (int)o.kind;
  scratch *sc = get_scratch(L);
  lurn_status st = { 0, "" };
  if (lurn_tokenize(&sc->toks, s, n, &o, &st) != LURN_OK) lurn_raise(L, &st);
  return sc;
}

/* Calls `each` for every feature of the scratch's tokens (tokens, then
 * n-grams of 2..ngrams; lurn_features) with its 1-based number. Returns the
 * number of features. `each` may raise: lurn_features holds nothing but the
 * scratch's own join buffer. */
typedef void (*each_fn)(lua_State *L, lua_Integer k, const char *p, size_t n, void *ud);
typedef struct { lua_State *L; lua_Integer k; each_fn each; void *ud; } feature_ctx;

static int feature_cb(void *ud, const char *p, size_t n) {
  feature_ctx *c = ud;
  c->each(c->L, ++c->k, p, n, c->ud);
  return 0;
}

static lua_Integer for_features(lua_State *L, scratch *sc, int ngrams, int kind, each_fn each,
                                void *ud) {
  feature_ctx c = { L, 0, each, ud };
  lurn_status st = { 0, "" };
  if (lurn_features(&sc->toks, ngrams, (lurn_tok_kind)kind, &sc->gram, &sc->gram_cap, feature_cb,
                    &c, &st))
    lurn_raise(L, &st);
  return c.k;
}

static void each_store(lua_State *L, lua_Integer k, const char *p, size_t n, void *ud) {
  (void)ud;
  lua_pushlstring(L, p, n);
  lua_rawseti(L, -2, k);
}

/*** lurn.core.text_tokenize(s, kind, lower, ngrams) — the tokens of s, then its n-grams of 2..ngrams tokens (lurn.text.Tokenizer's kernel).
 * kind "word" (data.tokenize's rules) or "char"; n-grams are joined by one
 * space (word) or nothing (char).
 * @function text_tokenize
 * @tparam string s
 * @tparam string kind
 * @tparam boolean lower
 * @tparam integer ngrams >= 1
 * @treturn {string,...}
 * @usage local toks = lurn.core.text_tokenize("Not bad", "word", true, 2)   -- not, bad, "not bad"
 */
static int l_tokenize(lua_State *L) {
  int ngrams, kind;
  scratch *sc = tokenize_args(L, 1, &ngrams, &kind);
  lua_createtable(L, (int)sc->toks.n, 0);
  for_features(L, sc, ngrams, kind, each_store, NULL);
  return 1;
}

/* ---- TextMap: token -> integer, in C ------------------------------------------ */

/* The userdata: the map, and the texts counted with record = true as the
 * entry numbers of their tokens (so they need no second tokenization). */
typedef struct textmap {
  lurn_strmap m;          /* first: a textmap * is a lurn_strmap * */
  lurn_text_records rec;
} textmap;

static textmap *checktm(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, TEXTMAP_MT);
}

static lurn_strmap *checkmap(lua_State *L, int idx) {
  return &checktm(L, idx)->m;
}

static int map_gc(lua_State *L) {
  textmap *tm = checktm(L, 1);
  lurn_strmap_free(&tm->m);
  lurn_text_records_free(&tm->rec);
  return 0;
}

/*** lurn.core.text_map([tokens [, base]]) — a TextMap: token -> integer kept in C (counts, or a vocabulary's ids).
 * tokens[i] maps to base + i - 1 (base 0). Methods: map:count(s, kind, lower,
 * ngrams [, record]), map:count_texts(texts, ...) on lurn's threads,
 * map:encode(s, kind, lower, ngrams, unk) -> ids, n_unk, map:recorded(vocab_map,
 * unk), map:top(min_count [, max_n]), map:get(tok), map:totable(), #map.
 * @function text_map
 * @tparam[opt] {string,...} tokens
 * @tparam[opt] integer base
 * @treturn userdata the map
 * @usage local counts = lurn.core.text_map()
 * counts:count("a b a", "word", true, 1); print(counts:get("a"))   -- 2
 */
static int l_map(lua_State *L) {
  int has_list = !lua_isnoneornil(L, 1);
  if (has_list) luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer base = luaL_optinteger(L, 2, 0);
  lua_settop(L, 2);
  textmap *tm = lua_newuserdatauv(L, sizeof *tm, 0);
  memset(tm, 0, sizeof *tm);
  luaL_setmetatable(L, TEXTMAP_MT);
  lurn_strmap *m = &tm->m;
  if (has_list) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
    /* ids run base .. base + n - 1: refuse a base whose last id overflows */
    if (base < -(LUA_MAXINTEGER / 2) || base > LUA_MAXINTEGER / 2 || n > LUA_MAXINTEGER / 2)
      return luaL_error(L, "text_map: base %I out of range (|base| <= 2^62)", (LUAI_UACINT)base);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, 1, i);
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      if (!s) return luaL_error(L, "text_map: entry %d is a %s, not a string", (int)i, luaL_typename(L, -1));
      lurn_status st = { 0, "" };
      int created;
      int64_t *v = lurn_strmap_put(m, s, len, &created, &st);
      if (!v) return lurn_raise(L, &st);
      if (created) *v = base + i - 1;   /* a repeated token keeps its first id */
      lua_pop(L, 1);
    }
  }
  return 1;
}

/* Count texts[0..n) into the map on up to `threads` threads; push the number
 * of features counted. */
static int count_into(lua_State *L, textmap *tm, const char *const *texts, const size_t *lens,
                      size_t n, int threads) {
  lurn_tok_opts o;
  int ngrams;
  text_opts(L, 3, &o, &ngrams);
  int record = lua_toboolean(L, 6);
  size_t counted = 0;
  lurn_status st = { 0, "" };
  if (lurn_count_texts(&tm->m, record ? &tm->rec : NULL, texts, lens, n, &o, ngrams, threads,
                       &counted, &st))
    return lurn_raise(L, &st);
  lua_pushinteger(L, (lua_Integer)counted);
  return 1;
}

/* map:count(s, kind, lower, ngrams [, record]) -> n: map[tok] += 1 for every
 * feature; record = true also keeps the text's tokens for map:recorded. */
static int map_count(lua_State *L) {
  textmap *tm = checktm(L, 1);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  return count_into(L, tm, &s, &len, 1, 1);
}

/* map:count_texts({s, ...}, kind, lower, ngrams [, record]) -> n: map:count
 * of every text of the list, on lurn's threads (the same counts and records
 * at every thread count). */
static int map_count_texts(lua_State *L) {
  textmap *tm = checktm(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
  /* the strings stay alive in the list while C reads them: no Lua code runs
   * until counting ends */
  const char **texts = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *texts, 0);
  size_t *lens = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *lens, 0);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, 2, i) != LUA_TSTRING)
      return luaL_error(L, "count_texts: text %d is a %s, not a string", (int)i, luaL_typename(L, -1));
    texts[i - 1] = lua_tolstring(L, -1, &lens[i - 1]);
    lua_pop(L, 1);
  }
  return count_into(L, tm, texts, lens, (size_t)n, lurn_get_threads());
}

/* map:recorded(vocab_map, unk) -> {{id, ...}, ...}, n_unk: the texts counted
 * with record = true, in order, as ids of vocab_map (another TextMap: token
 * -> id), unk for tokens it lacks. The records are released. */
static int map_recorded(lua_State *L) {
  textmap *tm = checktm(L, 1);
  const lurn_strmap *vocab = checkmap(L, 2);
  lua_Integer unk = luaL_checkinteger(L, 3);
  const lurn_strmap *m = &tm->m;
  /* entry number -> vocabulary id, looked up once per distinct token */
  lua_Integer *ids = lua_newuserdatauv(L, (m->n ? m->n : 1) * sizeof *ids, 0);
  for (size_t i = 0; i < m->n; i++) {
    const int64_t *v = lurn_strmap_get(vocab, m->keys + m->e[i].off, m->e[i].len);
    ids[i] = v ? *v : unk;
  }
  lua_Integer nunk = 0;
  const lurn_text_records *r = &tm->rec;
  lua_createtable(L, (int)r->ndocs, 0);
  size_t start = 0;
  for (size_t d = 0; d < r->ndocs; d++) {
    size_t end = r->doc_end[d];
    lua_createtable(L, (int)(end - start), 0);
    for (size_t j = start; j < end; j++) {
      lua_Integer id = ids[r->ids[j]];
      nunk += id == unk;
      lua_pushinteger(L, id);
      lua_rawseti(L, -2, (lua_Integer)(j - start + 1));
    }
    lua_rawseti(L, -2, (lua_Integer)d + 1);
    start = end;
  }
  lurn_text_records_free(&tm->rec);
  lua_pushinteger(L, nunk);
  return 2;
}

typedef struct { const lurn_strmap *m; lua_Integer unk, nunk; } encode_ud;

static void each_encode(lua_State *L, lua_Integer k, const char *p, size_t n, void *ud) {
  encode_ud *e = ud;
  const int64_t *v = lurn_strmap_get(e->m, p, n);
  if (!v) e->nunk++;
  lua_pushinteger(L, v ? *v : e->unk);
  lua_rawseti(L, -2, k);
}

/* map:encode(s, kind, lower, ngrams, unk) -> {map[tok] or unk, ...}, number of unks */
static int map_encode(lua_State *L) {
  encode_ud e = { checkmap(L, 1), luaL_checkinteger(L, 6), 0 };
  int ngrams, kind;
  scratch *sc = tokenize_args(L, 2, &ngrams, &kind);
  lua_createtable(L, (int)sc->toks.n, 0);
  for_features(L, sc, ngrams, kind, each_encode, &e);
  lua_pushinteger(L, e.nunk);
  return 2;
}

/* Most frequent first; equal counts in byte order of the token. */
static const lurn_strmap *sort_map;
static int by_count(const void *a, const void *b) {
  const struct lurn_strmap_entry *x = &sort_map->e[*(const uint32_t *)a];
  const struct lurn_strmap_entry *y = &sort_map->e[*(const uint32_t *)b];
  if (x->value != y->value) return x->value > y->value ? -1 : 1;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(sort_map->keys + x->off, sort_map->keys + y->off, n);
  if (c) return c;
  return x->len < y->len ? -1 : (x->len > y->len);
}

/* map:top(min_count [, max_n]) -> {tok, ...}: the keys whose value (a
 * count) is >= min_count, most frequent first, at most max_n of them.
 * (qsort with a file-level comparator context: one Lua state calls it at a
 * time, and nothing in the comparator can raise.) */
static int map_top(lua_State *L) {
  lurn_strmap *m = checkmap(L, 1);
  lua_Integer min = luaL_optinteger(L, 2, 1);
  lua_Integer max = luaL_optinteger(L, 3, -1);
  uint32_t *idx = lua_newuserdatauv(L, (m->n ? m->n : 1) * sizeof *idx, 0);
  size_t k = 0;
  for (size_t i = 0; i < m->n; i++)
    if (m->e[i].value >= min) idx[k++] = (uint32_t)i;
  sort_map = m;
  qsort(idx, k, sizeof *idx, by_count);
  sort_map = NULL;
  if (max >= 0 && (size_t)max < k) k = (size_t)max;
  lua_createtable(L, (int)k, 0);
  for (size_t i = 0; i < k; i++) {
    const struct lurn_strmap_entry *e = &m->e[idx[i]];
    lua_pushlstring(L, m->keys + e->off, e->len);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* map:get(tok) -> value | nil */
static int map_get(lua_State *L) {
  lurn_strmap *m = checkmap(L, 1);
  size_t n;
  const char *s = luaL_checklstring(L, 2, &n);
  const int64_t *v = lurn_strmap_get(m, s, n);
  if (v) lua_pushinteger(L, *v); else lua_pushnil(L);
  return 1;
}

/* map:totable() -> {tok = value, ...} */
static int map_totable(lua_State *L) {
  lurn_strmap *m = checkmap(L, 1);
  lua_createtable(L, 0, (int)m->n);
  for (size_t i = 0; i < m->n; i++) {
    lua_pushlstring(L, m->keys + m->e[i].off, m->e[i].len);
    lua_pushinteger(L, m->e[i].value);
    lua_rawset(L, -3);
  }
  return 1;
}

static int map_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)checkmap(L, 1)->n);
  return 1;
}

static int map_tostring(lua_State *L) {
  lua_pushfstring(L, "lurn.TextMap(%d keys)", (int)checkmap(L, 1)->n);
  return 1;
}

/*** lurn.core.text_listdir(path) — the names in a directory (no "." and ".."), or nil and a message (lurn.text's readers).
 * @function text_listdir
 * @tparam string path
 * @treturn table|nil
 * @usage local names = lurn.core.text_listdir("data")
 */
static int l_listdir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *d = opendir(path);
  if (!d) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  lua_newtable(L);
  lua_Integer k = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++k);
  }
  closedir(d);
  return 1;
}

void lurn_open_text(lua_State *L) {
  static const luaL_Reg fns[] = {
    { "text_tokenize", l_tokenize },
    { NULL, NULL },
  };
  static const luaL_Reg map_methods[] = {
    { "count", map_count }, { "count_texts", map_count_texts }, { "encode", map_encode },
    { "get", map_get },
    { "totable", map_totable }, { "top", map_top }, { "recorded", map_recorded },
    { NULL, NULL },
  };
  static const luaL_Reg map_meta[] = {
    { "__gc", map_gc }, { "__close", map_gc }, { "__len", map_len },
    { "__tostring", map_tostring }, { NULL, NULL },
  };
  static const luaL_Reg scratch_meta[] = { { "__gc", scratch_gc }, { NULL, NULL } };
  scratch *sc = lua_newuserdatauv(L, sizeof *sc, 0);
  memset(sc, 0, sizeof *sc);
  luaL_newmetatable(L, SCRATCH_MT);
  luaL_setfuncs(L, scratch_meta, 0);
  lua_setmetatable(L, -2);
  /* the map methods and text_tokenize share the scratch upvalue */
  luaL_newmetatable(L, TEXTMAP_MT);
  luaL_setfuncs(L, map_meta, 0);
  lua_newtable(L);
  lua_pushvalue(L, -3);
  luaL_setfuncs(L, map_methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_setfuncs(L, fns, 1);
  lua_pushcfunction(L, l_map);
  lua_setfield(L, -2, "text_map");
  lua_pushcfunction(L, l_listdir);
  lua_setfield(L, -2, "text_listdir");
}
