package admission

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// BreakGlassReason is the reason of the Kubernetes Event that records a use
// of the break-glass annotation.
const BreakGlassReason = "BreakGlass"

// RecordEvent records b as a Warning Event on the object (in "default" for
// a cluster-scoped one), where kubectl describe and kubectl events show it.
func RecordEvent(ctx context.Context, client kubernetes.Interface, b BreakGlass) error {
	ns := b.Object.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	what := "deleted it"
	if b.Operation != "DELETE" {
		what = "changed " + strings.Join(b.Paths, ", ")
	}
	now := metav1.NewTime(time.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: b.Object.Name + ".", Namespace: ns},
		InvolvedObject: corev1.ObjectReference{APIVersion: b.APIVersion, Kind: b.Object.Kind, Namespace: b.Object.Namespace,
			Name: b.Object.Name, UID: types.UID(b.UID)},
		Reason: BreakGlassReason,
		Message: fmt.Sprintf("%s broke glass (%s) and %s, which %s declares; plumb let the write through",
			b.User, b.Reason, what, b.Origin),
		Type:                corev1.EventTypeWarning,
		Source:              corev1.EventSource{Component: "plumb"},
		ReportingController: "plumb.dev/admission",
		ReportingInstance:   b.Cluster,
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
	}
	_, err := client.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{})
	return err
}
