#!/usr/bin/env bash
# The cloud floods of issue 18 at the issue's own figures, in `make
# check-long`: a 20 s WebSocket ping flood with RssAnon read 15 s after it
# (the cloud worker under 16 MiB throughout), and a 60 s plu_updated and
# session_started flood (cloud-driven state within its quota while a scale
# gets every OK, then a good cloud). make check runs both, shorter.
set -euo pipefail
CT_TOP=${CT_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
PING_FLOOD_S=20 PING_AFTER_S=15 bash "$CT_TOP/tests/integration/test_cloud_ping_flood.sh"
STATE_FLOOD_S=60 bash "$CT_TOP/tests/integration/test_cloud_state_quota.sh"
