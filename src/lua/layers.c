/* layers.c — PLACEHOLDER until the layers bindings land; registers nothing. */
#include "bind.h"

void lurn_open_layers(lua_State *L) { (void)L; }
