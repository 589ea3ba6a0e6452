package testcluster

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsv1apply "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1apply "k8s.io/client-go/applyconfigurations/core/v1"
	metav1apply "k8s.io/client-go/applyconfigurations/meta/v1"
)

var env *Env

func TestMain(m *testing.M) { Main(m, &env) }

// TestServerSideApplyRecordsManagedFields proves the control plane is real:
// a server-side apply through client-go is defaulted by the server and
// recorded in managedFields under the applying manager.
func TestServerSideApplyRecordsManagedFields(t *testing.T) {
	ns := env.Namespace(t)
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	apply := appsv1apply.Deployment("web", ns).
		WithSpec(appsv1apply.DeploymentSpec().
			WithReplicas(2).
			WithSelector(metav1apply.LabelSelector().WithMatchLabels(labels)).
			WithTemplate(corev1apply.PodTemplateSpec().
				WithLabels(labels).
				WithSpec(corev1apply.PodSpec().WithContainers(
					corev1apply.Container().WithName("web").WithImage("nginx:1.27")))))

	deployments := env.Clientset.AppsV1().Deployments(ns)
	if _, err := deployments.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "plumb-test", Force: true}); err != nil {
		t.Fatalf("server-side apply: %v", err)
	}
	got, err := deployments.Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get deployment: %v", err)
	}

	// The server filled in defaults the apply did not send.
	if got.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Errorf("strategy = %q, want the server's default %q", got.Spec.Strategy.Type, appsv1.RollingUpdateDeploymentStrategyType)
	}
	if pp := got.Spec.Template.Spec.Containers[0].ImagePullPolicy; pp != corev1.PullIfNotPresent {
		t.Errorf("imagePullPolicy = %q, want the server's default %q", pp, corev1.PullIfNotPresent)
	}

	var entry *metav1.ManagedFieldsEntry
	for i := range got.ManagedFields {
		if got.ManagedFields[i].Manager == "plumb-test" {
			entry = &got.ManagedFields[i]
		}
	}
	if entry == nil {
		t.Fatalf("no managedFields entry for plumb-test; got %+v", got.ManagedFields)
	}
	if entry.Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("operation = %q, want Apply", entry.Operation)
	}
	fields := entry.FieldsV1.GetRawString()
	for _, want := range []string{`"f:replicas"`, `"k:{\"name\":\"web\"}"`, `"f:image"`} {
		if !strings.Contains(fields, want) {
			t.Errorf("managed fields lack %s: %s", want, fields)
		}
	}
	// Defaults are owned by nobody: the applier owns only what it sent.
	if strings.Contains(fields, `"f:imagePullPolicy"`) {
		t.Errorf("applier owns defaulted imagePullPolicy: %s", fields)
	}
}

// TestKubeconfigContextReachesServer checks the written kubeconfig and the
// pinned kubectl, which later tests use to make out-of-band changes.
func TestKubeconfigContextReachesServer(t *testing.T) {
	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "create", "configmap", "settings", "--from-literal=mode=fast")
	out := env.Kubectl(t, "", "--context", ContextName, "-n", ns, "get", "configmap", "settings", "-o", "jsonpath={.data.mode}")
	if out != "fast" {
		t.Fatalf("kubectl read back %q, want %q", out, "fast")
	}
}

func TestNamespaceName(t *testing.T) {
	tests := []struct {
		test string
		seq  int64
		want string
	}{
		{"TestScan", 1, "testscan-1"},
		{"TestScan/kubectl_scale", 12, "testscan-kubectl-scale-12"},
		{"__", 3, "test-3"},
		{strings.Repeat("x", 80), 7, strings.Repeat("x", 61) + "-7"},
	}
	for _, tt := range tests {
		if got := namespaceName(tt.test, tt.seq); got != tt.want {
			t.Errorf("namespaceName(%q, %d) = %q, want %q", tt.test, tt.seq, got, tt.want)
		}
	}
}
