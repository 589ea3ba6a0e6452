package cluster

import (
	"context"
	"os/user"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
)

// Identity names who plumb acts as on the cluster: the user name the API
// server authenticated (a SelfSubjectReview, as kubectl auth whoami does).
// When the server will not say, it is the local account, marked as such.
func (c *Cluster) Identity(ctx context.Context) string {
	if cl, err := authclient.NewForConfig(c.Config); err == nil {
		if r, err := cl.SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{}); err == nil && r.Status.UserInfo.Username != "" {
			return r.Status.UserInfo.Username
		}
	}
	if u, err := user.Current(); err == nil {
		return "local:" + u.Username
	}
	return "unknown"
}
