/*
 * bind.h — shared helpers of the Lua bindings (src/lua/).
 *
 * One binding file per userdata type; each exports one `lurn_open_<name>`
 * that adds its functions to the module table on top of the stack.
 * module.c's luaopen_lurn_core calls them all.
 *
 * The error rule: allocate the output userdata *first* (so the Lua GC owns
 * it), call the core into it, and on failure raise with `lurn_raise`. The
 * userdata's __gc releases whatever the core left in it (idempotent), so
 * nothing leaks and nothing is freed twice.
 */
/*** lurn.core — the functions and tensor methods written in C.
 *
 * `require "lurn"` copies every function of lurn.core into `lurn` (lurn.zeros,
 * lurn.mm, ...); tensors are userdata whose methods are these `Tensor:` functions
 * (x:narrow(1, 2, 3)). Positions in calls (dims, indices, starts) are 1-based and
 * negative ones count from the end; values that index something (ids, labels,
 * argmax, randperm) are 0-based. Errors name the function and the shapes.
 * Each function is documented where it is bound, in the binding files of
 * src/lua/ (whose first doc comment says `@submodule lurn.core`); `lurn doc
 * zeros`, `lurn doc Tensor:narrow` and the HTML reference read these comments.
 * @module lurn.core
 */

#ifndef LURN_BIND_H
#define LURN_BIND_H

#include <lauxlib.h>
#include <lua.h>

#include "status.h"
#include "tensor.h"

#define LURN_TENSOR_MT "lurn.Tensor"

/* Liveness — the one rule for bindings: a tensor reaches the core only
 * through lurn_checktensor or lurn_argtensor, which refuse a released one
 * (`<close>`, :free()). lurn_totensor only says whether a value is a tensor
 * userdata; what it returns may be released and must not be used before one
 * of the two checks. Any Lua call after the check (a metamethod, an
 * allocation that runs a finalizer) may release an argument again: bindings
 * that hand raw data pointers to the core take them only after their last
 * Lua call, or re-check (see optim.c). */

/* The live tensor at stack index idx: "bad argument #idx to 'f' (...)" if it
 * is not a tensor or has been released. */
lurn_tensor *lurn_checktensor(lua_State *L, int idx);
/* The live tensor at idx for values that are not plain arguments (table
 * fields, list entries): "fname: what must be a tensor, got T" or
 * "fname: what has been released". */
lurn_tensor *lurn_argtensor(lua_State *L, int idx, const char *fname, const char *what);
/* Again, for a tensor checked earlier in this call, right before its data
 * pointer is taken: "fname: what has been released". */
void lurn_checklive(lua_State *L, const lurn_tensor *t, const char *fname, const char *what);
/* The tensor userdata at idx (possibly released), or NULL. */
lurn_tensor *lurn_totensor(lua_State *L, int idx);
/* A float32 tensor at idx (error naming `what` otherwise). */
lurn_tensor *lurn_checkf32(lua_State *L, int idx, const char *what);
/* Push a new tensor userdata holding a released (empty) tensor; the caller
 * fills it through the core. */
lurn_tensor *lurn_newtensor(lua_State *L);
/* Switch L to Lua's generational collector; tensor memory pressure then
 * runs a young collection first, a full one only when that freed too little. */
void lurn_gc_generational(lua_State *L);
/* Push a new userdata sharing `t`'s storage and view. */
lurn_tensor *lurn_pushshare(lua_State *L, const lurn_tensor *t);
/* Raise st->msg as a Lua error (never returns). */
int lurn_raise(lua_State *L, const lurn_status *st);
/* A shape from a Lua table {d0, d1, ...} or from the arguments idx..top as
 * integers. Returns ndim. */
int lurn_checkshape(lua_State *L, int idx, int64_t *size, const char *fname);

/* Create metatable `name` with methods (as __index) and metamethods. */
void lurn_createmeta(lua_State *L, const char *name, const luaL_Reg *methods,
                     const luaL_Reg *metamethods);

/* One per binding file. Each adds its entries to the table on top of the stack. */
void lurn_open_tensor(lua_State *L);
void lurn_open_random(lua_State *L);
void lurn_open_system(lua_State *L);
void lurn_open_rnn(lua_State *L);        /* recurrent cells (rnn.c) */
void lurn_open_layers(lua_State *L);     /* other layers and losses (layers.c) */
void lurn_open_optim(lua_State *L);
void lurn_open_checkpoint(lua_State *L);
void lurn_open_text(lua_State *L);       /* tokenizers (text.c) */
void lurn_open_dist(lua_State *L);       /* MPI: lurn.core.dist (dist.c) */
void lurn_open_speech(lua_State *L);     /* WAV, resampling, features, CTC (speech.c) */

/* Whether lurn.catch_signals has seen a SIGINT/SIGTERM (system.c). */
int lurn_signal_caught(void);

int luaopen_lurn_core(lua_State *L);

#endif
