#!/usr/bin/env bash
# The architecture, checked (issue 17): cheap, no daemon, a few seconds.
#   1. every .c/.h file is under 600 lines and opens with a comment;
#   2. no line of code (C, shell, Python, make, HTML) is over 100 columns
#      (tabs to 8);
#   3. the cloud worker's files depend on each other one way: the file graph
#      built from the objects' defined and undefined symbols (nm) has no
#      cycle, and neither has the graph of lib/'s directories;
#   4. every exported symbol of lib/ and cmd/ has a user outside its own
#      file and outside tests/ and bench/ (nm cross-reference), but for the
#      allow-list below, each entry with its reason; no weak symbols;
#   5. no test includes daemon code ("../../cmd/").
# Needs the objects of $BUILD (make test-build). Prints what it checked;
# every finding names the file (and line or symbol).
set -euo pipefail
CT_TOP=${CT_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
B=${BUILD:-build}
case "$B" in /*) ;; *) B="$CT_TOP/$B" ;; esac
cd "$CT_TOP"
T=$(mktemp -d /tmp/ct-layout.XXXXXX)
trap 'rm -rf "$T"' EXIT
bad=0
finding() { echo "LAYOUT: $*"; bad=1; }

# Exported symbols without a user outside tests, each with its reason.
ALLOW='
channel_stats         the channel counters: test_frame sees bad frames counted; not shown yet
http_post_once        carnitrackctl activate, a one-shot POST (issue 13)
web_port              the port the kernel picked for listen :0, for tests/helpers/web_serve
store_event_get_by_id read-back: the store tests check what was written by id
rest_batch_of         a whole batch body at once: tests, rest_probe, bench_rest
store_plu_get         read-back: the store tests check PLU rows (printing is out of scope)
dp401_ack_waiting     the OK ledger count its unit test checks
ws_client_close       a graceful close, tested; the transport frees the link instead
ws_client_state       the client state, tested; the transport keeps its own
'
# Whole files allowed without users (none now).
ALLOW_FILES='
'

# ---- 1, 2, 5: sizes, columns, opening comments, includes
mapfile -t csrc < <(find lib cmd tests bench proto -name '*.[ch]' -not -path '*/corpus/*' |
    sort)
mapfile -t code < <(find lib cmd tests bench proto etc packaging -type f \
    \( -name '*.[ch]' -o -name '*.sh' -o -name '*.py' -o -name '*.mk' -o -name '*.html' \) \
    -not -path '*/corpus/*' | sort; echo Makefile; echo .ci/run)
for f in "${csrc[@]}"; do
	n=$(wc -l < "$f")
	[ "$n" -lt 600 ] || finding "$f: $n lines (at most 599)"
	head -c 2 "$f" | grep -q '^/[*/]' || finding "$f: does not open with a comment"
done
for f in "${code[@]}"; do
	expand -t 8 "$f" | awk -v f="$f" 'length($0) > 100 {
		printf "LAYOUT: %s:%d: %d columns (at most 100)\n", f, NR, length($0) }'
done > "$T/cols"
if [ -s "$T/cols" ]; then cat "$T/cols"; bad=1; fi
if grep -rln '#include "\.\./\.\./cmd/' tests bench 2>/dev/null; then
	finding "tests include daemon sources (the files above): move that code to lib/"
fi
echo "checked ${#csrc[@]} C files (lines, opening comment) and ${#code[@]} code files (columns)"

# ---- symbols of every object built from lib/ and cmd/
mapfile -t objsrc < <(ls lib/*/*.c cmd/*/*.c)
: > "$T/def"; : > "$T/undef"
for s in "${objsrc[@]}" gen/web_page.c; do
	o=$B/obj/${s%.c}.o
	[ -f "$o" ] || { echo "LAYOUT: $o missing: run make test-build first"; exit 1; }
	# (names the compiler makes, e.g. ASan's __odr_asan.*, are not ours)
	nm -g --defined-only "$o" | awk -v f="$s" 'NF == 3 && $3 !~ /^__/ { print f, $3, $2 }' \
	    >> "$T/def"
	nm -u "$o" | awk -v f="$s" '{ print f, $NF }' >> "$T/undef"
done

# ---- 3: no cycle among the cloud worker's files, nor among lib/'s directories
edges() {   # $1: awk regex of the files in the graph; $2: awk program mapping a file to a node
	awk -v re="$1" '
	NR == FNR { if ($1 ~ re) def[$2] = $1; next }
	$1 ~ re && ($2 in def) { print $1, def[$2] }' "$T/def" "$T/undef" |
	    awk "$2" | sort -u
}
cycle() {   # $1: what; stdin: "from to" edges
	local out
	awk '$1 != $2' > "$T/edges"
	if ! out=$(tsort "$T/edges" 2>&1 >/dev/null) || [ -n "$out" ]; then
		finding "$1 has a cycle:"; echo "$out" | sed 's/^/    /'
		sed 's/^/    edge: /' "$T/edges"
	fi
	echo "checked $1: $(wc -l < "$T/edges") one-way dependencies, no cycle"
}
edges '^cmd/carnitrackd/c[wl][a-z_]*\.c$' '{ print }' | cycle "the cloud worker's files"
edges '^lib/' '{ split($1, a, "/"); split($2, b, "/"); print a[2], b[2] }' |
    cycle "lib/'s directories"

# ---- 4: exported symbols without a user outside their file
awk '$3 ~ /^[wWvV]$/ { printf "LAYOUT: %s: weak symbol %s\n", $1, $2 }' "$T/def" > "$T/weak"
if [ -s "$T/weak" ]; then cat "$T/weak"; bad=1; fi
echo "$ALLOW" | awk 'NF { print $1 }' > "$T/allow"
echo "$ALLOW_FILES" | awk 'NF { print $1 }' > "$T/allowf"
# an allowed symbol that is gone must leave the list too
while read -r sym; do
	awk -v s="$sym" '$2 == s' "$T/def" | grep -q . ||
	    echo "LAYOUT: allow-list: $sym is not an exported symbol (any more)"
done < "$T/allow" > "$T/gone"
if [ -s "$T/gone" ]; then cat "$T/gone"; bad=1; fi
# Used in its own file: the name appears there beyond its definition (the
# compiler may have inlined the call, so the object cannot tell).
while read -r f sym type; do
	[ -f "$f" ] || continue
	case $type in T) re="\\<$sym *(" ;; *) re="\\<$sym\\>" ;; esac
	if [ "$(grep -c -- "$re" "$f")" -gt 1 ]; then echo "$f $sym"; fi
done < "$T/def" > "$T/ownuse"
# ... and used by tests (unit tests, fuzz targets, test helpers, benchmarks).
for o in "$B"/obj/tests/*/*.o "$B"/obj/bench/*.o; do
	if [ -f "$o" ]; then nm -u "$o" | awk '{ print $NF }'; fi
done | sort -u > "$T/testuse"
awk 'FILENAME == ARGV[1] { allow[$1] = 1; next }
     FILENAME == ARGV[2] { allowf[$1] = 1; next }
     FILENAME == ARGV[3] { used[$2] = used[$2] " " $1; next }
     FILENAME == ARGV[4] { own[$1 " " $2] = 1; next }
     FILENAME == ARGV[5] { tested[$1] = 1; next }
     $2 != "main" {
	n = split(used[$2], u, " "); other = 0
	for (i = 1; i <= n; i++) if (u[i] != $1) other = 1
	if (other && ($2 in allow))
		printf "LAYOUT: allow-list: %s has a user now: take it off the list\n", $2
	if (other) next
	if ($2 in allow) { allowed++; next }
	if ($1 in allowf) next
	if (own[$1 " " $2] && ($2 in tested)) { seams++; next }
	if (own[$1 " " $2])
		printf "LAYOUT: %s: %s is used only in that file: make it static\n", $1, $2
	else
		printf "LAYOUT: %s: %s has no user outside tests\n", $1, $2
     }
     END { printf "allowed without a user: %d symbols; used in their own file and " \
	"exported for their unit tests: %d\n", allowed + 0, seams + 0 > "/dev/stderr" }' \
    "$T/allow" "$T/allowf" "$T/undef" "$T/ownuse" "$T/testuse" "$T/def" > "$T/dead" \
    2> "$T/allowed"
if [ -s "$T/dead" ]; then cat "$T/dead"; bad=1; fi
echo "checked $(wc -l < "$T/def") exported symbols of ${#objsrc[@]} objects;" \
    "$(cat "$T/allowed")," "$(echo "$ALLOW_FILES" | awk 'NF' | wc -l) files allowed whole"
[ "$bad" = 0 ] || { echo "layout check failed"; exit 1; }
echo "layout check passed"
