/*
 * speech.c — Lua binding of the speech front end (src/core/audio.h) and of
 * CTC (src/core/ctc.h). lua/lurn/audio/ and nn.CTC build on these.
 *
 *   wav_read(path) -> samples [N] float32, rate, channels, bits
 *   wav_parse(bytes [, name]) -> the same, from a string
 *   wav_write(path, samples, rate)             16-bit mono PCM
 *   resample(samples, from, to) -> samples
 *   audio_features(samples, opts) -> [steps, dims] float32
 *       opts: rate, win, hop (required; samples), n_fft (0), preemph (0.97),
 *       n_mels (40), fmin (0), fmax (0: rate/2), n_mfcc (0: log-mel),
 *       deltas (0), normalize (false), stack (1)
 *   ctc_loss(logits [T,B,C], targets [B,S] int32, in_len [B] int32,
 *            tgt_len [B] int32 [, {blank=0, reduction="mean", zero_infinity=false}])
 *       -> loss, grad [T,B,C], losses [B]
 *       reduction "mean": the mean over samples of loss_b / max(1, tgt_len_b)
 *       (PyTorch's), "sum", "none" (loss is then the sum; grad unscaled);
 *       zero_infinity: an impossible sample counts 0 with a zero gradient
 *   ctc_greedy(scores [T,B,C] [, lengths [B] [, blank]]) -> {{label, ...}, ...}
 *   ctc_beam(logits [T,B,C], lengths|nil, blank, beam) -> {{label, ...}, ...}, {logp, ...}
 *
 * Labels are 0-based class ids, as everywhere in lurn's C layer.
 */
/***
 * @submodule lurn.core
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "audio.h"
#include "bind.h"
#include "ctc.h"

/* Push a float32 [n] tensor holding x[0..n) (n >= 1). */
static int push_samples(lua_State *L, lurn_tensor *t, const float *x, int64_t n,
                        lurn_status *st) {
  int64_t size[1] = { n };
  if (lurn_tensor_new(t, LURN_FLOAT32, 1, size, st)) return st->code;
  if (n) memcpy(lurn_f32(t), x, sizeof(float) * (size_t)n);
  (void)L;
  return LURN_OK;
}

static int push_audio(lua_State *L, lurn_tensor *t, lurn_audio *a) {
  lurn_status st = { 0, "" };
  int rc = push_samples(L, t, a->samples, a->frames, &st);
  int rate = a->rate, ch = a->channels, bits = a->bits;
  lurn_audio_free(a);
  if (rc) return lurn_raise(L, &st);
  lua_pushinteger(L, rate);
  lua_pushinteger(L, ch);
  lua_pushinteger(L, bits);
  return 4;
}

/*** lurn.core.wav_read(path) — a WAV file's samples, mixed down to mono (lurn.audio.read's kernel).
 * PCM 8-bit (unsigned) or 16-bit, 1 to 8 channels, 1 kHz to 1 MHz; a malformed
 * file is an error naming it and the problem (src/core/audio.h).
 * @function wav_read
 * @tparam string path
 * @treturn Tensor samples, float32 [N] in [-1, 1)
 * @treturn integer rate in Hz
 * @treturn integer channels in the file
 * @treturn integer bits per sample in the file
 * @usage lurn.core.wav_write("tone.wav", lurn.randn(800):mul(0.1), 8000)
 * local x, rate, channels, bits = lurn.core.wav_read("tone.wav")   -- [800], 8000, 1, 16
 */
static int l_wav_read(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lurn_tensor *t = lurn_newtensor(L);
  lurn_audio a;
  lurn_status st = { 0, "" };
  if (lurn_wav_read(&a, path, &st)) return lurn_raise(L, &st);
  return push_audio(L, t, &a);
}

/*** lurn.core.wav_parse(bytes [, name]) — lurn.core.wav_read of a file held in a string; name is used in error messages.
 * @function wav_parse
 * @tparam string bytes the whole file
 * @tparam[opt] string name
 * @treturn Tensor samples, float32 [N]
 * @treturn integer rate
 * @treturn integer channels
 * @treturn integer bits
 * @usage lurn.core.wav_write("one.wav", lurn.zeros(80), 8000)
 * local x, rate = lurn.core.wav_parse(io.open("one.wav", "rb"):read("a"), "one.wav")
 */
static int l_wav_parse(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  const char *name = luaL_optstring(L, 2, "(wav)");
  lurn_tensor *t = lurn_newtensor(L);
  lurn_audio a;
  lurn_status st = { 0, "" };
  if (lurn_wav_parse(&a, (const unsigned char *)s, n, name, &st)) return lurn_raise(L, &st);
  return push_audio(L, t, &a);
}

/* A contiguous float32 copy (or share) of the 1-D tensor at idx, in *c. */
static void checkvec(lua_State *L, int idx, const char *fname, lurn_tensor *c) {
  lurn_tensor *x = lurn_checktensor(L, idx);
  if (x->dtype != LURN_FLOAT32 || x->ndim != 1) {
    char b[64];
    luaL_error(L, "%s: samples must be a 1-D float32 tensor, got %s %s", fname,
               lurn_tensor_shape_str(x, b, sizeof b), lurn_dtype_name(x->dtype));
  }
  lurn_status st = { 0, "" };
  memset(c, 0, sizeof *c);
  if (lurn_contiguous(c, x, &st)) lurn_raise(L, &st);
}

/*** lurn.core.wav_write(path, samples, rate) — write mono samples as 16-bit PCM (clipped to [-1, 1]), through a temporary file renamed into place.
 * @function wav_write
 * @tparam string path
 * @tparam Tensor samples float32 [N]
 * @tparam integer rate in Hz
 * @usage lurn.core.wav_write("noise.wav", lurn.randn(8000):mul(0.05), 8000)
 */
static int l_wav_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_Integer rate = luaL_checkinteger(L, 3);
  luaL_argcheck(L, rate >= 1 && rate <= 1000000, 3, "rate must be in 1..1000000");
  lurn_tensor c;
  checkvec(L, 2, "wav_write", &c);
  lurn_status st = { 0, "" };
  int rc = lurn_wav_write(path, lurn_f32(&c), lurn_numel(&c), (int)rate, &st);
  lurn_tensor_release(&c);
  if (rc) return lurn_raise(L, &st);
  return 0;
}

/*** lurn.core.resample(samples, from, to) — windowed-sinc resampling from `from` Hz to `to` Hz (floor(N * to / from) samples).
 * @function resample
 * @tparam Tensor samples float32 [N]
 * @tparam integer from
 * @tparam integer to
 * @treturn Tensor float32
 * @usage local y = lurn.core.resample(lurn.randn(441), 22050, 8000)   -- [160]
 */
static int l_resample(lua_State *L) {
  lua_Integer from = luaL_checkinteger(L, 2), to = luaL_checkinteger(L, 3);
  luaL_argcheck(L, from >= 1 && from <= 1000000, 2, "rate must be in 1..1000000");
  luaL_argcheck(L, to >= 1 && to <= 1000000, 3, "rate must be in 1..1000000");
  lurn_tensor *y = lurn_newtensor(L);
  lurn_tensor c;
  checkvec(L, 1, "resample", &c);
  lurn_status st = { 0, "" };
  int64_t m = lurn_resample_length(lurn_numel(&c), (int)from, (int)to);
  int64_t size[1] = { m };
  int rc = lurn_tensor_new(y, LURN_FLOAT32, 1, size, &st);
  if (!rc) rc = lurn_resample(lurn_f32(y), lurn_f32(&c), lurn_numel(&c), (int)from, (int)to, &st);
  lurn_tensor_release(&c);
  if (rc) return lurn_raise(L, &st);
  return 1;
}

/* opts[key] as an integer, or def when absent. */
static lua_Integer int_field(lua_State *L, int idx, const char *key, lua_Integer def,
                             const char *fname) {
  int ty = lua_getfield(L, idx, key);
  lua_Integer v = def;
  if (ty != LUA_TNIL) {
    int ok;
    v = lua_tointegerx(L, -1, &ok);
    if (!ok) luaL_error(L, "%s: %s must be an integer, got %s", fname, key, luaL_typename(L, -1));
  }
  lua_pop(L, 1);
  return v;
}

static double num_field(lua_State *L, int idx, const char *key, double def, const char *fname) {
  int ty = lua_getfield(L, idx, key);
  double v = def;
  if (ty != LUA_TNIL) {
    if (ty != LUA_TNUMBER)
      luaL_error(L, "%s: %s must be a number, got %s", fname, key, luaL_typename(L, -1));
    v = lua_tonumber(L, -1);
  }
  lua_pop(L, 1);
  return v;
}

/* Unknown option keys are errors naming them (a typo must not be ignored). */
static void check_keys(lua_State *L, int idx, const char *fname, const char *const *known) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int ok = 0;
    if (lua_type(L, -2) == LUA_TSTRING) {
      const char *k = lua_tostring(L, -2);
      for (int i = 0; known[i]; i++) ok |= strcmp(k, known[i]) == 0;
    }
    if (!ok) {
      lua_pop(L, 1);
      luaL_error(L, "%s: unknown option '%s'", fname, luaL_tolstring(L, -1, NULL));
    }
    lua_pop(L, 1);
  }
}

#define INT_OPT(key, def, lo, hi) clamp_int(L, int_field(L, 2, key, def, f), key, lo, hi, f)
static int clamp_int(lua_State *L, lua_Integer v, const char *key, lua_Integer lo, lua_Integer hi,
                     const char *f) {
  if (v < lo || v > hi) luaL_error(L, "%s: %s %I outside %I..%I", f, key, (LUAI_UACINT)v,
                                   (LUAI_UACINT)lo, (LUAI_UACINT)hi);
  return (int)v;
}

/*** lurn.core.audio_features(samples, opts) — log-mel or MFCC frames (lurn.audio.features's kernel; src/core/audio.h defines them).
 * opts: rate, win, hop (samples; required), n_fft (0: the next power of two),
 * preemph (0.97), n_mels (40), fmin (0), fmax (0: rate/2), n_mfcc (0: log-mel),
 * deltas (0, 1, 2), normalize (false), stack (1); unknown keys are errors.
 * @function audio_features
 * @tparam Tensor samples float32 [N]
 * @tparam table opts
 * @treturn Tensor float32 [steps, dims]
 * @usage local f = lurn.core.audio_features(lurn.randn(4000), { rate = 8000, win = 200, hop = 80,
 *   n_mfcc = 13, deltas = 2, normalize = true })   -- [48, 39]
 */
static int l_audio_features(lua_State *L) {
  static const char *const known[] = { "rate", "win", "hop", "n_fft", "preemph", "n_mels", "fmin",
    "fmax", "n_mfcc", "deltas", "normalize", "stack", NULL };
  const char *f = "audio_features";
  luaL_checktype(L, 2, LUA_TTABLE);
  check_keys(L, 2, f, known);
  lurn_feat_opts o;
  o.rate = INT_OPT("rate", 0, 1, 1000000);
  o.win = INT_OPT("win", 0, 1, 65536);
  o.hop = INT_OPT("hop", 0, 1, 65536);
  o.n_fft = INT_OPT("n_fft", 0, 0, 65536);
  o.preemph = num_field(L, 2, "preemph", 0.97, f);
  o.n_mels = INT_OPT("n_mels", 40, 1, 256);
  o.fmin = num_field(L, 2, "fmin", 0, f);
  o.fmax = num_field(L, 2, "fmax", 0, f);
  o.n_mfcc = INT_OPT("n_mfcc", 0, 0, 256);
  o.deltas = INT_OPT("deltas", 0, 0, 2);
  lua_getfield(L, 2, "normalize");
  o.normalize = lua_toboolean(L, -1);
  lua_pop(L, 1);
  o.stack = INT_OPT("stack", 1, 1, 64);
  lurn_tensor *y = lurn_newtensor(L);
  lurn_tensor c;
  checkvec(L, 1, f, &c);
  lurn_status st = { 0, "" };
  int64_t size[2];
  int rc = lurn_audio_features_shape(&o, lurn_numel(&c), &size[0], &size[1], &st);
  if (!rc) rc = lurn_tensor_new(y, LURN_FLOAT32, 2, size, &st);
  if (!rc) rc = lurn_audio_features(lurn_f32(y), lurn_f32(&c), lurn_numel(&c), &o, &st);
  lurn_tensor_release(&c);
  if (rc) return lurn_raise(L, &st);
  return 1;
}

/* ---- CTC ---------------------------------------------------------------------- */

/* The tensor at idx, checked to be `ndim`-D of `dtype`. */
static lurn_tensor *check_kind(lua_State *L, int idx, int ndim, lurn_dtype dtype, const char *f,
                               const char *what) {
  lurn_tensor *x = lurn_argtensor(L, idx, f, what);
  if (x->dtype != dtype || x->ndim != ndim) {
    char b[64];
    luaL_error(L, "%s: %s must be a %d-D %s tensor, got %s %s", f, what, ndim,
               lurn_dtype_name(dtype), lurn_tensor_shape_str(x, b, sizeof b),
               lurn_dtype_name(x->dtype));
  }
  return x;
}

/*** lurn.core.ctc_loss(logits, targets, in_len, tgt_len [, opts]) — the CTC loss, per-sample losses and d loss / d logits (nn.CTC's kernel).
 * logits [T, B, C] float32; targets [B, S] int32 (padded); in_len, tgt_len [B]
 * int32. opts: blank (0), reduction ("mean": PyTorch's, "sum", "none"),
 * zero_infinity (false).
 * @function ctc_loss
 * @tparam Tensor logits
 * @tparam Tensor targets
 * @tparam Tensor in_len
 * @tparam Tensor tgt_len
 * @tparam[opt] table opts
 * @treturn number loss
 * @treturn Tensor grad [T, B, C]
 * @treturn Tensor losses [B]
 * @usage local loss, grad = lurn.core.ctc_loss(lurn.randn(5, 1, 3), lurn.tensor({ { 1, 2 } }, "int32"),
 *   lurn.tensor({ 5 }, "int32"), lurn.tensor({ 2 }, "int32"))
 */
static int l_ctc_loss(lua_State *L) {
  static const char *const known[] = { "blank", "reduction", "zero_infinity", NULL };
  static const char *const reds[] = { "mean", "sum", "none", NULL };
  const char *f = "ctc_loss";
  int blank = 0, red = 0, zinf = 0;
  if (!lua_isnoneornil(L, 5)) {
    luaL_checktype(L, 5, LUA_TTABLE);
    check_keys(L, 5, f, known);
    blank = (int)int_field(L, 5, "blank", 0, f);
    lua_getfield(L, 5, "reduction");
    red = luaL_checkoption(L, -1, "mean", reds);
    lua_getfield(L, 5, "zero_infinity");
    zinf = lua_toboolean(L, -1);
    lua_pop(L, 2);
  }
  lua_settop(L, 4);
  lurn_tensor *x = check_kind(L, 1, 3, LURN_FLOAT32, f, "logits");
  lurn_tensor *tg = check_kind(L, 2, 2, LURN_INT32, f, "targets");
  lurn_tensor *il = check_kind(L, 3, 1, LURN_INT32, f, "input lengths");
  lurn_tensor *tl = check_kind(L, 4, 1, LURN_INT32, f, "target lengths");
  int64_t T = x->size[0], B = x->size[1], C = x->size[2];
  if (tg->size[0] != B || il->size[0] != B || tl->size[0] != B) {
    char b1[64], b2[64], b3[64], b4[64];
    return luaL_error(L, "%s: logits %s, targets %s, input lengths %s, target lengths %s do not "
                      "agree on the batch size", f, lurn_tensor_shape_str(x, b1, 64),
                      lurn_tensor_shape_str(tg, b2, 64), lurn_tensor_shape_str(il, b3, 64),
                      lurn_tensor_shape_str(tl, b4, 64));
  }
  /* outputs and scratch first (the GC owns them), then no Lua call until the
   * contiguous copies (C values) are released */
  lurn_tensor *grad = lurn_newtensor(L);
  lurn_tensor *losses = lurn_newtensor(L);
  double *loss = lua_newuserdatauv(L, sizeof(double) * 2 * (size_t)(B ? B : 1), 0);
  double *scale = loss + (B ? B : 1);
  lurn_checklive(L, x, f, "logits");
  lurn_checklive(L, tg, f, "targets");
  lurn_checklive(L, il, f, "input lengths");
  lurn_checklive(L, tl, f, "target lengths");
  lurn_tensor lg = { 0 }, tgc = { 0 }, ilc = { 0 }, tlc = { 0 };
  lurn_status st = { 0, "" };
  int64_t gsize[3] = { T, B, C }, bsize[1] = { B };
  int rc = lurn_contiguous(&lg, x, &st);
  if (!rc) rc = lurn_contiguous(&tgc, tg, &st);
  if (!rc) rc = lurn_contiguous(&ilc, il, &st);
  if (!rc) rc = lurn_contiguous(&tlc, tl, &st);
  if (!rc) rc = lurn_tensor_new(grad, LURN_FLOAT32, 3, gsize, &st);
  if (!rc) rc = lurn_tensor_new(losses, LURN_FLOAT32, 1, bsize, &st);
  double total = 0;
  if (!rc) {
    const int32_t *tlen = lurn_i32(&tlc);
    for (int64_t b = 0; b < B; b++)
      scale[b] = red == 0 ? 1.0 / ((double)(tlen[b] > 1 ? tlen[b] : 1) * (double)B) : 1.0;
    rc = lurn_ctc_loss(loss, lurn_f32(grad), lurn_f32(&lg), T, B, C, lurn_i32(&tgc),
                       tgc.size[1], lurn_i32(&ilc), tlen, blank, scale, &st);
  }
  if (!rc) {
    float *lv = lurn_f32(losses), *g = lurn_f32(grad);
    for (int64_t b = 0; b < B; b++) {
      double l = loss[b];
      if (isinf(l) && zinf) {
        l = 0;
        for (int64_t t = 0; t < T; t++) memset(g + (t * B + b) * C, 0, sizeof(float) * (size_t)C);
      }
      lv[b] = (float)l;
      total += red == 0 ? l * scale[b] : l;
    }
  }
  lurn_tensor_release(&lg);
  lurn_tensor_release(&tgc);
  lurn_tensor_release(&ilc);
  lurn_tensor_release(&tlc);
  if (rc) return lurn_raise(L, &st);
  lua_pop(L, 1);   /* the scratch */
  lua_pushnumber(L, total);
  lua_insert(L, -3);   /* loss, grad, losses */
  return 3;
}

/* The decoders' results live in one userdata allocated before any C
 * buffer, so a memory error while the tables are built leaks nothing:
 * counts (B) int64, scores (B) double, lengths (B) int32, labels (T*B) int32. */
typedef struct decode_box {
  int64_t *count;
  double *score;
  int32_t *len, *labels;
} decode_box;

static decode_box new_box(lua_State *L, int64_t T, int64_t B) {
  size_t b = (size_t)(B ? B : 1), tb = (size_t)(T * B > 0 ? T * B : 1);
  unsigned char *p = lua_newuserdatauv(L, b * (sizeof(int64_t) + sizeof(double) + sizeof(int32_t))
                                       + tb * sizeof(int32_t), 0);
  decode_box d;
  d.count = (int64_t *)p;
  d.score = (double *)(p + b * sizeof(int64_t));
  d.len = (int32_t *)(p + b * (sizeof(int64_t) + sizeof(double)));
  d.labels = d.len + b;
  return d;
}

/* The logits at 1 ([T,B,C] float32) and lengths at 2 (nil: all T) into a new
 * box; *x is the logits tensor, checked live again just before use. */
static decode_box decode_args(lua_State *L, const char *f, lurn_tensor **x) {
  *x = lurn_checktensor(L, 1);
  if ((*x)->dtype != LURN_FLOAT32 || (*x)->ndim != 3) {
    char b[64];
    luaL_error(L, "%s: logits must be a [T,B,C] float32 tensor, got %s %s", f,
               lurn_tensor_shape_str(*x, b, sizeof b), lurn_dtype_name((*x)->dtype));
  }
  int64_t T = (*x)->size[0], B = (*x)->size[1];
  decode_box d = new_box(L, T, B);
  lurn_tensor *lt = lua_isnoneornil(L, 2) ? NULL : lurn_argtensor(L, 2, f, "lengths");
  if (lt && (lt->dtype != LURN_INT32 || lt->ndim != 1 || lt->size[0] != B))
    luaL_error(L, "%s: lengths must be a [%d] int32 tensor", f, (int)B);
  for (int64_t b = 0; b < B; b++) {
    int64_t v = lt ? lurn_i32(lt)[b * lt->stride[0]] : T;
    if (v < 0 || v > T)
      luaL_error(L, "%s: length %d of sample %d is outside 0..%d", f, (int)v, (int)b + 1, (int)T);
    d.len[b] = (int32_t)v;
  }
  lurn_checklive(L, *x, f, "logits");
  return d;
}

/* Push {{label, ...}, ...} from the box. */
static void push_labels(lua_State *L, const decode_box *d, int64_t B) {
  lua_createtable(L, (int)B, 0);
  int64_t pos = 0;
  for (int64_t b = 0; b < B; b++) {
    lua_createtable(L, (int)d->count[b], 0);
    for (int64_t i = 0; i < d->count[b]; i++) {
      lua_pushinteger(L, d->labels[pos + i]);
      lua_rawseti(L, -2, i + 1);
    }
    pos += d->count[b];
    lua_rawseti(L, -2, b + 1);
  }
}

/*** lurn.core.ctc_greedy(scores [, lengths [, blank]]) — greedy CTC decoding: the best class per step, repeats merged, blanks dropped.
 * @function ctc_greedy
 * @tparam Tensor scores [T, B, C] float32
 * @tparam[opt] Tensor lengths [B] int32 (nil: all T)
 * @tparam[opt] integer blank (0)
 * @treturn {{integer,...},...} labels per sample
 * @usage local labels = lurn.core.ctc_greedy(lurn.randn(6, 2, 4))
 */
static int l_ctc_greedy(lua_State *L) {
  const char *f = "ctc_greedy";
  lua_Integer blank = luaL_optinteger(L, 3, 0);
  lua_settop(L, 3);
  lurn_tensor *x;
  decode_box d = decode_args(L, f, &x);
  int64_t T = x->size[0], B = x->size[1], C = x->size[2];
  if (blank < 0 || blank >= C) return luaL_error(L, "%s: blank %d is not a class of %d", f,
                                                 (int)blank, (int)C);
  /* from here to the release no Lua call runs */
  lurn_tensor lg = { 0 };
  lurn_status st = { 0, "" };
  if (lurn_contiguous(&lg, x, &st)) return lurn_raise(L, &st);
  int64_t pos = 0;
  for (int64_t b = 0; b < B; b++) {
    d.count[b] = lurn_ctc_greedy(d.labels + pos, lurn_f32(&lg) + b * C, d.len[b], B * C, C,
                                 (int)blank);
    pos += d.count[b];
  }
  lurn_tensor_release(&lg);
  (void)T;
  push_labels(L, &d, B);
  return 1;
}

/*** lurn.core.ctc_beam(logits, lengths, blank, beam) — CTC prefix beam search (exact with a beam as wide as the prefixes).
 * @function ctc_beam
 * @tparam Tensor logits [T, B, C] float32
 * @tparam Tensor|nil lengths [B] int32 (nil: all T)
 * @tparam integer blank
 * @tparam integer beam 1..4096
 * @treturn {{integer,...},...} labels per sample
 * @treturn {number,...} their log-probabilities
 * @usage local labels, logp = lurn.core.ctc_beam(lurn.randn(6, 2, 4), nil, 0, 8)
 */
static int l_ctc_beam(lua_State *L) {
  const char *f = "ctc_beam";
  lua_Integer blank = luaL_optinteger(L, 3, 0);
  lua_Integer beam = luaL_optinteger(L, 4, 8);
  luaL_argcheck(L, beam >= 1 && beam <= 4096, 4, "beam must be in 1..4096");
  luaL_argcheck(L, blank >= 0 && blank < 1 << 30, 3, "blank must be a class id");
  lua_settop(L, 4);
  lurn_tensor *x;
  decode_box d = decode_args(L, f, &x);
  int64_t B = x->size[1], C = x->size[2];
  lurn_tensor lg = { 0 };
  lurn_status st = { 0, "" };
  if (lurn_contiguous(&lg, x, &st)) return lurn_raise(L, &st);
  int rc = LURN_OK;
  int64_t pos = 0;
  for (int64_t b = 0; b < B && !rc; b++) {
    rc = lurn_ctc_beam(d.labels + pos, &d.count[b], &d.score[b], lurn_f32(&lg) + b * C, d.len[b],
                       B * C, C, (int)blank, (int)beam, &st);
    if (!rc) pos += d.count[b];
  }
  lurn_tensor_release(&lg);
  if (rc) return lurn_raise(L, &st);
  push_labels(L, &d, B);
  lua_createtable(L, (int)B, 0);
  for (int64_t b = 0; b < B; b++) {
    lua_pushnumber(L, d.score[b]);
    lua_rawseti(L, -2, b + 1);
  }
  return 2;
}

static const luaL_Reg audio_funcs[] = {
  { "wav_read", l_wav_read },       { "wav_parse", l_wav_parse },
  { "wav_write", l_wav_write },     { "resample", l_resample },
  { "audio_features", l_audio_features },
  { "ctc_loss", l_ctc_loss },       { "ctc_greedy", l_ctc_greedy },
  { "ctc_beam", l_ctc_beam },       { NULL, NULL }
};

void lurn_open_speech(lua_State *L) { luaL_setfuncs(L, audio_funcs, 0); }
