#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Before make builds anything: are the build's dependencies there? Each
# argument is PACKAGE:WHAT, what the build takes from that Debian package:
# a command, looked for in PATH, or a file (an absolute path), looked for
# under $DEPS_ROOT (default /). Silent, exit 0, when all are there;
# otherwise one message naming the missing packages and how to install
# them, exit 1. A few stat calls: no apt, no dpkg, no network.
root=${DEPS_ROOT:-}
missing=
for need; do
	pkg=${need%%:*}
	what=${need#*:}
	if [ -z "$pkg" ] || [ "$pkg" = "$need" ] || [ -z "$what" ]; then
		echo "check-deps.sh: bad argument '$need' (want PACKAGE:COMMAND or PACKAGE:/FILE)" >&2
		exit 2
	fi
	case "$what" in
	/*) [ -e "$root$what" ] && continue ;;
	*) command -v "$what" >/dev/null 2>&1 && continue ;;
	esac
	# One name per package, however many of its files are missing.
	case " $missing " in *" $pkg "*) ;; *) missing="$missing $pkg" ;; esac
done
[ -z "$missing" ] && exit 0
cat >&2 <<EOF
greywall: the build needs Debian packages that are not installed:$missing
Install them as root with 'make build-deps' (or: apt-get install$missing), then run make again.
EOF
exit 1
