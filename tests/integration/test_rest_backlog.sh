#!/usr/bin/env bash
# test_cloud_backlog.sh over [cloud] transport = rest: a 100,000-event
# backlog drains through /events/batch (several requests in flight on the
# keep-alive connections), oldest first, each event accepted once.
CLOUD_TRANSPORT=rest exec bash "${CT_TOP:-.}/tests/integration/test_cloud_backlog.sh"
