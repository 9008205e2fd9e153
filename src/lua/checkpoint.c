/* checkpoint.c — PLACEHOLDER until the checkpoint bindings land; registers nothing. */
#include "bind.h"

void lurn_open_checkpoint(lua_State *L) { (void)L; }
