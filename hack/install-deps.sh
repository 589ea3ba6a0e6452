#!/usr/bin/env bash
# install-deps.sh installs the system packages plumb's tests need when they
# are missing, from Debian: etcd (etcd-server) for the test control plane,
# and PostgreSQL (postgresql: initdb and postgres under
# /usr/lib/postgresql/VERSION/bin) for the store's tests.
set -euo pipefail

packages=()
command -v etcd >/dev/null 2>&1 || packages+=(etcd-server)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || packages+=(postgresql)
# Headless Chromium for the dashboard's browser tests (chromedp).
command -v chromium >/dev/null 2>&1 || packages+=(chromium)

if [ "${#packages[@]}" -gt 0 ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "install-deps.sh: installing ${packages[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${packages[@]}" >/dev/null
fi
