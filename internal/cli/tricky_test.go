package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tricky declares what a server stores differently from how it is written:
// empty maps and lists it drops, quantities it normalises, defaults it
// fills in (a port's protocol, imagePullPolicy, a Service's type), YAML 1.1
// literals, and the null creationTimestamp and empty status that
// kubectl create --dry-run -o yaml writes.
const tricky = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: tricky
  creationTimestamp: null
  annotations: {}
  labels:
    app: tricky
spec:
  selector:
    matchLabels: {app: tricky}
  strategy: {}
  template:
    metadata:
      creationTimestamp: null
      labels: {app: tricky}
    spec:
      volumes: []
      containers:
        - name: app
          image: nginx:1.27
          args: []
          env: []
          ports:
            - containerPort: 8080
          resources:
            requests: {cpu: "0.5", memory: 1024Mi}
            limits: {cpu: 1000m, memory: 1Gi, ephemeral-storage: 2G}
status: {}
---
apiVersion: v1
kind: Service
metadata:
  name: tricky
spec:
  selector: {app: tricky}
  ports:
    - port: 80
      targetPort: 8080
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: tricky
data:
  enabled: "yes"
  ratio: "0.50"
`

// TestServerNormalisationIsNotDrift applies manifests full of forms the
// server rewrites and expects no finding, with either apply; then a
// container added with kubectl edit is found, attributed to kubectl-edit.
func TestServerNormalisationIsNotDrift(t *testing.T) {
	src := filepath.Join(t.TempDir(), "tricky.yaml")
	if err := os.WriteFile(src, []byte(tricky), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, apply := range [][]string{{"apply", "--server-side"}, {"apply"}} {
		t.Run(apply[len(apply)-1], func(t *testing.T) {
			ns := env.Namespace(t)
			env.Kubectl(t, "", append(append([]string{"-n", ns}, apply...), "-f", src)...)
			requireInSync(t, ns, "--source", src)
		})
	}

	ns := env.Namespace(t)
	env.Kubectl(t, "", "-n", ns, "apply", "--server-side", "-f", src)
	// kubectl edit, with sed as the editor, adds a sidecar container.
	editor := filepath.Join(t.TempDir(), "editor.sh")
	script := "#!/bin/sh\nsed -i 's/^  *containers:$/&\\n      - name: sidecar\\n        image: busybox:1.36/' \"$1\"\n"
	if err := os.WriteFile(editor, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBE_EDITOR", editor)
	env.Kubectl(t, "", "-n", ns, "edit", "deployment/tricky")

	_, r, _ := scanJSON(t, ns, "--source", src)
	want := []seen{{"Deployment/tricky", `.spec.template.spec.containers[name="sidecar"]`, "added", "kubectl-edit"}}
	if diff := cmp.Diff(want, changesOf(r)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
