/*
 * checkpoint.c — Lua bindings of the checkpoint file (src/core/checkpoint.h)
 * and a JSON codec for Lua values, built on cJSON.
 *
 *   core.save_checkpoint(path, tensors [, metadata])
 *       tensors   {name = tensor, ...}: float32 or int32, any strides (a
 *                 non-contiguous view is copied first); written in name
 *                 order, so the same content always gives the same bytes
 *       metadata  {key = string, ...}: free-form strings (use json_encode for
 *                 structured data); keys starting with "lurn." are reserved
 *       Written to "<path>.tmp.<pid>", fsynced and renamed over path; on any
 *       failure the previous file at path is left as it was.
 *
 *   core.load_checkpoint(path [, opts]) -> tensors, metadata, info
 *       tensors   {name = tensor}: F32 -> float32, I32 and U8 -> int32
 *       metadata  {key = string}: the user entries (no "lurn." keys)
 *       info      {version = n, names = {name, ...} in file order}
 *       opts      {safetensors = true} also accepts a plain safetensors file
 *                 (written by PyTorch or numpy) that has no lurn checksums.
 *       Every corruption is an error that starts with the path and says
 *       which: "m.ckpt: truncated (...)", "...: checksum mismatch in data
 *       section", "...: unsupported format version 7", "...: not a lurn
 *       checkpoint (...)".
 *
 *   core.json_encode(value) -> string
 *       nil, booleans, numbers, strings and tables of them. A table whose
 *       keys are exactly 1..n is an array, one whose keys are all strings an
 *       object (keys sorted, so output is deterministic); an empty table is
 *       {}. Integers print as integers; floats in the shortest form that
 *       reads back to the same double (never more than %.17g), with ".0"
 *       added to integral floats. Functions, userdata, threads, cycles, NaN
 *       and Inf, integers beyond +-2^53 (JSON readers store doubles), NUL
 *       bytes and invalid UTF-8 in strings, and mixed keys are errors
 *       naming the key path, e.g.
 *       "json_encode: cannot encode a function at value.optim.schedule".
 *   core.json_decode(string) -> value
 *       Objects and arrays become tables, integral numbers within +-2^53
 *       become integers, null becomes core.json_null. Invalid JSON is an
 *       error with the byte, line and column; so are invalid UTF-8, a
 *       \u0000 escape, nesting deeper than 200 and a key given twice in
 *       one object (never a silent choice of one of them).
 *   core.json_null   the light userdata standing for JSON null (encodes back
 *                    to null)
 *
 *   Run-directory helpers for lurn.train (which removes only files it can
 *   prove it wrote: docs/security.md):
 *   core.write_file_atomic(path, text)  "<path>.tmp.<pid>", fsync, rename, dir fsync
 *   core.file_kind(path)   "file", "directory", "symlink", "fifo", "socket",
 *                          "device" (lstat: a final symlink is not followed), or nil
 *   core.list_dir(path)    {name, ...} or nil, message
 *   core.pid_alive(pid)    false only when no such process exists
 *   core.realpath(path)    canonical absolute path, or nil, message
 */
/***
 * @submodule lurn.core
 */

#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind.h"
#include "checkpoint.h"

/* ========================================================================= */
/*  save / load                                                               */
/* ========================================================================= */

typedef struct {
  const char *name;
  int idx;        /* index into the contiguous copies */
} named;

static int cmp_named(const void *a, const void *b) {
  return strcmp(((const named *)a)->name, ((const named *)b)->name);
}

static int cmp_meta(const void *a, const void *b) {
  return strcmp(((const lurn_ck_meta *)a)->key, ((const lurn_ck_meta *)b)->key);
}

/*** lurn.core.save_checkpoint(path, tensors [, metadata]) — write tensors to a lurn checkpoint file (safetensors with checksums), atomically.
 * Tensors are written in name order (the same content gives the same bytes);
 * non-contiguous views are copied first. Metadata values are strings; keys
 * starting with "lurn." are reserved. Written to "<path>.tmp.<pid>", fsynced
 * and renamed: on failure the old file at path stays. lurn.checkpoint.save
 * writes whole training states on top of this.
 * @function save_checkpoint
 * @tparam string path
 * @tparam table tensors name -> float32 or int32 tensor
 * @tparam[opt] table metadata key -> string
 * @usage lurn.core.save_checkpoint("w.ckpt", { weight = lurn.randn(2, 3) }, { note = "try" })
 */
static int l_save_checkpoint(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  if (!lua_isnoneornil(L, 3)) luaL_checktype(L, 3, LUA_TTABLE);
  lua_settop(L, 3);

  // Count and check the entries first.
  int nt = 0, nm = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      luaL_error(L, "save_checkpoint: tensor names must be strings, got a %s key",
                 luaL_typename(L, -2));
    lurn_tensor *t = lurn_totensor(L, -1);
    if (!t)
      luaL_error(L, "save_checkpoint: '%s' is a %s, not a tensor", lua_tostring(L, -2),
                 luaL_typename(L, -1));
    if (!t->storage) luaL_error(L, "save_checkpoint: tensor '%s' is released", lua_tostring(L, -2));
    size_t kl;
    const char *k = lua_tolstring(L, -2, &kl);
    if (strlen(k) != kl) luaL_error(L, "save_checkpoint: tensor name '%s...' holds a NUL byte", k);
    nt++;
    lua_pop(L, 1);
  }
  if (!lua_isnil(L, 3)) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "save_checkpoint: metadata keys must be strings, got a %s key",
                   luaL_typename(L, -2));
      if (lua_type(L, -1) != LUA_TSTRING)
        luaL_error(L, "save_checkpoint: metadata '%s' is a %s, not a string (use json_encode "
                   "for structured values)", lua_tostring(L, -2), luaL_typename(L, -1));
      size_t kl, vl;
      const char *k = lua_tolstring(L, -2, &kl), *v = lua_tolstring(L, -1, &vl);
      if (strlen(k) != kl) luaL_error(L, "save_checkpoint: metadata key '%s...' holds a NUL byte", k);
      if (strlen(v) != vl) luaL_error(L, "save_checkpoint: metadata '%s' holds a NUL byte", k);
      nm++;
      lua_pop(L, 1);
    }
  }

  // Scratch, owned by userdata so that an error frees it: contiguous copies
  // (each a tensor userdata, kept in a table), and the entry arrays.
  lua_createtable(L, nt, 0);   // 4: contiguous tensors
  const int keep = 4;
  named *order = lua_newuserdatauv(L, sizeof *order * (size_t)(nt + 1), 0);
  lurn_ck_tensor *ents = lua_newuserdatauv(L, sizeof *ents * (size_t)(nt + 1), 0);
  lurn_ck_meta *meta = lua_newuserdatauv(L, sizeof *meta * (size_t)(nm + 1), 0);

  int i = 0;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    /* checked again: an allocation below may run a finalizer that changes
     * the table or releases a tensor */
    if (i >= nt) luaL_error(L, "save_checkpoint: the tensor table changed while saving");
    lurn_tensor *t = lurn_argtensor(L, -1, "save_checkpoint", "a tensor of the table");
    lurn_tensor *c = lurn_newtensor(L);
    lurn_status st = {0};
    if (lurn_contiguous(c, t, &st)) lurn_raise(L, &st);
    lua_rawseti(L, keep, i + 1);
    order[i].name = lua_tostring(L, -2);  // the key stays alive in the table
    order[i].idx = i;
    i++;
    lua_pop(L, 1);
  }
  qsort(order, (size_t)nt, sizeof *order, cmp_named);
  for (i = 0; i < nt; i++) {
    lua_rawgeti(L, keep, order[i].idx + 1);
    const lurn_tensor *c = lurn_checktensor(L, -1);
    lua_pop(L, 1);
    memset(&ents[i], 0, sizeof ents[i]);
    ents[i].name = order[i].name;
    ents[i].dtype = c->dtype == LURN_INT32 ? LURN_CK_I32 : LURN_CK_F32;
    ents[i].ndim = c->ndim;
    memcpy(ents[i].shape, c->size, sizeof c->size);
    ents[i].data = (const char *)c->storage->data + c->offset * 4;
  }
  i = 0;
  if (nm) {
    lua_pushnil(L);
    while (lua_next(L, 3)) {
      meta[i].key = lua_tostring(L, -2);
      meta[i].value = lua_tostring(L, -1);
      i++;
      lua_pop(L, 1);
    }
    // Key order too, not lua_next's (which varies with the string hash seed
    // of each process): the same content must give the same bytes.
    qsort(meta, (size_t)nm, sizeof *meta, cmp_meta);
  }
  lurn_status st = {0};
  if (lurn_checkpoint_save(path, ents, nt, meta, nm, &st)) lurn_raise(L, &st);
  return 0;
}

/* The loaded checkpoint lives in a userdata with __gc until its tensors are
 * copied out, so an error half-way frees it. */
#define CKBOX_MT "lurn.checkpoint_box"

static int ckbox_gc(lua_State *L) {
  lurn_checkpoint_free(luaL_checkudata(L, 1, CKBOX_MT));
  return 0;
}

/*** lurn.core.load_checkpoint(path [, opts]) — read a checkpoint: tensors, metadata and info {version =, names = {in file order}}.
 * Every corruption is an error starting with the path and saying which
 * (truncated, checksum mismatch, unsupported version, not a lurn checkpoint).
 * opts.safetensors = true also accepts a plain safetensors file (PyTorch's).
 * @function load_checkpoint
 * @tparam string path
 * @tparam[opt] table opts {safetensors = false}
 * @treturn table tensors name -> tensor (F32 -> float32; I32, U8 -> int32)
 * @treturn table metadata key -> string (no "lurn." keys)
 * @treturn table info
 * @usage lurn.core.save_checkpoint("w.ckpt", { weight = lurn.randn(2, 3) })
 * local tensors, meta = lurn.core.load_checkpoint("w.ckpt")   -- tensors.weight [2,3]
 */
static int l_load_checkpoint(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int flags = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "safetensors");
    if (lua_toboolean(L, -1)) flags |= LURN_CK_ALLOW_PLAIN;
    lua_pop(L, 1);
  }
  lua_settop(L, 2);
  lurn_checkpoint *ck = lua_newuserdatauv(L, sizeof *ck, 0);  // 3
  memset(ck, 0, sizeof *ck);
  luaL_setmetatable(L, CKBOX_MT);
  lurn_status st = {0};
  if (lurn_checkpoint_load(path, flags, ck, &st)) lurn_raise(L, &st);

  lua_createtable(L, 0, ck->ntensors);  // 4: tensors
  lua_createtable(L, 0, ck->nmeta);     // 5: metadata
  lua_createtable(L, 0, 2);             // 6: info
  lua_createtable(L, ck->ntensors, 0);  // 7: names in file order
  for (int i = 0; i < ck->ntensors; i++) {
    const lurn_ck_tensor *e = &ck->tensors[i];
    lurn_tensor *t = lurn_newtensor(L);
    lurn_dtype dt = e->dtype == LURN_CK_F32 ? LURN_FLOAT32 : LURN_INT32;
    if (lurn_tensor_new(t, dt, e->ndim, e->shape, &st)) lurn_raise(L, &st);
    int64_t n = lurn_numel(t);
    if (e->dtype == LURN_CK_U8) {
      const unsigned char *src = e->data;  // [n]
      int32_t *dst = lurn_i32(t);          // [n]
      for (int64_t k = 0; k < n; k++) dst[k] = src[k];
    } else if (n > 0) {
      memcpy(t->storage->data, e->data, (size_t)n * 4);  // may be unaligned in the file
    }
    lua_setfield(L, 4, e->name);
    lua_pushstring(L, e->name);
    lua_rawseti(L, 7, i + 1);
  }
  lua_setfield(L, 6, "names");
  lua_pushinteger(L, ck->version);
  lua_setfield(L, 6, "version");
  for (int i = 0; i < ck->nmeta; i++) {
    lua_pushstring(L, ck->meta[i].value);
    lua_setfield(L, 5, ck->meta[i].key);
  }
  lurn_checkpoint_free(ck);
  return 3;
}

/* ========================================================================= */
/*  JSON                                                                      */
/* ========================================================================= */

/* A growable byte buffer owned by a userdata (freed by __gc if an encode
 * error unwinds), since luaL_Buffer cannot be used while the encoder walks
 * tables on the stack. */
#define JSONBUF_MT "lurn.json_buffer"
#define JSON_MAX_DEPTH 200
/* 2^53: above it not every integer is a double, and JSON readers hold doubles. */
#define JSON_MAX_INT 9007199254740992LL

typedef struct {
  char *p;
  size_t n, cap;
  char path[256];   /* the key path being encoded, for messages */
  size_t plen;
  int depth;
} jbuf;

static int jbuf_gc(lua_State *L) {
  jbuf *b = luaL_checkudata(L, 1, JSONBUF_MT);
  free(b->p);
  b->p = NULL;
  return 0;
}

static void jput(lua_State *L, jbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) luaL_error(L, "json_encode: out of memory");
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

#define JPUTS(L, b, lit) jput(L, b, lit, sizeof lit - 1)

static int json_fail(lua_State *L, jbuf *b, const char *what) {
  return luaL_error(L, "json_encode: %s at %s", what, b->path);
}

/* Append ".key", "[\"odd key\"]" or "[i]" to the path; returns the old length. */
static size_t path_push_key(jbuf *b, const char *k, size_t kl) {
  size_t old = b->plen;
  int ident = kl > 0 && kl < 64 && !(k[0] >= '0' && k[0] <= '9');
  for (size_t i = 0; ident && i < kl; i++) {
    char c = k[i];
    ident = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  }
  int w = ident ? snprintf(b->path + old, sizeof b->path - old, ".%.*s", (int)kl, k)
                : snprintf(b->path + old, sizeof b->path - old, "[\"%.*s\"]", (int)(kl > 40 ? 40 : kl), k);
  b->plen = old + (size_t)w < sizeof b->path ? old + (size_t)w : sizeof b->path - 1;
  return old;
}

static size_t path_push_index(jbuf *b, lua_Integer i) {
  size_t old = b->plen;
  int w = snprintf(b->path + old, sizeof b->path - old, "[%lld]", (long long)i);
  b->plen = old + (size_t)w < sizeof b->path ? old + (size_t)w : sizeof b->path - 1;
  return old;
}

static void path_pop(jbuf *b, size_t old) {
  b->plen = old;
  b->path[old] = 0;
}

static void encode_string(lua_State *L, jbuf *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  // The decoder (and every checkpoint reader) refuses invalid UTF-8: fail
  // when saving, not when the file is read back.
  if (!lurn_utf8_valid(s, n)) json_fail(L, b, "cannot encode a string that is not valid UTF-8");
  JPUTS(L, b, "\"");
  size_t run = 0;  // start of the current run of bytes needing no escape
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    if (c == 0) json_fail(L, b, "cannot encode a string holding a NUL byte");
    jput(L, b, s + run, i - run);
    run = i + 1;
    char esc[7] = {'\\', 0};
    switch (c) {
      case '"': esc[1] = '"'; break;
      case '\\': esc[1] = '\\'; break;
      case '\n': esc[1] = 'n'; break;
      case '\t': esc[1] = 't'; break;
      case '\r': esc[1] = 'r'; break;
      case '\b': esc[1] = 'b'; break;
      case '\f': esc[1] = 'f'; break;
      default:
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 15];
    }
    jput(L, b, esc, strlen(esc));
  }
  jput(L, b, s + run, n - run);
  JPUTS(L, b, "\"");
}

static void encode_number(lua_State *L, jbuf *b, int idx) {
  char s[40];
  if (lua_isinteger(L, idx)) {
    lua_Integer v = lua_tointeger(L, idx);
    if (v > JSON_MAX_INT || v < -JSON_MAX_INT)
      json_fail(L, b, "integer beyond 2^53 (store it as a string)");
    snprintf(s, sizeof s, "%lld", (long long)v);
  } else {
    double d = lua_tonumber(L, idx);
    if (!isfinite(d)) json_fail(L, b, isnan(d) ? "cannot encode NaN" : "cannot encode inf");
    // The shortest of %.15g..%.17g that reads back to the same double.
    for (int prec = 15; prec <= 17; prec++) {
      snprintf(s, sizeof s, "%.*g", prec, d);
      if (strtod(s, NULL) == d) break;
    }
    if (!strpbrk(s, ".eE")) strcat(s, ".0");  // stays a float for Python readers
  }
  jput(L, b, s, strlen(s));
}

typedef struct {
  const char *s;
  size_t n;
} skey;

static int cmp_skey(const void *x, const void *y) {
  const skey *a = x, *b = y;
  int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
  return c ? c : (a->n > b->n) - (a->n < b->n);
}

static void encode_value(lua_State *L, jbuf *b, int idx, int seen);

static void encode_table(lua_State *L, jbuf *b, int idx, int seen) {
  if (b->depth >= JSON_MAX_DEPTH) json_fail(L, b, "tables nested too deeply");
  lua_pushvalue(L, idx);
  if (lua_rawget(L, seen) != LUA_TNIL) json_fail(L, b, "cannot encode a cycle (table seen again)");
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, seen);
  luaL_checkstack(L, 8, "json_encode: nesting");
  b->depth++;

  // Classify the keys: all strings -> object; exactly 1..n -> array.
  lua_Integer nint = 0, maxint = 0, nstr = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      nstr++;
    } else if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1) {
      nint++;
      if (lua_tointeger(L, -1) > maxint) maxint = lua_tointeger(L, -1);
    } else {
      const char *k = luaL_tolstring(L, -1, NULL);
      char what[160];
      snprintf(what, sizeof what, "cannot encode a table with key %.40s (keys must be strings "
               "or 1..n)", k);
      json_fail(L, b, what);
    }
  }
  if (nint && nstr) json_fail(L, b, "cannot encode a table mixing array and string keys");
  if (nint && maxint != nint) json_fail(L, b, "cannot encode an array with holes");

  if (nint) {
    JPUTS(L, b, "[");
    for (lua_Integer i = 1; i <= nint; i++) {
      if (i > 1) JPUTS(L, b, ",");
      lua_rawgeti(L, idx, i);
      size_t old = path_push_index(b, i);
      encode_value(L, b, lua_gettop(L), seen);
      path_pop(b, old);
      lua_pop(L, 1);
    }
    JPUTS(L, b, "]");
  } else {
    // Sorted keys: Lua's traversal order changes from run to run, the
    // output must not.
    skey *keys = lua_newuserdatauv(L, sizeof *keys * (size_t)(nstr + 1), 0);
    int kidx = lua_gettop(L);
    lua_Integer k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      keys[k].s = lua_tolstring(L, -1, &keys[k].n);  // kept alive by the table
      k++;
    }
    qsort(keys, (size_t)nstr, sizeof *keys, cmp_skey);
    JPUTS(L, b, "{");
    for (k = 0; k < nstr; k++) {
      if (k) JPUTS(L, b, ",");
      size_t old = path_push_key(b, keys[k].s, keys[k].n);
      if (memchr(keys[k].s, 0, keys[k].n)) json_fail(L, b, "cannot encode a key holding a NUL byte");
      encode_string(L, b, keys[k].s, keys[k].n);
      JPUTS(L, b, ":");
      lua_pushlstring(L, keys[k].s, keys[k].n);
      lua_rawget(L, idx);
      encode_value(L, b, lua_gettop(L), seen);
      lua_pop(L, 1);
      path_pop(b, old);
    }
    JPUTS(L, b, "}");
    lua_remove(L, kidx);
  }
  b->depth--;
  lua_pushvalue(L, idx);
  lua_pushnil(L);
  lua_rawset(L, seen);  // a table may appear twice side by side; only cycles fail
}

static void encode_value(lua_State *L, jbuf *b, int idx, int seen) {
  switch (lua_type(L, idx)) {
    case LUA_TNIL: JPUTS(L, b, "null"); break;
    case LUA_TBOOLEAN:
      if (lua_toboolean(L, idx)) JPUTS(L, b, "true");
      else JPUTS(L, b, "false");
      break;
    case LUA_TNUMBER: encode_number(L, b, idx); break;
    case LUA_TSTRING: {
      size_t n;
      const char *s = lua_tolstring(L, idx, &n);
      encode_string(L, b, s, n);
      break;
    }
    case LUA_TTABLE: encode_table(L, b, idx, seen); break;
    case LUA_TLIGHTUSERDATA:
      if (lua_touserdata(L, idx) == NULL) {
        JPUTS(L, b, "null");
        break;
      }
      /* fall through */
    default: {
      char what[64];
      snprintf(what, sizeof what, "cannot encode a %s", luaL_typename(L, idx));
      json_fail(L, b, what);
    }
  }
}

/*** lurn.core.json_encode(value) — JSON text of nil, booleans, numbers, strings and tables of them.
 * Keys 1..n make an array, string keys an object (sorted: deterministic
 * output); {} is an empty object. Floats print in the shortest form that reads
 * back to the same double. Functions, cycles, NaN/Inf, integers beyond 2^53,
 * invalid UTF-8 and mixed keys are errors naming the key path.
 * @function json_encode
 * @param value
 * @treturn string
 * @usage print(lurn.core.json_encode { lr = 0.1, layers = {16, 32} })   -- {"layers":[16,32],"lr":0.1}
 */
static int l_json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  jbuf *b = lua_newuserdatauv(L, sizeof *b, 0);  // 2
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, JSONBUF_MT);
  strcpy(b->path, "value");
  b->plen = 5;
  lua_newtable(L);  // 3: tables on the current path
  encode_value(L, b, 1, 3);
  lua_pushlstring(L, b->p ? b->p : "", b->n);
  free(b->p);
  b->p = NULL;
  return 1;
}

/* cJSON tree -> Lua value (pushed). */
static void push_json(lua_State *L, const cJSON *j) {
  luaL_checkstack(L, 4, "json_decode: nesting");
  if (cJSON_IsObject(j)) {
    lua_createtable(L, 0, cJSON_GetArraySize(j));
    for (const cJSON *c = j->child; c; c = c->next) {
      // A key given twice is ambiguous (which one wins differs between
      // readers): an error, not a silent choice.
      if (lua_getfield(L, -1, c->string) != LUA_TNIL)
        luaL_error(L, "json_decode: duplicate key \"%s\"", c->string);
      lua_pop(L, 1);
      push_json(L, c);
      lua_setfield(L, -2, c->string);
    }
  } else if (cJSON_IsArray(j)) {
    lua_createtable(L, cJSON_GetArraySize(j), 0);
    lua_Integer i = 1;
    for (const cJSON *c = j->child; c; c = c->next) {
      push_json(L, c);
      lua_rawseti(L, -2, i++);
    }
  } else if (cJSON_IsString(j)) {
    lua_pushstring(L, j->valuestring);
  } else if (cJSON_IsNumber(j)) {
    double d = j->valuedouble;
    if (d == floor(d) && fabs(d) <= (double)JSON_MAX_INT) lua_pushinteger(L, (lua_Integer)d);
    else lua_pushnumber(L, d);
  } else if (cJSON_IsBool(j)) {
    lua_pushboolean(L, cJSON_IsTrue(j));
  } else {
    lua_pushlightuserdata(L, NULL);  // core.json_null
  }
}

/* The parsed tree, owned by a userdata so that a Lua error while converting
 * (out of memory) still frees it. */
#define JSONTREE_MT "lurn.json_tree"

static int jtree_gc(lua_State *L) {
  cJSON **t = luaL_checkudata(L, 1, JSONTREE_MT);
  cJSON_Delete(*t);
  *t = NULL;
  return 0;
}

/*** lurn.core.json_decode(text) — the Lua value of JSON text (null becomes lurn.core.json_null).
 * Integral numbers within 2^53 become integers. Invalid JSON is an error with
 * the byte, line and column; so are invalid UTF-8, a \u0000 escape, nesting
 * deeper than 200 and a key given twice.
 * @function json_decode
 * @tparam string text
 * @return the value
 * @usage local t = lurn.core.json_decode '{"a": [1, 2.5, null]}'   -- t.a[3] == lurn.core.json_null
 */
static int l_json_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  cJSON **box = lua_newuserdatauv(L, sizeof *box, 0);
  *box = NULL;
  luaL_setmetatable(L, JSONTREE_MT);
  // Before cJSON: valid UTF-8, no \u0000 (a C string would be cut there),
  // nesting bounded (src/core/checkpoint.h).
  lurn_json_problem pb = {0, NULL};
  if (lurn_json_scan(s, n, JSON_MAX_DEPTH, INT64_MAX, INT64_MAX, &pb) != 0) {
    int line = 1, col = 1;
    for (size_t i = 0; i < pb.pos && i < n; i++) {
      if (s[i] == '\n') line++, col = 1;
      else col++;
    }
    return luaL_error(L, "json_decode: invalid JSON at byte %d (line %d, column %d): %s",
                      (int)pb.pos + 1, line, col, pb.what);
  }
  const char *end = NULL;
  *box = cJSON_ParseWithLengthOpts(s, n, &end, 0);
  size_t pos = end && end >= s ? (size_t)(end - s) : 0;
  if (*box) {
    // only whitespace may follow the value
    while (pos < n && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\t' || s[pos] == '\r')) pos++;
  }
  if (!*box || pos < n) {
    int line = 1, col = 1;
    for (size_t i = 0; i < pos && i < n; i++) {
      if (s[i] == '\n') line++, col = 1;
      else col++;
    }
    return luaL_error(L, "json_decode: invalid JSON at byte %d (line %d, column %d)%s",
                      (int)pos + 1, line, col, *box ? ": text after the value" : "");
  }
  push_json(L, *box);
  cJSON_Delete(*box);
  *box = NULL;
  return 1;
}

/* ========================================================================= */
/*  Run-directory helpers (lurn.train: pointer file, pruning, stale temps)     */
/* ========================================================================= */

/*** lurn.core.write_file_atomic(path, text) — replace a file whole or not at all (temp file, fsync, rename, directory fsync).
 * Internal: lurn.train's `latest` pointer file uses it.
 * @function write_file_atomic
 * @tparam string path
 * @tparam string text
 * @usage lurn.core.write_file_atomic("latest", "step-00000010.ckpt\n")
 */
static int l_write_file_atomic(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *text = luaL_checklstring(L, 2, &n);
  lurn_status st = {0};
  if (lurn_file_write_atomic(path, text, n, &st)) lurn_raise(L, &st);
  return 0;
}

/* What is at path, without following a final symlink: "file", "directory",
 * "symlink", "fifo", "socket", "device", or nil if nothing is there. */
/*** lurn.core.file_kind(path) — "file", "directory", "symlink", "fifo", "socket" or "device" (a final symlink is not followed), nil when nothing is there.
 * @function file_kind
 * @tparam string path
 * @treturn string|nil
 * @usage if lurn.core.file_kind("runs") ~= "directory" then lurn.mkdir("runs") end
 */
static int l_file_kind(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat sb;
  if (lstat(path, &sb) != 0) {
    lua_pushnil(L);
    return 1;
  }
  const char *k = S_ISREG(sb.st_mode)    ? "file"
                  : S_ISDIR(sb.st_mode)  ? "directory"
                  : S_ISLNK(sb.st_mode)  ? "symlink"
                  : S_ISFIFO(sb.st_mode) ? "fifo"
                  : S_ISSOCK(sb.st_mode) ? "socket"
                                         : "device";
  lua_pushstring(L, k);
  return 1;
}

/* The names in a directory (no "." and ".."), unsorted; nil, message if it
 * cannot be read. */
/*** lurn.core.list_dir(path) — the names in a directory (no "." and ".."), unsorted; nil and a message when it cannot be read.
 * @function list_dir
 * @tparam string path
 * @treturn table|nil
 * @usage for _, name in ipairs(lurn.core.list_dir(".") or {}) do print(name) end
 */
static int l_list_dir(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  DIR *d = opendir(path);
  if (!d) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: cannot list (%s)", path, strerror(errno));
    return 2;
  }
  lua_newtable(L);
  lua_Integer i = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    lua_pushstring(L, e->d_name);
    lua_rawseti(L, -2, ++i);
  }
  closedir(d);
  return 1;
}

/* Is process pid alive? true, false (no such process), or true when it
 * cannot be told (another user's process): callers delete only on false. */
/*** lurn.core.pid_alive(pid) — false only when no such process exists (true when it cannot be told).
 * Internal: lurn.train removes a dead process's temp files only on false.
 * @function pid_alive
 * @tparam integer pid
 * @treturn boolean
 * @usage print(lurn.core.pid_alive(1))
 */
static int l_pid_alive(lua_State *L) {
  lua_Integer pid = luaL_checkinteger(L, 1);
  luaL_argcheck(L, pid > 0 && pid <= INT32_MAX, 1, "not a process id");
  lua_pushboolean(L, kill((pid_t)pid, 0) == 0 || errno != ESRCH);
  return 1;
}

/*** lurn.core.realpath(path) — the canonical absolute path (symlinks resolved), or nil and a message.
 * @function realpath
 * @tparam string path
 * @treturn string|nil
 * @usage print(lurn.core.realpath("."))
 */
static int l_realpath(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char *r = realpath(path, NULL);
  if (!r) {
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", path, strerror(errno));
    return 2;
  }
  lua_pushstring(L, r);
  free(r);
  return 1;
}

static const luaL_Reg checkpoint_funcs[] = {
    {"write_file_atomic", l_write_file_atomic},
    {"file_kind", l_file_kind},
    {"list_dir", l_list_dir},
    {"pid_alive", l_pid_alive},
    {"realpath", l_realpath},
    {"save_checkpoint", l_save_checkpoint},
    {"load_checkpoint", l_load_checkpoint},
    {"json_encode", l_json_encode},
    {"json_decode", l_json_decode},
    {NULL, NULL},
};

void lurn_open_checkpoint(lua_State *L) {
  static const luaL_Reg ckbox_meta[] = {{"__gc", ckbox_gc}, {NULL, NULL}};
  static const luaL_Reg jbuf_meta[] = {{"__gc", jbuf_gc}, {NULL, NULL}};
  static const luaL_Reg jtree_meta[] = {{"__gc", jtree_gc}, {NULL, NULL}};
  lurn_createmeta(L, CKBOX_MT, NULL, ckbox_meta);
  lurn_createmeta(L, JSONBUF_MT, NULL, jbuf_meta);
  lurn_createmeta(L, JSONTREE_MT, NULL, jtree_meta);
  luaL_setfuncs(L, checkpoint_funcs, 0);
  lua_pushlightuserdata(L, NULL);
  lua_setfield(L, -2, "json_null");
}
