#!/bin/sh
# Runs a command inside the file-system sandbox of carnitrack-edge.service,
# for testing the daemon where systemd is not running (CI, containers):
#   unshare --mount --propagation private sandbox.sh RW_DIR... -- COMMAND...
# ProtectSystem=strict   every mount read-only except /dev, /proc, /sys and
#                        the RW_DIRs (StateDirectory, RuntimeDirectory)
# ProtectHome=yes        /home, /root, /run/user empty and inaccessible
# PrivateTmp=yes         fresh /tmp and /var/tmp
# The rest of the unit (NoNewPrivileges, no capabilities, UMask, User=) is
# setpriv's job in the caller; the system-call and address-family filters
# have no stand-in here.
set -eu

rw=""
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	rw="$rw $1"
	shift
done
[ $# -gt 1 ] || { echo "usage: sandbox.sh RW_DIR... -- COMMAND..." >&2; exit 2; }
shift

# Bind each writable dir onto itself first: a mount of its own keeps it
# writable when everything else is made read-only below.
for d in $rw; do
	mount --bind "$d" "$d"
done

findmnt -rn -o TARGET | while read -r target; do
	target=$(printf '%b' "$target")    # findmnt -r escapes blanks as \x20
	case "$target" in
	/proc | /proc/* | /sys | /sys/* | /dev | /dev/*) continue ;;
	esac
	for d in $rw; do
		[ "$target" = "$d" ] && continue 2
	done
	mount -o remount,bind,ro "$target"
done

for d in /home /root /run/user; do
	[ -d "$d" ] && mount -t tmpfs -o mode=000,size=4k tmpfs "$d"
done
for d in /tmp /var/tmp; do
	[ -d "$d" ] && mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$d"
done

exec "$@"
