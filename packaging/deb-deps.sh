#!/bin/sh
# Installs what `make deb` needs when missing, the way tests/deps.sh does for
# the build: as root with apt-get, otherwise print the exact command and fail.
# The list is the packaging tools plus Build-Depends from debian/control
# (debhelper-compat is provided by debhelper), so control stays the one truth.
set -u
control="$(dirname "$0")/debian/control"
[ -r "$control" ] || { echo "deb-deps: cannot read $control" >&2; exit 1; }
build_deps=$(sed -n '/^Build-Depends:/,/^[^ ]/{s/^Build-Depends://;/^[A-Z][A-Za-z-]*:/d;p}' "$control" \
	| tr ',' '\n' | sed 's/(.*)//;s/[[:space:]]//g' | grep -v -e '^$' -e '^debhelper-compat$')
PKGS="build-essential debhelper devscripts lintian fakeroot dpkg-dev "$(echo $build_deps)
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
		|| missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "installing packaging dependencies:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || exit 1
	apt-get install -y -qq --no-install-recommends $missing || exit 1
else
	echo "missing packaging dependencies:$missing" >&2
	echo "run as root:  apt-get install -y$missing" >&2
	exit 1
fi
