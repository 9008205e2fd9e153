/* rnn.c — PLACEHOLDER until the rnn bindings land; registers nothing. */
#include "bind.h"

void lurn_open_rnn(lua_State *L) { (void)L; }
