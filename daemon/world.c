/* world: see world.h. */
#include <string.h>

#include "breakglass.h"
#include "clock.h"
#include "config.h"
#include "consents.h"
#include "decide.h"
#include "server.h"
#include "world.h"

void
world_now(const struct server *srv, struct decide_world *w)
{
	memset(w, 0, sizeof(*w));
	w->policy = srv->policy;
	w->ids = srv->ids;
	w->allocs = srv->allocs;
	w->consents = consents_table(srv->consents);
	w->grants = breakglass_grants(srv->breakglass);
	w->now_ms = clock_wall_ms();
	w->max_frame = srv->cfg->max_frame;
}
