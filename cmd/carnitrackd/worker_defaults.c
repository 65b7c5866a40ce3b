/*
 * A worker whose own file is not linked in still runs the full process frame
 * (handshake, ping, status, shutdown) with nothing else to do. The real
 * definitions in ingest_worker.c, store_worker.c and cloud_worker.c override
 * these weak ones.
 */
#include "worker.h"

__attribute__((weak)) const struct worker_ops ingest_worker_ops = { .proc = P_INGEST };
__attribute__((weak)) const struct worker_ops store_worker_ops = { .proc = P_STORE };
__attribute__((weak)) const struct worker_ops cloud_worker_ops = { .proc = P_CLOUD };
