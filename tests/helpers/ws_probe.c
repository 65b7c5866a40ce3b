/*
 * ws_probe: drives lib/ws from the command line for the integration tests.
 * Connects, sends each --send message once the link is open (and a ping
 * with --ping), prints what happens one line each:
 *   open | text: <message> | pong | close: <reason>
 * then closes with 1000 "done" once --expect text messages (and the pong)
 * arrived. Exit 0 if everything expected arrived and the close was ours,
 * 1 otherwise (the last line says why), 2 on bad usage.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "ws/ws_client.h"

#define MAX_SEND 16

static struct ws_client *client;
static const char *sends[MAX_SEND];
static int nsend, expect, got, pongs;
static bool want_ping, done_ok;

static void
maybe_done(void)
{
	if (got >= expect && (!want_ping || pongs > 0))
		ws_client_close(client, 1000, "done");
}

static void
on_open(void *arg)
{
	printf("open\n");
	for (int i = 0; i < nsend; i++)
		if (ws_client_send_text(client, sends[i], strlen(sends[i])) != 0)
			printf("send failed: %s\n", sends[i]);
	if (want_ping && ws_client_ping(client) != 0)
		printf("ping failed\n");
	maybe_done();
	fflush(stdout);
}

static void
on_text(const char *msg, size_t len, void *arg)
{
	printf("text: %.*s\n", len > 4000 ? 4000 : (int)len, msg);
	got++;
	maybe_done();
	fflush(stdout);
}

static void
on_pong(void *arg)
{
	printf("pong\n");
	pongs++;
	maybe_done();
	fflush(stdout);
}

static void
on_close(const char *reason, void *arg)
{
	printf("close: %s\n", reason);
	fflush(stdout);
	done_ok = strcmp(reason, "closed locally: 1000 done") == 0 && got >= expect &&
	    (!want_ping || pongs > 0);
	event_base_loopbreak((struct event_base *)arg);
}

static void
usage(void)
{
	fprintf(stderr, "usage: ws_probe --url URL [--ca-file F] [--pin P] [--token T] "
	    "[--edge-id E] [--site-id S] [--timeout MS] [--max-msg N] [--send MSG]... "
	    "[--expect N] [--ping]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "url", 1, NULL, 'u' }, { "ca-file", 1, NULL, 'c' }, { "pin", 1, NULL, 'p' },
		{ "token", 1, NULL, 't' }, { "edge-id", 1, NULL, 'e' }, { "site-id", 1, NULL, 's' },
		{ "timeout", 1, NULL, 'T' }, { "max-msg", 1, NULL, 'm' }, { "send", 1, NULL, 'S' },
		{ "expect", 1, NULL, 'x' }, { "ping", 0, NULL, 'P' }, { NULL, 0, NULL, 0 },
	};
	struct ws_client_opts o = { .client_version = "probe" };
	struct ws_client_cbs cbs = { on_open, on_text, on_close, on_pong, NULL, NULL };
	struct event_base *base;
	struct evdns_base *dns;
	char err[WS_ERR_MAX];
	int ch;

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'u': o.url = optarg; break;
		case 'c': o.ca_file = optarg; break;
		case 'p': o.pin_sha256 = optarg; break;
		case 't': o.token = optarg; break;
		case 'e': o.edge_id = optarg; break;
		case 's': o.site_id = optarg; break;
		case 'T': o.connect_timeout_ms = atoi(optarg); break;
		case 'm': o.max_msg = strtoul(optarg, NULL, 10); break;
		case 'S':
			if (nsend == MAX_SEND)
				usage();
			sends[nsend++] = optarg;
			break;
		case 'x': expect = atoi(optarg); break;
		case 'P': want_ping = true; break;
		default: usage();
		}
	}
	if (o.url == NULL || optind != argc)
		usage();
	if ((base = event_base_new()) == NULL ||
	    (dns = evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS)) == NULL) {
		fprintf(stderr, "ws_probe: cannot set up libevent\n");
		return 1;
	}
	if ((client = ws_client_new(base, dns, &o, &cbs, base, err, sizeof(err))) == NULL) {
		printf("close: %s\n", err);
		return 1;
	}
	if (ws_client_connect(client) != 0) {
		printf("close: %s\n", ws_client_last_error(client));
		return 1;
	}
	event_base_dispatch(base);
	ws_client_free(client);
	evdns_base_free(dns, 0);
	event_base_free(base);
	return done_ok ? 0 : 1;
}
