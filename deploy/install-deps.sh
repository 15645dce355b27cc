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
# CrowdSec's post-install script registers with the online API unless
# online_api_credentials.yaml has something in it; offline that fails the
# install. The tests run private LAPIs, which never use it.
case " $missing " in *" crowdsec "*)
	if [ ! -s /etc/crowdsec/online_api_credentials.yaml ]; then
		mkdir -p /etc/crowdsec
		echo "# greywall: no online API (deploy/install-deps.sh)" \
			>/etc/crowdsec/online_api_credentials.yaml
	fi
esac
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends $missing >/dev/null
# Packages that ship a service: the benchmarks and tests run private
# instances, so the system's is left disabled and stopped.
# crowdsec-firewall-bouncer's post-install also registers a bouncer in the
# system LAPI's database: harmless, left as it is.
for svc in postfix postgrey endlessh dovecot crowdsec crowdsec-firewall-bouncer prometheus; do
	case " $missing " in *" $svc "*) ;; *) continue ;; esac
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable "$svc.service" >/dev/null 2>&1 || true
		if [ -d /run/systemd/system ]; then
			systemctl stop "$svc.service" >/dev/null 2>&1 || true
		fi
	fi
	if [ -x "/etc/init.d/$svc" ] && command -v update-rc.d >/dev/null 2>&1; then
		update-rc.d "$svc" disable >/dev/null 2>&1 || true
		invoke-rc.d "$svc" stop >/dev/null 2>&1 || true
	fi
done
