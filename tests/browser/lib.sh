# Helpers for the browser tests (make check-browser), on top of
# tests/integration/lib.sh:
#   serve NAME ARGS...     start tests/helpers/web_serve, its port in $PORT
#   browse URL OUT [ARGS]  the DOM after the page's scripts ran, into OUT
#   shoot URL PNG          a screenshot, 1024x1366 (a tablet held upright)
. "$CT_TOP/tests/integration/lib.sh"

command -v chromium >/dev/null || fail "chromium not installed (make check-browser installs it)"

serve() {
	local name=$1; shift
	bg "$name" "$B/tests/web_serve" "$@" >/dev/null
	wait_for 10 "$name listening" grep -q "port" "$T/$name.log"
	PORT=$(awk '/port/ {print $3}' "$T/$name.log")
}

# Headless Chromium as root, with nothing that reaches outside: no sandbox
# (root), no GPU, no QUIC, no background or component traffic, a fresh
# profile each run. The virtual time budget lets the page's fetch of
# status.json and its rendering finish before the DOM is dumped.
CHROME_FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--disable-default-apps --mute-audio --virtual-time-budget=4000)
chrome() {
	local profile; profile=$(mktemp -d "$T/chrome.XXXXXX")
	timeout 60 chromium "${CHROME_FLAGS[@]}" --user-data-dir="$profile" "$@" 2>>"$T/chrome.log"
}
browse() { chrome --dump-dom "$1" > "$2"; }
shoot() { chrome --window-size=1024,1366 --screenshot="$2" "$1" >/dev/null; }
