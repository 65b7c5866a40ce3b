#!/usr/bin/env bash
# test_e2e_cloud_outage.sh over [cloud] transport = rest, with 8 s outages:
# the REST cloud stops listening twice while scales weigh; requests get no
# answer, the link goes down (after lib/http's retries and the grace), each
# scale gets one offline batch per outage, the probe finds the cloud again,
# and every batch is acknowledged (offline-batches/ack) with counts and
# eventIds equal to what the cloud received; every OK'd record arrives.
E2E_TRANSPORT=rest E2E_OUTAGE_S=${E2E_OUTAGE_S:-8} \
	exec bash "${CT_TOP:-.}/tests/integration/test_e2e_cloud_outage.sh"
