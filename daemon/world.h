/*
 * world: the decision world (decide.h) as this daemon stands now: its
 * policy, principal mapping, allocations, consents and break-glass grants,
 * the wall clock's time and the frame limit.  What a caller adds (reach,
 * superseded, another time) it sets after.  breakglass.c fills its own,
 * from the table it owns.
 */
#ifndef NWD_WORLD_H
#define NWD_WORLD_H

struct decide_world;
struct server;

/* Fills w (cleared first) from srv. */
void	world_now(const struct server *srv, struct decide_world *w);

#endif
