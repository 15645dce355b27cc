#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# Install the Debian packages named on the command line that are missing.
# Quiet when everything is there; needs root (apt-get) otherwise.
set -e
missing=""
for pkg in "$@"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# The tests run their own Postfix instances from private directories; the
# package must not configure, or leave running, a system MTA on the host.
case " $missing " in *" postfix "*)
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
esac
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
case " $missing " in *" postfix "*)
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable postfix.service >/dev/null 2>&1 || true
		if [ -d /run/systemd/system ]; then
			systemctl stop postfix.service >/dev/null 2>&1 || true
		fi
	elif command -v update-rc.d >/dev/null 2>&1; then
		update-rc.d postfix disable >/dev/null 2>&1 || true
		invoke-rc.d postfix stop >/dev/null 2>&1 || true
	fi
esac
