/*
 * sandbox.h — evaluating configs in isolation (sandbox.c).
 *
 * lurn_open_sandbox adds the sandbox_* functions to lurn.core;
 * lurn_sandbox_main is the whole of `lurn --config-sandbox`, the child
 * process a config runs in: request on stdin, answer on stdout.
 */
#ifndef LURN_SANDBOX_H
#define LURN_SANDBOX_H

#include <lua.h>

void lurn_open_sandbox(lua_State *L);
int lurn_sandbox_main(void);
/* Push the value encoded in s[0..n) in the sandbox's plain-data format (a
 * function becomes false); 0 and nothing pushed when it is malformed.
 * The host reads every answer through it (tests/fuzz/fuzz_config_answer.c). */
int lurn_sandbox_decode(lua_State *L, const char *s, size_t n);

#endif
