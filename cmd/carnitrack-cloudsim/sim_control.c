/*
 * Commands, one per line, from stdin and from an optional loopback control
 * port (so a test can drive the cloud while its stdin is not a pipe):
 *   start SCALE [animalTag] | end SCALE [reason] | pause [SCALE] | resume [SCALE]
 *   drop | stop | listen | send <raw text> | sendbin <raw text> | ack on|off
 *   freeze | thaw | forget
 *   stats | batches | sessions | quit | help
 *   fail STATUS [N [SECS]] | hang [N]     (--rest: sim_rest.c)
 * Every command answers at least one line: "ok ...", "error: ..." or data.
 */
#include "sim.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "log/log.h"

static const char help_text[] =
    "commands:\n"
    "  start SCALE [animalTag]   start a session on SCALE (ends its current one)\n"
    "  end SCALE [reason]        end the session on SCALE\n"
    "  pause [SCALE]             pause the session on SCALE (all sessions without SCALE)\n"
    "  resume [SCALE]            resume it\n"
    "  drop                      close every edge link at once (no close frame)\n"
    "  stop                      stop listening and drop every link\n"
    "  listen                    listen again\n"
    "  send TEXT                 send TEXT as one message to every link (a binary\n"
    "                            frame under --binary-frames)\n"
    "  sendbin TEXT              send TEXT as one binary message to every link\n"
    "  forget [register]         forget every edge id issued: an upgrade naming one\n"
    "                            is refused 401 (not with 'register'), a register\n"
    "                            naming one gets a new id\n"
    "  ack on|off                answer events with event_ack, or stay silent\n"
    "  freeze | thaw             stop reading and writing the open links (a dead peer:\n"
    "                            no pongs, no acks, TCP still up) | carry on\n"
    "  stats                     counters as one JSON line\n"
    "  batches                   offline batches, one JSON line each\n"
    "  sessions                  active sessions, one JSON line each\n"
    "  quit                      print the summary and exit\n"
    "--rest only (the others act on HTTP: drop/stop close every connection, freeze holds\n"
    "every request until thaw, ack off leaves event requests unanswered, forget makes\n"
    "every X-Edge-Id unknown: 401 unknown_edge):\n"
    "  fail STATUS [N [SECS]]    answer the next N requests (1) with STATUS, with\n"
    "                            Retry-After: SECS if given\n"
    "  hang [N]                  never answer the next N requests (1)\n";

static bool
valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 63)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* --rest-listen (both APIs): the REST server's own commands, and those that
 * act on both servers (the WebSocket side answers those). */
static bool
rest_own(const char *cmd)
{
	return strcmp(cmd, "fail") == 0 || strcmp(cmd, "hang") == 0;
}

static bool
rest_too(const char *cmd)
{
	static const char *const both[] = { "drop", "stop", "listen", "freeze", "thaw" };

	for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++)
		if (strcmp(cmd, both[i]) == 0)
			return true;
	return false;
}

static int
sim_command(struct sim *s, const char *line, struct evbuffer *out)
{
	char cmd[16] = "", a1[128] = "", a2[128] = "", err[128] = "";
	const char *rest;
	int n = 0, rc = 0;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	sscanf(line, "%15s %127s %127s%n", cmd, a1, a2, &n);
	rest = line + strcspn(line, " \t");
	while (*rest == ' ' || *rest == '\t')
		rest++;

	if (!s->o.rest && s->rest != NULL && rest_too(cmd)) {
		struct evbuffer *scratch = evbuffer_new();

		if (scratch != NULL) {
			sim_rest_command(s, cmd, rest, scratch);
			evbuffer_free(scratch);
		}
	}
	if ((s->o.rest || (s->rest != NULL && rest_own(cmd))) &&
	    sim_rest_command(s, cmd, rest, out)) {
		/* REST's own (fail, hang) and its HTTP versions of drop, stop, ... */
	} else if (strcmp(cmd, "start") == 0) {
		if (!valid_name(a1) || (a2[0] && !valid_name(a2)))
			evbuffer_add_printf(out, "error: usage: start SCALE [animalTag]\n");
		else if (sim_session_start(s, a1, a2[0] ? a2 : NULL, err, sizeof(err)) != 0)
			evbuffer_add_printf(out, "error: %s\n", err);
		else
			evbuffer_add_printf(out, "ok started %s\n", a1);
	} else if (strcmp(cmd, "end") == 0) {
		if (!valid_name(a1))
			evbuffer_add_printf(out, "error: usage: end SCALE [reason]\n");
		else if (sim_session_end(s, a1, a2[0] ? a2 : "completed", err, sizeof(err)) != 0)
			evbuffer_add_printf(out, "error: %s\n", err);
		else
			evbuffer_add_printf(out, "ok ended %s\n", a1);
	} else if (strcmp(cmd, "pause") == 0 || strcmp(cmd, "resume") == 0) {
		bool pause = cmd[0] == 'p';
		if (a1[0] && !valid_name(a1))
			evbuffer_add_printf(out, "error: bad scale name\n");
		else if (sim_session_pause(s, a1[0] ? a1 : NULL, pause, err, sizeof(err)) != 0)
			evbuffer_add_printf(out, "error: %s\n", err);
		else
			evbuffer_add_printf(out, "ok %s\n", pause ? "paused" : "resumed");
	} else if (strcmp(cmd, "drop") == 0) {
		int k = sim_nconns(s);
		sim_drop_all(s);
		evbuffer_add_printf(out, "ok dropped %d\n", k);
	} else if (strcmp(cmd, "stop") == 0) {
		sim_unlisten(s);
		sim_drop_all(s);
		evbuffer_add_printf(out, "ok stopped\n");
	} else if (strcmp(cmd, "listen") == 0) {
		if (sim_listen(s) != 0)
			evbuffer_add_printf(out, "error: listen on %s: %s\n", s->o.listen,
			    strerror(errno));
		else
			evbuffer_add_printf(out, "ok listening\n");
	} else if (strcmp(cmd, "send") == 0) {
		int k = 0;
		for (int i = 0; i < SIM_MAX_CONNS; i++)
			if (s->conns[i] != NULL &&
			    sim_conn_send(s->conns[i], rest, strlen(rest)) == 0)
				k++;
		evbuffer_add_printf(out, "ok sent to %d\n", k);
	} else if (strcmp(cmd, "sendbin") == 0) {
		int k = 0;
		for (int i = 0; i < SIM_MAX_CONNS; i++)
			if (s->conns[i] != NULL &&
			    sim_conn_send_op(s->conns[i], WSLAY_BINARY_FRAME, rest, strlen(rest)) ==
			    0)
				k++;
		evbuffer_add_printf(out, "ok sent to %d\n", k);
	} else if (strcmp(cmd, "forget") == 0) {
		if (a1[0] != '\0' && strcmp(a1, "register") != 0) {
			evbuffer_add_printf(out, "error: usage: forget [register]\n");
		} else {
			sim_edges_forget(s, a1[0] == '\0');
			evbuffer_add_printf(out, "ok forgot edges\n");
		}
	} else if (strcmp(cmd, "ack") == 0) {
		if (strcmp(a1, "on") == 0 || strcmp(a1, "off") == 0) {
			s->acking = a1[1] == 'n';
			evbuffer_add_printf(out, "ok ack %s\n", a1);
		} else {
			evbuffer_add_printf(out, "error: usage: ack on|off\n");
		}
	} else if (strcmp(cmd, "freeze") == 0 || strcmp(cmd, "thaw") == 0) {
		int k = sim_freeze(s, cmd[0] == 'f');
		evbuffer_add_printf(out, "ok %s %d\n", cmd[0] == 'f' ? "frozen" : "thawed", k);
	} else if (strcmp(cmd, "stats") == 0) {
		sim_stats_json(s, out);
	} else if (strcmp(cmd, "batches") == 0) {
		sim_batches_json(s, out);
	} else if (strcmp(cmd, "sessions") == 0) {
		sim_sessions_json(s, out);
	} else if (strcmp(cmd, "quit") == 0) {
		evbuffer_add_printf(out, "ok bye\n");
		rc = 1;
	} else if (strcmp(cmd, "help") == 0) {
		evbuffer_add(out, help_text, sizeof(help_text) - 1);
	} else {
		evbuffer_add_printf(out, "error: unknown command '%s' (try help)\n", cmd);
	}
	sim_pump_all(s);
	return rc;
}

/* ---------------------------------------------------------------- sources */

static void
quit(struct sim *s)
{
	event_base_loopexit(s->base, NULL);
}

/* Reads complete lines from in, runs them, answers into out. Returns 1
 * after "quit" (the rest of in is left unread). */
static int
run_lines(struct sim *s, struct evbuffer *in, struct evbuffer *out, bool *closed)
{
	char *line;
	size_t n;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF)) != NULL) {
		int q = sim_command(s, line, out);
		free(line);
		if (q) {
			quit(s);
			return 1;
		}
	}
	if (evbuffer_get_length(in) > SIM_CTL_LINE_MAX) {
		evbuffer_add_printf(out, "error: line longer than %u bytes\n", SIM_CTL_LINE_MAX);
		*closed = true;
	}
	return 0;
}

/* One stdin per process; a few control clients at a time. */
#define CTL_MAX_CLIENTS 16
static struct event *stdin_ev;
static struct evbuffer *stdin_buf;
static struct bufferevent *ctl_clients[CTL_MAX_CLIENTS];

static void
ctl_client_free(struct bufferevent *bev)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (ctl_clients[i] == bev)
			ctl_clients[i] = NULL;
	bufferevent_free(bev);
}

static void
stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim *s = arg;
	struct evbuffer *out = evbuffer_new();
	bool closed = false;
	int n;

	if (out == NULL)
		return;
	n = evbuffer_read(stdin_buf, fd, 65536);
	if (n <= 0) {
		/* stdin gone (EOF, /dev/null): keep running; the control port
		 * and signals still work. */
		event_del(stdin_ev);
	} else {
		run_lines(s, stdin_buf, out, &closed);
	}
	if (closed) {
		evbuffer_drain(stdin_buf, evbuffer_get_length(stdin_buf));
	}
	fflush(stdout);
	evbuffer_write(out, STDOUT_FILENO);
	evbuffer_free(out);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct sim *s = arg;
	bool closed = false;

	if (run_lines(s, bufferevent_get_input(bev), bufferevent_get_output(bev), &closed)) {
		/* The loop ends before libevent would write the answer (and a
		 * bufferevent's output cannot be written around it): send it
		 * ourselves, best effort. */
		struct evbuffer *o = bufferevent_get_output(bev);
		size_t n = evbuffer_get_length(o);
		const unsigned char *p = evbuffer_pullup(o, -1);
		if (p != NULL && send(bufferevent_getfd(bev), p, n, MSG_NOSIGNAL) < 0)
			log_errno("control: answer to quit");
	}
	fflush(stdout);
	if (closed)
		ctl_client_free(bev);
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		ctl_client_free(bev);
}

static void
ctl_accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct sim *s = arg;
	struct bufferevent *bev;
	int slot = -1;

	for (int i = 0; i < CTL_MAX_CLIENTS && slot < 0; i++)
		if (ctl_clients[i] == NULL)
			slot = i;
	if (slot < 0 ||
	    (bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	ctl_clients[slot] = bev;
	bufferevent_setcb(bev, ctl_read_cb, NULL, ctl_event_cb, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int
sim_control_init(struct sim *s)
{
	if ((stdin_buf = evbuffer_new()) == NULL)
		return -1;
	/* Not made non-blocking: stdin may share its file description with
	 * stdout (a terminal), and one read() per readiness never blocks. */
	/* epoll refuses regular files and /dev/null (and libevent reports
	 * that only at dispatch, by failing the loop): read only what it can
	 * wait on. No stdin is fine: the control port and signals remain. */
	struct stat st;
	if (fstat(STDIN_FILENO, &st) == 0 &&
	    (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || isatty(STDIN_FILENO))) {
		stdin_ev = event_new(s->base, STDIN_FILENO, EV_READ | EV_PERSIST, stdin_cb, s);
		if (stdin_ev != NULL && event_add(stdin_ev, NULL) != 0) {
			event_free(stdin_ev);
			stdin_ev = NULL;
		}
	}
	if (s->o.control_port > 0) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
		    .sin_port = htons((uint16_t)s->o.control_port),
		    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		s->ctl_lis = evconnlistener_new_bind(s->base, ctl_accept_cb, s,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 16,
		    (struct sockaddr *)&sin, sizeof(sin));
		if (s->ctl_lis == NULL) {
			log_errno("control port 127.0.0.1:%d", s->o.control_port);
			return -1;
		}
	}
	return 0;
}

void
sim_control_free(struct sim *s)
{
	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		if (ctl_clients[i] != NULL)
			ctl_client_free(ctl_clients[i]);
	if (stdin_ev != NULL)
		event_free(stdin_ev);
	if (stdin_buf != NULL)
		evbuffer_free(stdin_buf);
	if (s->ctl_lis != NULL)
		evconnlistener_free(s->ctl_lis);
	stdin_ev = NULL;
	stdin_buf = NULL;
	s->ctl_lis = NULL;
}
