/*
 * carnitrackctl's side of the supervisor (control.h): the socket, its
 * clients, the request lines they send, and replies found by client id.
 * A request is parsed by lib/ctl and handed to the part of the supervisor
 * that answers it (sup_status.c, sup_proc.c, control_identity.c for the
 * identity reset and the activation); nothing
 * here knows how a worker is asked.
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "ctl/ctl_proto.h"
#include "ipc_proto.h"
#include "log/log.h"
#include "supervisor.h"

struct ctl_client {
	uint32_t            id;
	struct bufferevent *bev;
	struct ctl_client  *next;
};

static struct evconnlistener *listener;
static struct event_base *ctl_base;
static char sock_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct ctl_client *clients;
static int nclients;
static uint32_t next_client_id;

const char *
control_socket_path(void)
{
	return sock_path;
}

static void
client_close(struct ctl_client *c)
{
	for (struct ctl_client **pp = &clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	bufferevent_free(c->bev);
	nclients--;
	free(c);
}

static struct ctl_client *
client_find(uint32_t id)
{
	for (struct ctl_client *c = clients; c != NULL; c = c->next)
		if (c->id == id)
			return c;
	return NULL;
}

static void
send_reply(struct ctl_client *c, json_t *reply)
{
	char *s = json_dumps(reply, JSON_COMPACT);

	json_decref(reply);
	if (s == NULL || bufferevent_write(c->bev, s, strlen(s)) != 0 ||
	    bufferevent_write(c->bev, "\n", 1) != 0)
		log_warn("control: cannot queue a reply");
	free(s);
}

void
control_reply(uint32_t id, json_t *reply)
{
	struct ctl_client *c = client_find(id);

	if (c == NULL) {
		json_decref(reply);     /* the client left before its answer came */
		return;
	}
	send_reply(c, reply);
}

static void
reply_error(struct ctl_client *c, const char *msg)
{
	json_t *r = json_pack("{s:b, s:s, s:i}", "ok", 0, "error", msg, "version", CTL_VERSION);
	if (r)
		send_reply(c, r);
}

static void
status_done(json_t *status, uint64_t token)
{
	control_reply((uint32_t)token, status);
}

static void
restart_done(uint64_t token, enum ct_proc p, pid_t pid, const char *error)
{
	json_t *r = error == NULL ? json_pack("{s:b, s:s, s:i}", "ok", 1, "worker",
	    ct_proc_name(p), "pid", (int)pid) : json_pack("{s:b, s:s}", "ok", 0, "error", error);

	if (r != NULL)
		control_reply((uint32_t)token, r);
}

static void
client_read(struct bufferevent *bev, void *arg)
{
	struct ctl_client *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		size_t len;
		char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
		struct ctl_request req;
		char err[256];

		if (line == NULL) {
			if (evbuffer_get_length(in) > CTL_LINE_MAX) {
				log_warn("control: request longer than %d bytes, closing client",
				    CTL_LINE_MAX);
				reply_error(c, "request too long");
				bufferevent_flush(bev, EV_WRITE, BEV_FINISHED);
				client_close(c);
			}
			return;
		}
		if (ctl_request_parse(line, len, &req, err, sizeof(err)) != 0) {
			log_warn("control: bad request: %s", err);
			reply_error(c, err);
			free(line);
			continue;
		}
		free(line);
		if (req.cmd == CTL_STATUS)
			sup_status(status_done, c->id);
		else if (req.cmd == CTL_IDENTITY_RESET)
			control_identity_reset(ctl_base, c->id);
		else if (req.cmd == CTL_ACTIVATE)
			control_activate(ctl_base, c->id, req.code);
		else if (req.cmd == CTL_RESTART) {
			enum ct_proc p;
			/* lib/ctl took only a worker's name */
			if (ct_proc_parse(req.worker, &p) != 0)
				fatalx("control: restart of '%s' passed ctl_request_parse",
				    req.worker);
			if (sup_restart(p, restart_done, c->id, err, sizeof(err)) != 0)
				reply_error(c, err);
		}
	}
}

static void
client_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_client *c = arg;

	if (what & BEV_EVENT_TIMEOUT)
		log_debug("control: idle client closed");
	client_close(c);
}

static void
on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct event_base *base = evconnlistener_get_base(l);
	struct ctl_client *c;
	struct timeval idle = { CONTROL_IDLE_S, 0 };

	if (nclients >= CONTROL_MAX_CLIENTS) {
		log_warn("control: %d clients already, refusing one", nclients);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		close(fd);
		free(c);
		return;
	}
	if (++next_client_id == 0)
		next_client_id = 1;
	c->id = next_client_id;
	c->next = clients;
	clients = c;
	nclients++;
	/* Reading stops at one line plus slack; the read callback enforces it. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, CTL_LINE_MAX + 2);
	bufferevent_setcb(c->bev, client_read, NULL, client_event, c);
	bufferevent_set_timeouts(c->bev, &idle, &idle);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
reenable_accept(evutil_socket_t fd, short what, void *arg)
{
	evconnlistener_enable(arg);
}

static void
on_accept_error(struct evconnlistener *l, void *arg)
{
	int e = EVUTIL_SOCKET_ERROR();

	log_err("control: accept: %s", evutil_socket_error_to_string(e));
	/* Out of fds: back off instead of spinning on a ready listener. */
	if (e == EMFILE || e == ENFILE) {
		evconnlistener_disable(l);
		struct timeval tv = { 1, 0 };
		if (event_base_once(evconnlistener_get_base(l), -1, EV_TIMEOUT,
		    reenable_accept, l, &tv) != 0)
			evconnlistener_enable(l);
	}
}

int
control_open(struct event_base *base, const char *run_dir, gid_t gid, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, probe;
	mode_t old;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/control.sock", run_dir)
	    >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s/control.sock: path too long", run_dir);
		return -1;
	}
	snprintf(sock_path, sizeof(sock_path), "%s", sun.sun_path);
	/* A socket file left by a dead daemon is removed; a live one is not. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) >= 0) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			snprintf(err, errlen, "%s: another carnitrackd is running", sun.sun_path);
			return -1;
		}
		close(probe);
	}
	if (unlink(sun.sun_path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", sun.sun_path, strerror(errno));
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		umask(old);
		snprintf(err, errlen, "%s: bind: %s", sun.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	/* The umask made it 0660. run_dir belongs to the daemon's user, who
	 * could swap the socket for a link before the group is set: lchown
	 * never follows one, and the result must still be our socket. */
	if (gid != (gid_t)-1 && lchown(sun.sun_path, (uid_t)-1, gid) != 0) {
		snprintf(err, errlen, "%s: chown: %s", sun.sun_path, strerror(errno));
		close(fd);
		return -1;
	}
	if (lstat(sun.sun_path, &st) != 0 || !S_ISSOCK(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 0777) != 0660) {
		snprintf(err, errlen,
		    "%s: not the socket just made (replaced, or mode %04o): refusing "
		    "it", sun.sun_path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	ctl_base = base;
	listener = evconnlistener_new(base, on_accept, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16, fd);
	if (listener == NULL) {
		snprintf(err, errlen, "%s: listen failed", sun.sun_path);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(listener, on_accept_error);
	return 0;
}

void
control_close(void)
{
	control_identity_close();
	while (clients != NULL)
		client_close(clients);
	if (listener) {
		evconnlistener_free(listener);
		listener = NULL;
		unlink(sock_path);
	}
}
