/*
 * carnitrack-cloudsim: command line, TLS context, signals, and the loop.
 */
#include "sim.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "log/log.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: carnitrack-cloudsim [options]\n"
	    "A reference CarniTrack cloud: accepts edges over WebSocket and plays the cloud's\n"
	    "side of CLOUD_INTEGRATION_QUICKREF.md, in memory.\n"
	    "  -l, --listen HOST:PORT   address to listen on [127.0.0.1:8080]\n"
	    "  -p, --port PORT          same as --listen 127.0.0.1:PORT\n"
	    "      --cert FILE          serve wss:// with this PEM certificate chain\n"
	    "      --key FILE           and this PEM private key\n"
	    "      --require-token TOK  refuse the upgrade (401) without 'Authorization: Bearer "
	    "TOK'\n"
	    "      --reject-plu LIST    answer event_rejected to events with these PLU codes\n"
	    "                           (comma-separated, e.g. 00013,00099)\n"
	    "      --auto-session       start a session for every scale that connects (or shows\n"
	    "                           up in an event without one)\n"
	    "      --no-ack             start with acknowledgements off (see 'ack on')\n"
	    "  -q, --quiet              no line per event (other messages are still printed)\n"
	    "  -c, --control PORT       also read commands from 127.0.0.1:PORT (TCP, one per "
	    "line)\n"
	    "      --event-log FILE     append one line per event: localEventId outcome deviceId\n"
	    "                           weightGrams cloudSessionId|- offlineBatchId|-\n"
	    "Dialects (the clouds that exist; see README.md):\n"
	    "      --register-reply R   edge_registered (default), config_update, none, or http\n"
	    "                           (identity only from POST on this port)\n"
	    "      --numeric-ids        ids as JSON integers\n"
	    "      --binary-frames      every message in a binary frame\n"
	    "      --epoch-timestamps   envelope timestamp as epoch milliseconds\n"
	    "      --session-id-alias   sessionId, no deviceId on end/pause/resume, status\n"
	    "      --no-dedupe          a re-sent event gets event_rejected \"duplicate\"\n"
	    "REST (shared/protocol/REST_API.md) instead of WebSocket:\n"
	    "      --rest               serve the REST API (http://, https:// with --cert/--key)\n"
	    "      --rest-base PATH     API base path [/api/v1]: <PATH>/edge/..., <PATH>/activate\n"
	    "      --rest-listen H:P    the REST API on H:P as well, beside the WebSocket, one\n"
	    "                           cloud (sessions, edges, events) behind both\n"
	    "      --batch-limit N      events per POST /events/batch (413 beyond) [500]\n"
	    "      --intervals I,W,A,H  /config poll intervals idle, waiting, active and the\n"
	    "                           heartbeat, ms [120000,5000,30000,30000]\n"
	    "      --accept-any-edge    take any well-formed X-Edge-Id (default: only ids\n"
	    "                           this cloud issued; others get 401 unknown_edge)\n"
	    "      --activation-code C  a single-use code for POST /activate (up to 8)\n"
	    "  -h, --help               this text\n"
	    "Commands on stdin and the control port ('help' lists them): start SCALE [tag],\n"
	    "end SCALE, pause [SCALE], resume [SCALE], drop, stop, listen, send TEXT, sendbin "
	    "TEXT,\n"
	    "ack on|off, forget, stats, batches, sessions, quit; with --rest also\n"
	    "fail STATUS [N [SECS]] and hang [N].\n"
	    "On exit (quit, SIGINT, SIGTERM) it prints:\n"
	    "  cloudsim: accepted=N duplicates=N rejected=N batches=N batch_events=N\n");
}

static int
parse_plu_list(struct sim_opts *o, const char *list)
{
	char buf[1024], *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (o->nreject_plu >= SIM_MAX_REJECT_PLU || strlen(t) >= sizeof(o->reject_plu[0]))
			return -1;
		snprintf(o->reject_plu[o->nreject_plu++], sizeof(o->reject_plu[0]), "%s", t);
	}
	return 0;
}

static int
parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return (*s == '\0' || *end != '\0' || v < 1 || v > 65535) ? -1 : (int)v;
}

static SSL_CTX *
tls_context(const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_err("--cert %s: %s", cert, ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		log_err("--key %s: %s", key, ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sim *s = arg;

	event_base_loopexit(s->base, NULL);
}

/* fds 0-2 closed by whoever started us would be taken by our sockets. */
static void
ensure_std_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "require-token", required_argument, NULL, 'T' },
		{ "reject-plu", required_argument, NULL, 'R' },
		{ "auto-session", no_argument, NULL, 'A' },
		{ "no-ack", no_argument, NULL, 'N' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "control", required_argument, NULL, 'c' },
		{ "event-log", required_argument, NULL, 'E' },
		{ "register-reply", required_argument, NULL, 'G' },
		{ "numeric-ids", no_argument, NULL, 'I' },
		{ "binary-frames", no_argument, NULL, 'B' },
		{ "epoch-timestamps", no_argument, NULL, 'S' },
		{ "session-id-alias", no_argument, NULL, 'a' },
		{ "no-dedupe", no_argument, NULL, 'D' },
		{ "rest", no_argument, NULL, SIM_OPT_REST },
		{ "rest-base", required_argument, NULL, SIM_OPT_REST_BASE },
		{ "rest-listen", required_argument, NULL, SIM_OPT_REST_LISTEN },
		{ "batch-limit", required_argument, NULL, SIM_OPT_BATCH_LIMIT },
		{ "intervals", required_argument, NULL, SIM_OPT_INTERVALS },
		{ "accept-any-edge", no_argument, NULL, SIM_OPT_ANY_EDGE },
		{ "activation-code", required_argument, NULL, SIM_OPT_ACTIVATION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct sim sim;   /* large (session table): not on the stack */
	struct sim *s = &sim;
	struct event *sigint, *sigterm;
	int ch, port;

	ensure_std_fds();
	log_init("cloudsim", true, LOG_LVL_INFO);
	snprintf(s->o.listen, sizeof(s->o.listen), "127.0.0.1:8080");
	sim_rest_defaults(&s->o);
	while ((ch = getopt_long(argc, argv, "l:p:qc:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			snprintf(s->o.listen, sizeof(s->o.listen), "%s", optarg);
			break;
		case 'p':
			if ((port = parse_port(optarg)) < 0) {
				log_err("--port %s: not a port number", optarg);
				return 2;
			}
			snprintf(s->o.listen, sizeof(s->o.listen), "127.0.0.1:%d", port);
			break;
		case 'C': s->o.cert = optarg; break;
		case 'K': s->o.key = optarg; break;
		case 'T': s->o.token = optarg; break;
		case 'R':
			if (parse_plu_list(&s->o, optarg) != 0) {
				log_err("--reject-plu %s: too many or too long codes", optarg);
				return 2;
			}
			break;
		case 'A': s->o.auto_session = true; break;
		case 'N': s->o.no_ack = true; break;
		case 'q': s->o.quiet = true; break;
		case 'c':
			if ((s->o.control_port = parse_port(optarg)) < 0) {
				log_err("--control %s: not a port number", optarg);
				return 2;
			}
			break;
		case 'E': s->o.event_log = optarg; break;
		case 'G':
			if (sim_reply_parse(optarg, &s->o.register_reply) != 0) {
				log_err("--register-reply %s: not edge_registered, config_update, "
				    "none "
				    "or http", optarg);
				return 2;
			}
			break;
		case 'I': s->o.numeric_ids = true; break;
		case 'B': s->o.binary_frames = true; break;
		case 'S': s->o.epoch_timestamps = true; break;
		case 'a': s->o.session_id_alias = true; break;
		case 'D': s->o.no_dedupe = true; break;
		case SIM_OPT_REST ... SIM_OPT_ACTIVATION:
			if (sim_rest_option(&s->o, ch, optarg) != 0)
				return 2;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || (s->o.cert == NULL) != (s->o.key == NULL)) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Per-event lines go to a file or pipe in tests: buffer them and
	 * flush once per loop turn (sim_pump_all), not per line. */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	s->acking = !s->o.no_ack;
	if (RAND_bytes(s->cloud_key, sizeof(s->cloud_key)) != 1 ||
	    RAND_bytes(s->msg_base, sizeof(s->msg_base)) != 1) {
		log_err("RAND_bytes failed");
		return 1;
	}
	if (idset_init(&s->ids) != 0 ||
	    (s->batches = calloc(SIM_MAX_BATCHES, sizeof(*s->batches))) == NULL ||
	    (s->scan = calloc(CM_SCAN_MAX, sizeof(*s->scan))) == NULL) {
		log_err("out of memory");
		return 1;
	}
	if (s->o.event_log != NULL && (s->event_log = fopen(s->o.event_log, "a")) == NULL) {
		log_errno("--event-log %s", s->o.event_log);
		return 1;
	}
	if (s->o.cert != NULL && (s->ssl = tls_context(s->o.cert, s->o.key)) == NULL)
		return 1;
	if ((s->base = event_base_new()) == NULL) {
		log_err("event_base_new failed");
		return 1;
	}
	if ((s->o.rest ? sim_rest_listen(s) : sim_listen(s)) != 0 ||
	    (!s->o.rest && s->o.rest_listen[0] && sim_rest_listen(s) != 0) ||
	    sim_control_init(s) != 0)
		return 1;
	sigint = evsignal_new(s->base, SIGINT, signal_cb, s);
	sigterm = evsignal_new(s->base, SIGTERM, signal_cb, s);
	if (sigint == NULL || sigterm == NULL || event_add(sigint, NULL) != 0 ||
	    event_add(sigterm, NULL) != 0) {
		log_err("cannot install signal handlers");
		return 1;
	}
	if (event_base_dispatch(s->base) < 0) {
		log_err("event loop failed");
		s->exit_code = 1;
	}

	sim_drop_all(s);
	sim_unlisten(s);
	sim_rest_free(s);
	sim_control_free(s);
	event_free(sigint);
	event_free(sigterm);
	if (s->event_log != NULL)
		fclose(s->event_log);
	sim_summary(s);
	event_base_free(s->base);
	if (s->ssl != NULL)
		SSL_CTX_free(s->ssl);
	idset_free(&s->ids);
	free(s->batches);
	free(s->scan);
	return s->exit_code;
}
