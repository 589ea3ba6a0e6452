#!/usr/bin/env bash
# Builds plumb's kubectl plugin archives and its krew manifest (called by
# `make plugin`): for each os/arch in PLATFORMS, OUT/kubectl-plumb_VERSION_OS_ARCH.tar.gz
# holding the static binary kubectl-plumb, then OUT/plumb.yaml from hack/krew/plumb.yaml with every platform's SHA-256. A
# platform not built keeps its ${SHA256_...} placeholder.
#
#   hack/krew/build.sh OUT VERSION RELEASE_URL "linux/amd64 darwin/arm64" -tags T -ldflags L
set -euo pipefail

out=$1 version=$2 url=$3 platforms=$4
shift 4
mkdir -p "$out"
manifest=$(sed -e "s|\${VERSION}|$version|g" -e "s|\${RELEASE_URL}|$url|g" hack/krew/plumb.yaml)
for p in $platforms; do
	os=${p%/*} arch=${p#*/}
	stage=$(mktemp -d)
	CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath "$@" -o "$stage/kubectl-plumb" ./cmd/plumb
	archive="$out/kubectl-plumb_${version}_${os}_${arch}.tar.gz"
	# Reproducible: fixed owner, order and times.
	tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@${SOURCE_DATE_EPOCH:-0}" \
		-C "$stage" -cf - kubectl-plumb | gzip -n >"$archive"
	rm -rf "$stage"
	sum=$(sha256sum "$archive" | cut -d' ' -f1)
	manifest=$(sed -e "s|\${SHA256_${os}_${arch}}|$sum|" <<<"$manifest")
	echo "$archive"
done
printf '%s\n' "$manifest" >"$out/plumb.yaml"
echo "$out/plumb.yaml"
