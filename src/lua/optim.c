/* optim.c — PLACEHOLDER until the optim bindings land; registers nothing. */
#include "bind.h"

void lurn_open_optim(lua_State *L) { (void)L; }
