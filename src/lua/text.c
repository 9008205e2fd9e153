/*
 * text.c — Lua binding of the tokenizers (src/core/text.h) and the few
 * file-system calls the readers need. lua/lurn/text/ builds on these.
 *
 *   text_tokenize(s, kind, lower, ngrams) -> {tok, ...}
 *   text_count(s, kind, lower, ngrams, counts) -> n
 *                         counts[tok] += 1 for every token; n tokens seen
 *   text_encode(s, kind, lower, ngrams, stoi, unk) -> {id, ...}
 *                         stoi[tok], or unk for a token not in stoi
 *   text_listdir(path) -> {name, ...} | nil, message     (no "." and "..")
 *
 * kind is "word" or "char"; lower a boolean; ngrams >= 1: after the tokens
 * come every run of 2..ngrams consecutive tokens, joined by one space (word)
 * or nothing (char). Counting and encoding run on the C tokens directly, so
 * a corpus is never held as a Lua table of token strings.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "text.h"

#define SCRATCH_MT "lurn.text_scratch"

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

/* Arguments 1..4 (text, kind, lower, ngrams): tokenize into the scratch. */
static scratch *tokenize_args(lua_State *L, int *ngrams, int *kind) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  static const char *const kinds[] = { "word", "char", NULL };
  lurn_tok_opts o;
  o.kind = (lurn_tok_kind)luaL_checkoption(L, 2, "word", kinds);
  o.lower = lua_toboolean(L, 3);
  lua_Integer g = luaL_optinteger(L, 4, 1);
  luaL_argcheck(L, g >= 1 && g <= 16, 4, "ngrams must be in 1..16");
  *ngrams = (int)g;
  *kind = (int)o.kind;
  scratch *sc = get_scratch(L);
  lurn_status st = { 0, "" };
  if (lurn_tokenize(&sc->toks, s, n, &o, &st) != LURN_OK) lurn_raise(L, &st);
  return sc;
}

/* Push token i, or the n-gram of k tokens starting at i. */
static void push_gram(lua_State *L, scratch *sc, size_t i, int k, int kind) {
  const lurn_tokens *t = &sc->toks;
  if (k == 1) {
    lua_pushlstring(L, t->buf + t->off[i], t->len[i]);
    return;
  }
  size_t need = 0;
  for (int j = 0; j < k; j++) need += t->len[i + j] + 1;
  if (need > sc->gram_cap) {
    char *g = realloc(sc->gram, need);
    if (!g) luaL_error(L, "tokenize: out of memory");
    sc->gram = g;
    sc->gram_cap = need;
  }
  size_t m = 0;
  for (int j = 0; j < k; j++) {
    if (j > 0 && kind == LURN_TOK_WORD) sc->gram[m++] = ' ';
    memcpy(sc->gram + m, t->buf + t->off[i + j], t->len[i + j]);
    m += t->len[i + j];
  }
  lua_pushlstring(L, sc->gram, m);
}

/* Calls `each` for every feature (tokens, then n-grams) pushed on the stack;
 * each pops it. Returns the number of features. */
typedef void (*each_fn)(lua_State *L, lua_Integer k, void *ud);
static lua_Integer for_features(lua_State *L, scratch *sc, int ngrams, int kind, each_fn each,
                                void *ud) {
  lua_Integer count = 0;
  size_t n = sc->toks.n;
  for (int k = 1; k <= ngrams; k++) {
    for (size_t i = 0; i + (size_t)k <= n; i++) {
      push_gram(L, sc, i, k, kind);
      each(L, ++count, ud);
    }
  }
  return count;
}

static void each_store(lua_State *L, lua_Integer k, void *ud) {
  (void)ud;
  lua_rawseti(L, -2, k);
}

static int l_tokenize(lua_State *L) {
  int ngrams, kind;
  scratch *sc = tokenize_args(L, &ngrams, &kind);
  lua_createtable(L, (int)sc->toks.n, 0);
  for_features(L, sc, ngrams, kind, each_store, NULL);
  return 1;
}

/* counts at stack index *(int *)ud */
static void each_count(lua_State *L, lua_Integer k, void *ud) {
  (void)k;
  int counts = *(int *)ud;
  lua_pushvalue(L, -1);
  lua_rawget(L, counts);
  lua_Integer c = lua_tointeger(L, -1);   /* 0 for nil */
  lua_pop(L, 1);
  lua_pushinteger(L, c + 1);
  lua_rawset(L, counts);
}

static int l_count(lua_State *L) {
  int ngrams, kind;
  luaL_checktype(L, 5, LUA_TTABLE);
  scratch *sc = tokenize_args(L, &ngrams, &kind);
  int counts = 5;
  lua_pushinteger(L, for_features(L, sc, ngrams, kind, each_count, &counts));
  return 1;
}

typedef struct { int stoi; lua_Integer unk; } encode_ud;

static void each_encode(lua_State *L, lua_Integer k, void *ud) {
  encode_ud *e = ud;
  lua_rawget(L, e->stoi);
  int isnum;
  lua_Integer id = lua_tointegerx(L, -1, &isnum);
  lua_pop(L, 1);
  lua_pushinteger(L, isnum ? id : e->unk);
  lua_rawseti(L, -2, k);
}

static int l_encode(lua_State *L) {
  int ngrams, kind;
  luaL_checktype(L, 5, LUA_TTABLE);
  encode_ud e = { 5, luaL_checkinteger(L, 6) };
  scratch *sc = tokenize_args(L, &ngrams, &kind);
  lua_createtable(L, (int)sc->toks.n, 0);
  for_features(L, sc, ngrams, kind, each_encode, &e);
  return 1;
}

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
    { "text_count", l_count },
    { "text_encode", l_encode },
    { NULL, NULL },
  };
  static const luaL_Reg meta[] = { { "__gc", scratch_gc }, { NULL, NULL } };
  scratch *sc = lua_newuserdatauv(L, sizeof *sc, 0);
  memset(sc, 0, sizeof *sc);
  luaL_newmetatable(L, SCRATCH_MT);
  luaL_setfuncs(L, meta, 0);
  lua_setmetatable(L, -2);
  luaL_setfuncs(L, fns, 1);   /* every function shares the scratch upvalue */
  lua_pushcfunction(L, l_listdir);
  lua_setfield(L, -2, "text_listdir");
}
