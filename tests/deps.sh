#!/bin/sh
# Installs Debian packages when missing: the ones the build and tests need, or
# those named as arguments (packaging/deb-deps.sh passes its own list).
# As root it runs apt-get; otherwise it prints the exact command and fails.
PKGS="build-essential pkg-config clang libclang-rt-14-dev libevent-dev libssl-dev
libwslay-dev liblmdb-dev lmdb-utils libjansson-dev libinih-dev check
python3 python3-websockets python3-prometheus-client openssl iproute2 procps psmisc tzdata jq
curl fuse3 libfuse3-dev faketime"
[ $# -gt 0 ] && PKGS="$*"
what=${DEPS_WHAT:-build}
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' \
		|| missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "installing $what dependencies:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || exit 1
	apt-get install -y -qq --no-install-recommends $missing || exit 1
else
	echo "missing $what dependencies:$missing" >&2
	echo "run as root:  apt-get install -y$missing" >&2
	exit 1
fi
