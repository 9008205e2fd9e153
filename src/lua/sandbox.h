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

#endif
