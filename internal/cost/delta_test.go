package cost

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func object(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatalf("object: %v", err)
	}
	return u
}

const cassandra = `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: cassandra, namespace: db}
spec:
  replicas: %d
  template:
    spec:
      containers:
      - name: cassandra
        resources: {requests: {cpu: 300m, memory: 1Gi}}
`

func TestDelta(t *testing.T) {
	tests := []struct {
		name          string
		desired, live string
		want          string // JSON, "null" for none
	}{
		{
			name:    "statefulset scaled up",
			desired: fmt.Sprintf(cassandra, 3), live: fmt.Sprintf(cassandra, 5),
			want: `{"cpu":"600m","memory":"2Gi"}`,
		},
		{
			name:    "scaled down is negative",
			desired: fmt.Sprintf(cassandra, 5), live: fmt.Sprintf(cassandra, 3),
			want: `{"cpu":"-600m","memory":"-2Gi"}`,
		},
		{
			name:    "same requests and replicas",
			desired: fmt.Sprintf(cassandra, 3), live: fmt.Sprintf(cassandra, 3),
			want: `null`,
		},
		{
			name: "request raised, replicas default to one",
			desired: `{apiVersion: apps/v1, kind: Deployment, spec: {template: {spec: {containers: [
				{name: web, resources: {requests: {cpu: 100m}}}]}}}}`,
			live: `{apiVersion: apps/v1, kind: Deployment, spec: {template: {spec: {containers: [
				{name: web, resources: {requests: {cpu: 250m}}}]}}}}`,
			want: `{"cpu":"150m"}`,
		},
		{
			name: "a limit with no request requests the limit",
			desired: `{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 2, template: {spec: {containers: [
				{name: web, resources: {requests: {memory: 128Mi}}}]}}}}`,
			live: `{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 2, template: {spec: {containers: [
				{name: web, resources: {limits: {memory: 256Mi}}}]}}}}`,
			want: `{"memory":"256Mi"}`,
		},
		{
			name: "a container added out of band",
			desired: `{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 2, template: {spec: {containers: [
				{name: web, resources: {requests: {cpu: 100m}}}]}}}}`,
			live: `{apiVersion: apps/v1, kind: Deployment, spec: {replicas: 2, template: {spec: {containers: [
				{name: web, resources: {requests: {cpu: 100m}}},
				{name: debug, resources: {requests: {cpu: 50m, memory: 64Mi}}}]}}}}`,
			want: `{"cpu":"100m","memory":"128Mi"}`,
		},
		{
			name:    "a big init container sets the pod's request; a sidecar adds to it",
			desired: `{apiVersion: v1, kind: Pod, spec: {containers: [{name: a, resources: {requests: {cpu: 100m}}}]}}`,
			live: `{apiVersion: v1, kind: Pod, spec: {
				initContainers: [{name: migrate, resources: {requests: {cpu: "1"}}},
				                 {name: proxy, restartPolicy: Always, resources: {requests: {memory: 32Mi}}}],
				containers: [{name: a, resources: {requests: {cpu: 100m}}}]}}`,
			want: `{"cpu":"900m","memory":"32Mi"}`,
		},
		{
			name: "a job's parallelism",
			desired: `{apiVersion: batch/v1, kind: Job, spec: {parallelism: 1, template: {spec: {containers: [
				{name: j, resources: {requests: {cpu: 500m}}}]}}}}`,
			live: `{apiVersion: batch/v1, kind: Job, spec: {parallelism: 4, template: {spec: {containers: [
				{name: j, resources: {requests: {cpu: 500m}}}]}}}}`,
			want: `{"cpu":"1500m"}`,
		},
		{
			name:    "not a workload",
			desired: `{apiVersion: v1, kind: ConfigMap, data: {a: "1"}}`,
			live:    `{apiVersion: v1, kind: ConfigMap, data: {a: "2"}}`,
			want:    `null`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(Delta(object(t, tt.desired), object(t, tt.live)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Delta (-want +got):\n%s", diff)
			}
		})
	}
}
