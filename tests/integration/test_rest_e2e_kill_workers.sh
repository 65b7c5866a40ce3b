#!/usr/bin/env bash
# test_e2e_kill_workers.sh over [cloud] transport = rest: workers kill -9ed
# at random under controlled load, cloud outages among them (a killed
# cloud worker's requests die with it); every OK'd record accepted exactly
# once by localEventId, every offline batch acknowledged with its exact
# counts and eventIds.
E2E_TRANSPORT=rest exec bash "${CT_TOP:-.}/tests/integration/test_e2e_kill_workers.sh"
