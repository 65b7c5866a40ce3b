/*
 * The WebSocket server: listener, one struct conn per edge link, the HTTP
 * upgrade, and wslay glued to a bufferevent (plain or TLS). wslay reads from
 * the bufferevent's input and writes into its output, so one read callback
 * handles every complete frame that arrived and queues every answer, and
 * libevent writes them in one go.
 */
#include "sim.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "log/log.h"

static void conn_free(struct conn *c);

static void
conn_free(struct conn *c)
{
	struct sim *s = c->sim;

	for (int i = 0; i < SIM_MAX_CONNS; i++)
		if (s->conns[i] == c)
			s->conns[i] = NULL;
	if (c->state == CONN_WS)
		printf("disconnect conn=%llu peer=%s\n", (unsigned long long)c->id, c->peer);
	if (c->ws != NULL)
		wslay_event_context_free(c->ws);
	if (c->bev != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		if (ssl != NULL)
			/* abrupt: no close_notify wait */
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
		bufferevent_free(c->bev);
	}
	free(c);
	fflush(stdout);
}

int
sim_nconns(const struct sim *s)
{
	int n = 0;

	for (int i = 0; i < SIM_MAX_CONNS; i++)
		n += s->conns[i] != NULL && s->conns[i]->state == CONN_WS;
	return n;
}

void
sim_drop_all(struct sim *s)
{
	for (int i = 0; i < SIM_MAX_CONNS; i++)
		if (s->conns[i] != NULL)
			conn_free(s->conns[i]);
}

/* ---------------------------------------------------------------- wslay */

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags, void *arg)
{
	struct conn *c = arg;
	int n = evbuffer_remove(bufferevent_get_input(c->bev), buf, len);

	if (n <= 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	return n;
}

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	/* The output buffer is our socket buffer; past the mark, wait for
	 * libevent to write some (the write callback resumes). */
	if (evbuffer_get_length(out) > SIM_OUT_HIGH) {
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (evbuffer_add(out, data, len) != 0) {
		wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
		return -1;
	}
	return (ssize_t)len;
}

static void
ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
	struct conn *c = user;

	switch (arg->opcode) {
	case WSLAY_TEXT_FRAME:
		sim_on_text(c, (const char *)arg->msg, arg->msg_length);
		break;
	case WSLAY_BINARY_FRAME:
		printf("recv conn=%llu binary message of %zu bytes (ignored)\n",
		    (unsigned long long)c->id, arg->msg_length);
		break;
	case WSLAY_PING:
		c->sim->st.pings++;
		break;
	case WSLAY_CONNECTION_CLOSE:
		printf("recv conn=%llu close code=%u\n", (unsigned long long)c->id,
		    arg->status_code);
		break;
	default:
		break;
	}
}

static const struct wslay_event_callbacks ws_cbs = {
	ws_recv_cb, ws_send_cb, NULL, NULL, NULL, NULL, ws_msg_cb,
};

int
sim_conn_send_op(struct conn *c, int opcode, const char *text, size_t len)
{
	struct wslay_event_msg m = { (uint8_t)opcode, (const uint8_t *)text, len };

	if (c->state != CONN_WS)
		return -1;
	return wslay_event_queue_msg(c->ws, &m) == 0 ? 0 : -1;
}

/* Everything this cloud sends: a text frame, or binary (--binary-frames). */
int
sim_conn_send(struct conn *c, const char *text, size_t len)
{
	return sim_conn_send_op(c, c->sim->o.binary_frames ? WSLAY_BINARY_FRAME : WSLAY_TEXT_FRAME,
	    text, len);
}

/* After every read or drained write: push out what wslay has queued and
 * close when both directions are done. Returns -1 if c was freed. */
static int
conn_pump(struct conn *c)
{
	if (wslay_event_want_write(c->ws) && wslay_event_send(c->ws) != 0) {
		conn_free(c);
		return -1;
	}
	if (!wslay_event_want_read(c->ws) && !wslay_event_want_write(c->ws) &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
		conn_free(c);
		return -1;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > SIM_OUT_HIGH / 2) {
		if (!c->read_paused) {
			bufferevent_disable(c->bev, EV_READ);
			c->read_paused = true;
		}
	}
	return 0;
}

int
sim_freeze(struct sim *s, bool on)
{
	int n = 0;

	for (int i = 0; i < SIM_MAX_CONNS; i++) {
		struct conn *c = s->conns[i];
		if (c == NULL || c->state != CONN_WS || c->frozen == on)
			continue;
		c->frozen = on;
		if (on) {
			bufferevent_disable(c->bev, EV_READ | EV_WRITE);
		} else {
			bufferevent_enable(c->bev, EV_WRITE);
			if (!c->read_paused)
				bufferevent_enable(c->bev, EV_READ);
		}
		n++;
	}
	return n;
}

void
sim_pump_all(struct sim *s)
{
	for (int i = 0; i < SIM_MAX_CONNS; i++)
		if (s->conns[i] != NULL && s->conns[i]->state == CONN_WS && !s->conns[i]->frozen)
			conn_pump(s->conns[i]);
	fflush(stdout);
	if (s->event_log != NULL)
		fflush(s->event_log);
}

/* ---------------------------------------------------------------- HTTP */

/* One HTTP response, then the connection closes once it is written. */
void
sim_http_respond(struct conn *c, int status, const char *ctype, const char *body)
{
	const char *text;
	char resp[512];
	int n;

	switch (status) {
	case 200: text = "OK"; break;
	case 401: text = "Unauthorized"; break;
	case 405: text = "Method Not Allowed"; break;
	case 411: text = "Length Required"; break;
	case 413: text = "Payload Too Large"; break;
	case 426: text = "Upgrade Required"; break;
	case 431: text = "Request Header Fields Too Large"; break;
	case 500: text = "Internal Server Error"; break;
	default:  text = "Bad Request"; status = 400; break;
	}
	n = snprintf(resp, sizeof(resp), "HTTP/1.1 %d %s\r\n%s%sContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status, text,
	    status == 401 ? "WWW-Authenticate: Bearer\r\n" : "",
	    status == 426 ? "Sec-WebSocket-Version: 13\r\n" : "", ctype, strlen(body));
	bufferevent_write(c->bev, resp, (size_t)n);
	bufferevent_write(c->bev, body, strlen(body));
	bufferevent_disable(c->bev, EV_READ);
	c->state = CONN_CLOSING;
	if (status != 200)
		printf("refused conn=%llu peer=%s status=%d\n", (unsigned long long)c->id, c->peer,
		    status);
	fflush(stdout);
}

static void
http_refuse(struct conn *c, int status, const char *why)
{
	char body[128];

	snprintf(body, sizeof(body), "%s\n", why);
	sim_http_respond(c, status, "text/plain", body);
}

bool
sim_token_ok(const struct sim *s, const char *auth)
{
	if (s->o.token == NULL)
		return true;
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	return strcmp(auth + 7, s->o.token) == 0;
}

/* Returns -1 if c was freed or refused (or answered), 1 while a POST body
 * is still arriving. */
static int
conn_upgrade(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct upgrade_req r;
	char head[SIM_HTTP_MAX + 1], accept[64], resp[256];
	size_t hl;
	int status, n;

	if (end.pos < 0) {
		if (evbuffer_get_length(in) > SIM_HTTP_MAX) {
			http_refuse(c, 431, "header too large");
			return -1;
		}
		return 0;
	}
	hl = (size_t)end.pos + 4;
	if (hl > SIM_HTTP_MAX) {
		http_refuse(c, 431, "header too large");
		return -1;
	}
	/* The HTTP registration endpoint shares the port (sim_register.c). */
	if (evbuffer_get_length(in) >= 5) {
		char method[5];
		evbuffer_copyout(in, method, 5);
		if (memcmp(method, "POST ", 5) == 0)
			return sim_http_post(c, hl) == 0 ? 1 : -1;
	}
	evbuffer_remove(in, head, hl);
	head[hl] = '\0';
	status = sim_parse_upgrade(head, hl, &r);
	if (status == 0 && !sim_token_ok(c->sim, r.auth)) {
		c->sim->st.unauthorized++;
		status = 401;
	}
	if (status == 0 && sim_edge_refused(c->sim, r.edge_id)) {
		printf("upgrade conn=%llu names unknown edge %s\n", (unsigned long long)c->id,
		    r.edge_id);
		http_refuse(c, 401, "unknown edge");
		return -1;
	}
	if (status != 0) {
		http_refuse(c, status, status == 401 ? "Unauthorized" : "refused");
		return -1;
	}
	sim_accept_key(r.key, accept);
	n =
	    snprintf(resp, sizeof(resp),
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
	bufferevent_write(c->bev, resp, (size_t)n);
	if (wslay_event_context_server_init(&c->ws, &ws_cbs, c) != 0) {
		conn_free(c);
		return -1;
	}
	wslay_event_config_set_max_recv_msg_length(c->ws, SIM_WS_MAX_MSG);
	c->state = CONN_WS;
	snprintf(c->edge_id, sizeof(c->edge_id), "%s", r.edge_id);
	snprintf(c->site_id, sizeof(c->site_id), "%s", r.site_id);
	printf("connect conn=%llu peer=%s path=%s client=%s/%s edge=%s site=%s\n",
	    (unsigned long long)c->id, c->peer, r.path, r.client_type[0] ? r.client_type : "-",
	    r.client_version[0] ? r.client_version : "-", r.edge_id[0] ? r.edge_id : "-",
	    r.site_id[0] ? r.site_id : "-");
	sim_on_open(c);
	return 0;
}

/* ---------------------------------------------------------------- events */

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_HTTP && conn_upgrade(c) != 0)
		return;     /* refused, answered, or a POST body still to come */
	if (c->state != CONN_WS)
		return;
	if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 && wslay_event_recv(c->ws) != 0) {
		printf("conn=%llu protocol error, closing\n", (unsigned long long)c->id);
		conn_free(c);
		return;
	}
	/* Messages may have queued answers on other links too (broadcasts). */
	sim_pump_all(c->sim);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->state == CONN_CLOSING) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_free(c);
		return;
	}
	if (c->state != CONN_WS)
		return;
	if (c->read_paused && evbuffer_get_length(bufferevent_get_output(bev)) < SIM_OUT_HIGH / 4) {
		c->read_paused = false;
		bufferevent_enable(bev, EV_READ);
		/* Frames may have arrived while we were not reading. */
		if (evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
			conn_read_cb(bev, c);
			return;
		}
	}
	conn_pump(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (what & BEV_EVENT_ERROR) {
			unsigned long e = bufferevent_get_openssl_error(bev);
			if (e != 0)
				printf("conn=%llu tls error: %s\n", (unsigned long long)c->id,
				    ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "?");
		}
		conn_free(c);
	}
}

static void
accept_cb(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg)
{
	struct sim *s = arg;
	struct conn *c;
	int slot = -1;
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0, one = 1;

	for (int i = 0; i < SIM_MAX_CONNS; i++)
		if (s->conns[i] == NULL) {
			slot = i;
			break;
		}
	if (slot < 0 || (c = calloc(1, sizeof(*c))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	if (sa->sa_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
	c->sim = s;
	c->id = ++s->next_conn_id;
	c->state = CONN_HTTP;
	/* one event_ack per event: small writes answering small writes, which
	 * Nagle and the edge's delayed ACKs would hold up to 40 ms */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (s->ssl != NULL) {
		SSL *ssl = SSL_new(s->ssl);
		if (ssl == NULL) {
			evutil_closesocket(fd);
			free(c);
			return;
		}
		c->bev = bufferevent_openssl_socket_new(s->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
		    BEV_OPT_CLOSE_ON_FREE);
	} else {
		c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (c->bev == NULL) {
		evutil_closesocket(fd);
		free(c);
		return;
	}
	s->conns[slot] = c;
	s->st.connects++;
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
accept_err_cb(struct evconnlistener *lis, void *arg)
{
	/* EMFILE and friends: say so and keep listening; libevent retries. */
	log_warn("accept: %s", strerror(errno));
}

int
sim_listen(struct sim *s)
{
	struct sockaddr_storage ss;
	int sl = sizeof(ss);

	if (s->lis != NULL)
		return 0;
	if (evutil_parse_sockaddr_port(s->o.listen, (struct sockaddr *)&ss, &sl) != 0) {
		log_err("--listen %s: not HOST:PORT", s->o.listen);
		return -1;
	}
	s->lis = evconnlistener_new_bind(s->base, accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    (struct sockaddr *)&ss, sl);
	if (s->lis == NULL) {
		log_errno("listen on %s", s->o.listen);
		return -1;
	}
	evconnlistener_set_error_cb(s->lis, accept_err_cb);
	printf("cloudsim: listening on %s://%s/\n", s->ssl ? "wss" : "ws", s->o.listen);
	fflush(stdout);
	return 0;
}

void
sim_unlisten(struct sim *s)
{
	if (s->lis == NULL)
		return;
	evconnlistener_free(s->lis);
	s->lis = NULL;
	printf("cloudsim: stopped listening\n");
	fflush(stdout);
}
