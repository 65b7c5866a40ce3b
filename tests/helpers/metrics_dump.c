/*
 * Test helper: prints the edge's /metrics exposition (lib/metrics) for a
 * status object in a file, the way the web worker will build it, so tests
 * can feed it to real Prometheus parsers.
 * Usage: metrics_dump STATUS.json|- [DATA_DIR|- [CONFIG]]
 *   STATUS.json  `carnitrackctl status --json` output ("-": none, daemon down)
 *   DATA_DIR     open <DATA_DIR>/store read-only for the store's figures
 *   CONFIG       edge.conf, for the configured scales
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "conf/conf.h"
#include "event/event.h"
#include "metrics/edge_metrics.h"
#include "store/store.h"

static struct ct_conf conf;

int
main(int argc, char **argv)
{
	json_t *status = NULL;
	struct store *st = NULL;
	struct store_opts o = { .readonly = true };
	struct evbuffer *out = evbuffer_new();
	json_error_t je;
	char err[1024];
	int rc = 0;

	if (argc < 2 || argc > 4 || out == NULL) {
		fprintf(stderr, "usage: metrics_dump STATUS.json|- [DATA_DIR|- [CONFIG]]\n");
		return 64;
	}
	if (strcmp(argv[1], "-") != 0 && (status = json_load_file(argv[1], 0, &je)) == NULL) {
		fprintf(stderr, "metrics_dump: %s:%d: %s\n", argv[1], je.line, je.text);
		return 1;
	}
	if (argc > 2 && strcmp(argv[2], "-") != 0 &&
	    store_open(&st, argv[2], &o, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "metrics_dump: %s\n", err);
		return 1;
	}
	if (argc > 3 && conf_load(argv[3], &conf, NULL, NULL, err, sizeof(err)) != 0) {
		fprintf(stderr, "metrics_dump: %s\n", err);
		return 1;
	}
	if (edge_metrics_write(out, status, st, argc > 3 ? &conf : NULL, ct_now_ms(), err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "metrics_dump: %s\n", err);
		rc = 1;
	}
	while (evbuffer_get_length(out) > 0)
		if (evbuffer_write(out, STDOUT_FILENO) < 0) {
			perror("metrics_dump: write");
			rc = 1;
			break;
		}
	evbuffer_free(out);
	json_decref(status);
	if (st != NULL)
		store_close(st);
	return rc;
}
