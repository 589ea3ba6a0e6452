package output

import "strings"

// ResourceName is an object's name as kubectl -o name prints it:
// kind.group/name in lower case (deployment.apps/web), without a group for
// the core group (configmap/flags), and without the namespace.
func ResourceName(apiVersion, kind, name string) string {
	k := strings.ToLower(kind)
	if g, _, ok := strings.Cut(apiVersion, "/"); ok {
		k += "." + g
	}
	return k + "/" + name
}
