/*
 * The identity the edge goes by: held here, read by the transport (which
 * owns registration and recovery), persisted through the store worker
 * (IDENTITY, with where it came from) so that a restarted edge registers as
 * itself. The site id the edge goes by is the configured one; the cloud's is
 * used only when none is configured (cw_site_id), so globalDeviceId follows
 * an operator's change of site_id.
 */
#include "cloud_worker.h"

#include <stdio.h>
#include <string.h>

#include "log/log.h"

static void
copy_from_store(struct cw *c, const struct store_identity *id)
{
	snprintf(c->id.edge_id, sizeof(c->id.edge_id), "%s", id->edge_id);
	snprintf(c->id.site_id, sizeof(c->id.site_id), "%s", id->site_id);
	snprintf(c->id.site_name, sizeof(c->id.site_name), "%s", id->site_name);
	snprintf(c->id.source, sizeof(c->id.source), "%s", id->source);
}

/* The identity we were given before, so we register as ourselves. */
void
cw_identity_load(struct cw *c)
{
	struct store_identity id;

	if (cw_open_store(c) && store_identity_get(c->st, &id) == STORE_OK)
		copy_from_store(c, &id);
}

int
cw_identity_take(struct cw *c, const struct cm_identity *id, const char *via)
{
	bool changed = false;

	if (id->has_edge_id && strcmp(id->edge_id, c->id.edge_id) != 0) {
		if (strlen(id->edge_id) >= sizeof(c->id.edge_id)) {
			log_warn("cloud sent an edgeId of %zu bytes (max %zu) by %s; ignored",
			    strlen(id->edge_id), sizeof(c->id.edge_id) - 1, via);
			return -1;
		}
		/* A registration answered with another id: the cloud did not
		 * know ours and made a new one. Take it; nothing else changes. */
		if (c->id.edge_id[0] != '\0') {
			log_warn("cloud answered by %s with edgeId %s, we were %s: taking the new "
			    "identity (the backlog is kept)", via, id->edge_id, c->id.edge_id);
			c->identity_resets++;
		}
		snprintf(c->id.edge_id, sizeof(c->id.edge_id), "%s", id->edge_id);
		changed = true;
	}
	if (id->site_id[0] != '\0' && strcmp(id->site_id, c->id.site_id) != 0 &&
	    strlen(id->site_id) < sizeof(c->id.site_id)) {
		snprintf(c->id.site_id, sizeof(c->id.site_id), "%s", id->site_id);
		changed = true;
	}
	if (c->id.conf_site_id[0] && c->id.site_id[0] &&
	    strcmp(c->id.site_id, c->id.conf_site_id) != 0 && !c->site_differs_logged) {
		log_warn("the cloud calls this site %s, the config says %s: globalDeviceId keeps "
		    "the configured site_id", c->id.site_id, c->id.conf_site_id);
		c->site_differs_logged = true;
	}
	if (id->site_name[0] != '\0' && strcmp(id->site_name, c->id.site_name) != 0) {
		snprintf(c->id.site_name, sizeof(c->id.site_name), "%s", id->site_name);
		changed = true;
	}
	if (id->has_edge_id && strcmp(c->id.source, via) != 0) {
		snprintf(c->id.source, sizeof(c->id.source), "%s", via);
		changed = true;
	}
	if (changed)
		cw_send_identity(c);
	return 0;
}

void
cw_identity_forget(struct cw *c, const char *why)
{
	log_warn("the cloud does not know this edge as %s (%s): forgetting that identity and "
	    "registering afresh; the backlog is kept", c->id.edge_id, why);
	c->id.edge_id[0] = c->id.site_id[0] = c->id.site_name[0] = '\0';
	snprintf(c->id.source, sizeof(c->id.source), "forgotten: %s", why);
	c->identity_resets++;
	cw_send_identity(c);
}

/* carnitrackctl identity --reset went through the store: take what it left
 * (nothing), and have the transport register afresh. */
void
cw_identity_reload(struct cw *c)
{
	struct store_identity id;
	int e;

	if (!cw_open_store(c))
		return;
	memset(&id, 0, sizeof(id));
	if ((e = store_identity_get(c->st, &id)) != STORE_OK && e != STORE_NOTFOUND)
		return;
	if (strcmp(id.edge_id, c->id.edge_id) == 0 && strcmp(id.site_id, c->id.site_id) == 0)
		return;
	log_warn("identity changed in the store (%s): edge id %s -> %s", id.source[0] ? id.source :
	    "no source", c->id.edge_id[0] ? c->id.edge_id : "(none)",
	    id.edge_id[0] ? id.edge_id : "(none)");
	copy_from_store(c, &id);
	c->identity_resets++;
	c->tp_ops->identity_changed(c->tp);
}
