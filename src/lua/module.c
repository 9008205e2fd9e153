/* module.c — luaopen_lurn_core: the C module `lurn.core`, built from one
 * binding file per userdata type (see bind.h). */
#include "bind.h"
#include "sandbox.h"

int luaopen_lurn_core(lua_State *L) {
  lua_newtable(L);
  lurn_open_tensor(L);
  lurn_open_random(L);
  lurn_open_system(L);
  lurn_open_rnn(L);
  lurn_open_layers(L);
  lurn_open_optim(L);
  lurn_open_checkpoint(L);
  lurn_open_text(L);
  lurn_open_dist(L);
  lurn_open_speech(L);
  lurn_open_sandbox(L);
  return 1;
}
