#!/usr/bin/env bash
# install-deps.sh installs the system packages plumb's tests need when they
# are missing: today only etcd, from Debian's etcd-server package.
set -euo pipefail

if ! command -v etcd >/dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "install-deps.sh: installing etcd-server" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq etcd-server >/dev/null
fi
