/*
 * The scale port: the listening socket ("host:port", "[v6]:port" or ":port"
 * for every address), accepting with the bounds of [scales] (allow list,
 * max_connections, max_per_ip), each refusal logged a few times per window
 * and counted, and a new connection set up to be read (ingest_conn.c).
 */
#include "ingest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"

/* A few log lines per reason and window, then silence: a flood of refused
 * connections must not become a flood of syslog. */
static bool
iw_log_allowed(struct log_limit *l)
{
	int64_t now = ct_now_ms_mono();

	if (now - l->window_ms > 10000) {
		l->window_ms = now;
		l->n = 0;
	}
	return l->n++ < 10;
}

/* ---- accepting ---- */

/* IPv4 clients of a dual-stack socket come as ::ffff:a.b.c.d; the edge
 * speaks of them (ids, address mapping, logs) as a.b.c.d. */
static void
unmap_v4(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in s4;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = s6->sin6_port;
	memcpy(&s4.sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	memcpy(ss, &s4, sizeof(s4));
	*len = sizeof(s4);
}

static void
addr_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, char *addr, size_t alen)
{
	unsigned port = 0;

	ip[0] = '\0';
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)iplen);
		port = ntohs(s4->sin_port);
		snprintf(addr, alen, "%s:%u", ip, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)iplen);
		port = ntohs(s6->sin6_port);
		snprintf(addr, alen, "[%s]:%u", ip, port);
	} else {
		snprintf(ip, iplen, "?");
		snprintf(addr, alen, "?");
	}
}

static int
count_from(struct iw *in, const char *ip)
{
	struct iw_conn *c;
	int n = 0;

	TAILQ_FOREACH(c, &in->conns, link)
		if (strcmp(c->ip, ip) == 0)
			n++;
	return n;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct iw *in = arg;
	const struct ct_conf *conf = iw_conf(in);
	struct sockaddr_storage ss;
	socklen_t len = (socklen_t)salen;
	char ip[CT_IP_MAX], addr[CT_IP_MAX + 8];
	struct iw_conn *c;
	int one = 1;

	(void)l;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, sa, len < sizeof(ss) ? len : sizeof(ss));
	unmap_v4(&ss, &len);
	addr_text(&ss, ip, sizeof(ip), addr, sizeof(addr));
	if (in->stopping || conf == NULL) {
		close(fd);
		return;
	}
	if (!conf_allowed(conf, (struct sockaddr *)&ss)) {
		in->c.refused_allow++;
		if (iw_log_allowed(&in->ll_refused))
			log_warn("connection from %s refused: not in [scales] allow", addr);
		close(fd);
		return;
	}
	if (in->nconns >= conf->max_connections) {
		in->c.refused_full++;
		if (iw_log_allowed(&in->ll_refused))
			log_warn("connection from %s refused: max_connections (%d) reached", addr,
			    conf->max_connections);
		close(fd);
		return;
	}
	if (conf->max_per_ip > 0 && count_from(in, ip) >= conf->max_per_ip) {
		in->c.refused_per_ip++;
		if (iw_log_allowed(&in->ll_refused))
			log_warn("connection from %s refused: max_per_ip (%d) reached", addr,
			    conf->max_per_ip);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_err("out of memory accepting %s", addr);
		close(fd);
		return;
	}
	c->in = in;
	memcpy(&c->sa, &ss, sizeof(ss));
	snprintf(c->ip, sizeof(c->ip), "%s", ip);
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	c->since_ms = ct_now_ms();
	c->last_rx_mono = ct_now_ms_mono();
	TAILQ_INIT(&c->evs);
	c->reject_budget = IW_REJECT_LOG_BUDGET;
	c->last_valid_mono = c->last_rx_mono;
	dp401_init(&c->parser, conf->weight_unit_grams, iw_scale_item, c);
	dp401_ack_init(&c->ack);
	c->ack.answered = iw_conn_answered;
	c->ack.answered_arg = c;
	/* "OK" is a 4-byte write the scale waits for: never held by Nagle
	 * behind an earlier one the scale's bridge has not acknowledged yet
	 * (delayed ACKs: 40 ms on Linux, more on embedded stacks). */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if ((c->bev = bufferevent_socket_new(in->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_err("cannot set up connection from %s", addr);
		close(fd);
		free(c);
		return;
	}
	bufferevent_setcb(c->bev, iw_conn_read_cb, NULL, iw_conn_event_cb, c);
	/* One read is at most IW_READ_MAX: bounds what a paused
	 * connection still hands over, and keeps one scale from hogging. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, IW_READ_MAX);
	bufferevent_enable(c->bev, in->paused ? EV_WRITE : EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&in->conns, c, link);
	in->nconns++;
	in->c.accepted++;
	log_debug("connection from %s", addr);
}

static void
accept_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct iw *in = arg;

	(void)fd;
	(void)what;
	if (in->listener != NULL && !in->stopping)
		evconnlistener_enable(in->listener);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct iw *in = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 1, 0 };

	/* Out of fds: back off for a second instead of spinning on accept. */
	if (iw_log_allowed(&in->ll_accept_err))
		log_warn("accept on %s: %s; pausing accept for 1 s", in->listen,
		    evutil_socket_error_to_string(err));
	evconnlistener_disable(l);
	evtimer_add(in->accept_retry_ev, &tv);
}

/* "host:port", "[v6]:port" or ":port" (all addresses, IPv4 and IPv6). */
static int
parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, bool *dual)
{
	const char *colon = strrchr(s, ':');
	char host[64], *end;
	long port;

	memset(ss, 0, sizeof(*ss));
	*dual = false;
	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || errno != 0 || port < 1 || port > 65535)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (host[0] == '\0' || host[0] == '[') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		size_t n = strlen(host);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (n == 0) {
			s6->sin6_addr = in6addr_any;
		} else {
			if (n < 3 || host[n - 1] != ']')
				return -1;
			host[n - 1] = '\0';
			if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
				return -1;
		}
		*dual = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		*len = sizeof(*s6);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
		return -1;
	*len = sizeof(*s4);
	return 0;
}

int
iw_listen(struct iw *in, const char *where, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	bool dual;
	int fd, one = 1, zero = 0;
	struct evconnlistener *l;

	if (parse_listen(where, &ss, &len, &dual) != 0) {
		snprintf(err, errlen, "listen = %s: not host:port", where);
		return -1;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket for %s: %s", where, strerror(errno));
		return -1;
	}
	/* [::] serves IPv4 too, whatever net.ipv6.bindv6only says. A deep
	 * backlog: after an edge restart every bridge reconnects at once, and
	 * an overflowed queue costs each of them seconds of SYN-ACK backoff. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (dual && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0)) {
		snprintf(err, errlen, "listen on %s: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	int rc = bind(fd, (struct sockaddr *)&ss, len);
	if (rc != 0 && errno == EADDRINUSE && in->listener != NULL) {
		/* A reload moving between addresses of the same port: the old
		 * socket holds it. Let go of it, and take it back on failure. */
		char old[sizeof(in->listen)];
		snprintf(old, sizeof(old), "%s", in->listen);
		iw_listen_close(in);
		rc = bind(fd, (struct sockaddr *)&ss, len);
		if (rc != 0) {
			int saved = errno;
			char err2[256];
			close(fd);
			if (iw_listen(in, old, err2, sizeof(err2)) != 0)
				log_err("cannot listen on the old address again: %s", err2);
			snprintf(err, errlen, "listen on %s: %s", where, strerror(saved));
			return -1;
		}
	}
	if (rc != 0 || listen(fd, 1024) != 0) {
		snprintf(err, errlen, "listen on %s: %s", where, strerror(errno));
		close(fd);
		return -1;
	}
	/* Backlog 0: listen() is done; -1 would make libevent redo it with 128. */
	if ((l = evconnlistener_new(in->base, accept_cb, in, LEV_OPT_CLOSE_ON_FREE, 0, fd)) ==
	    NULL) {
		snprintf(err, errlen, "listen on %s: cannot set up the listener", where);
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l, accept_error_cb);
	if (in->accept_retry_ev == NULL &&
	    (in->accept_retry_ev = evtimer_new(in->base, accept_retry_cb, in)) == NULL) {
		evconnlistener_free(l);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	iw_listen_close(in);
	in->listener = l;
	snprintf(in->listen, sizeof(in->listen), "%s", where);
	log_info("listening for scales on %s", where);
	return 0;
}

void
iw_listen_close(struct iw *in)
{
	if (in->listener != NULL) {
		evconnlistener_free(in->listener);
		in->listener = NULL;
	}
}
