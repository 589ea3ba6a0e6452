#!/usr/bin/env bash
# assets.sh makes sure the test control plane exists and prints its folder.
#
# The folder holds kube-apiserver and kubectl built from the k8s.io/kubernetes
# version pinned in hack/k8s/go.mod, and a link to Debian's etcd. It is keyed by
# that version under the user's cache folder, so every clone on this machine
# (CI uses a fresh one) shares one build; it is rebuilt only when the pin moves.
# Progress goes to stderr; stdout is only the folder, for KUBEBUILDER_ASSETS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
version=$(awk '$1 == "require" && $2 == "k8s.io/kubernetes" {print $3}' "$here/go.mod")
version=${version#v}
[ -n "$version" ] || { echo "assets.sh: no k8s.io/kubernetes pin in $here/go.mod" >&2; exit 2; }
dir="${XDG_CACHE_HOME:-$HOME/.cache}/plumb/k8s-$version"
mkdir -p "$dir"

# The recipe names how the binaries are built; changing it rebuilds them.
# They are stamped with their version, as Kubernetes' own build does, so
# discovery reports v$version (Helm checks a chart's kubeVersion against it).
pkg=k8s.io/component-base/version
minor=${version#*.}; minor=${minor%%.*}
ldflags="-s -w -X $pkg.gitVersion=v$version -X $pkg.gitMajor=${version%%.*} -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
recipe="go build -trimpath -ldflags='$ldflags'"

if [ ! -x "$dir/kube-apiserver" ] || [ ! -x "$dir/kubectl" ] || [ "$(cat "$dir/recipe" 2>/dev/null)" != "$recipe" ]; then
	echo "assets.sh: building kube-apiserver and kubectl $version into $dir (about 10 minutes, once)" >&2
	tmp=$(mktemp -d "$dir/.build.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	(cd "$here" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$tmp/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
	# Rename into place only once both exist, so an interrupted build is redone.
	mv -f "$tmp/kube-apiserver" "$dir/kube-apiserver"
	mv -f "$tmp/kubectl" "$dir/kubectl"
	echo "$recipe" >"$dir/recipe"
fi

etcd=$(command -v etcd || true)
[ -n "$etcd" ] || { echo "assets.sh: etcd not found; install Debian's etcd-server package" >&2; exit 2; }
ln -sfn "$etcd" "$dir/etcd"
echo "$dir"
