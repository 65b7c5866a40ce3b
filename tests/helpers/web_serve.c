/*
 * Test helper: serves lib/web (the coming web worker's HTTP side) on one
 * libevent loop, with the status object read from a file at every request
 * (a test edits the file to change what the edge "says") and, optionally,
 * the store of a data dir opened read-only. Prints "web_serve: port N"
 * once listening. Stops on SIGTERM or SIGINT.
 *
 *   web_serve --status FILE [--listen ADDR:PORT] [--token T] [--allow CIDRS]
 *             [--data DIR] [--conf FILE] [--max-conns N] [--per-ip N]
 *             [--timeout S]
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "store/store.h"
#include "web/web.h"

struct ctx {
	const char   *status_file;
	const char   *data_dir;
	struct store *st;
};

static json_t *
get_status(void *arg)
{
	struct ctx *x = arg;

	return json_load_file(x->status_file, 0, NULL);
}

static struct store *
get_store(void *arg)
{
	struct ctx *x = arg;
	struct store_opts o = { .readonly = true };
	char err[600];

	if (x->st == NULL && x->data_dir != NULL &&
	    store_open(&x->st, x->data_dir, &o, err, sizeof(err)) != STORE_OK)
		x->st = NULL;
	return x->st;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	event_base_loopbreak(arg);
}

static int
parse_allow(const char *s, struct web_conf *c)
{
	char buf[1024], *save = NULL, *tok;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		if (c->nallow >= CT_CONF_MAX_ALLOW ||
		    conf_parse_cidr(tok, &c->allow[c->nallow]) != 0)
			return -1;
		c->nallow++;
	}
	return 0;
}

static struct ct_conf edge_conf;

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "status", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token", required_argument, NULL, 't' },
		{ "allow", required_argument, NULL, 'a' },
		{ "data", required_argument, NULL, 'd' },
		{ "conf", required_argument, NULL, 'c' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "per-ip", required_argument, NULL, 'p' },
		{ "timeout", required_argument, NULL, 'T' }, { NULL, 0, NULL, 0 },
	};
	struct web_conf wc;
	struct ctx x = { 0 };
	struct web_source src = { .status = get_status, .store = get_store, .arg = &x };
	struct event_base *base;
	struct event *sigs[2];
	struct web *w;
	char err[1024];
	int ch;

	memset(&wc, 0, sizeof(wc));
	snprintf(wc.listen, sizeof(wc.listen), "127.0.0.1:0");
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 's': x.status_file = optarg; break;
		case 'l': snprintf(wc.listen, sizeof(wc.listen), "%s", optarg); break;
		case 't': snprintf(wc.token, sizeof(wc.token), "%s", optarg); break;
		case 'd': x.data_dir = optarg; break;
		case 'm': wc.max_connections = atoi(optarg); break;
		case 'p': wc.max_per_ip = atoi(optarg); break;
		case 'T': wc.request_timeout_s = atoi(optarg); break;
		case 'a':
			if (parse_allow(optarg, &wc) != 0) {
				fprintf(stderr, "web_serve: bad --allow '%s'\n", optarg);
				return 64;
			}
			break;
		case 'c':
			if (conf_load(optarg, &edge_conf, NULL, NULL, err, sizeof(err)) != 0) {
				fprintf(stderr, "web_serve: %s\n", err);
				return 64;
			}
			src.edge_conf = &edge_conf;
			break;
		default:
			fprintf(stderr, "usage: web_serve --status FILE [--listen A:P] [--token T] "
			    "[--allow CIDRS] [--data DIR] [--conf FILE] [--max-conns N] "
			    "[--per-ip N] [--timeout S]\n");
			return 64;
		}
	}
	if (x.status_file == NULL) {
		fprintf(stderr, "web_serve: --status FILE is required\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		return 1;
	if ((w = web_open(base, &wc, &src, err, sizeof(err))) == NULL) {
		fprintf(stderr, "web_serve: %s\n", err);
		return 1;
	}
	sigs[0] = evsignal_new(base, SIGTERM, on_signal, base);
	sigs[1] = evsignal_new(base, SIGINT, on_signal, base);
	if (sigs[0] == NULL || sigs[1] == NULL || evsignal_add(sigs[0], NULL) != 0 ||
	    evsignal_add(sigs[1], NULL) != 0)
		return 1;
	printf("web_serve: port %u\n", web_port(w));
	fflush(stdout);
	event_base_dispatch(base);
	web_close(w);
	event_free(sigs[0]);
	event_free(sigs[1]);
	if (x.st != NULL)
		store_close(x.st);
	event_base_free(base);
	return 0;
}
