#!/bin/sh
# Installs what `make deb` needs when missing, through tests/deps.sh: as root
# with apt-get, otherwise print the exact command and fail.
# The list is the packaging tools plus Build-Depends from debian/control
# (debhelper-compat is provided by debhelper), so control stays the one truth.
set -u
control="$(dirname "$0")/debian/control"
[ -r "$control" ] || { echo "deb-deps: cannot read $control" >&2; exit 1; }
build_deps=$(sed -n \
	'/^Build-Depends:/,/^[^ ]/{s/^Build-Depends://;/^[A-Z][A-Za-z-]*:/d;p}' "$control" \
	| tr ',' '\n' | sed 's/(.*)//;s/[[:space:]]//g' | grep -v -e '^$' -e '^debhelper-compat$')
PKGS="build-essential debhelper devscripts lintian fakeroot dpkg-dev "$(echo $build_deps)
DEPS_WHAT=packaging exec "$(dirname "$0")/../tests/deps.sh" $PKGS
