package deploytest

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// pod is the chart's plumb container played by the test process.
type pod struct {
	// root holds the container's mounts at their paths.
	root string
	// args are the container's arguments, with mount paths under root.
	args []string
	// deployment is the rendered Deployment.
	deployment *appsv1.Deployment
}

// podFiles lays out the volumes the rendered Deployment mounts in its plumb
// container under a new temporary root, as the kubelet does: ConfigMap and
// Secret keys as files behind a ..data link, emptyDirs and claims as empty
// folders. Mount paths in the arguments and in the mounted files (a
// plumb.yaml names sources and kubeconfigs by them) are moved under root.
func podFiles(t *testing.T, objs []*unstructured.Unstructured) pod {
	t.Helper()
	var d *appsv1.Deployment
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			d = &appsv1.Deployment{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, d); err != nil {
				t.Fatalf("rendered Deployment: %v", err)
			}
		}
	}
	if d == nil {
		t.Fatal("no Deployment rendered")
	}
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	root := t.TempDir()

	// Longest first, so /etc/plumb/sources/inline moves before /etc/plumb.
	mounts := slices.Clone(c.VolumeMounts)
	slices.SortFunc(mounts, func(a, b corev1.VolumeMount) int { return len(b.MountPath) - len(a.MountPath) })
	// Through placeholders, as root itself may hold a mount path (/tmp).
	move := func(s string) string {
		for _, m := range mounts {
			s = strings.ReplaceAll(s, m.MountPath, "\x00"+m.Name+"\x00")
		}
		for _, m := range mounts {
			s = strings.ReplaceAll(s, "\x00"+m.Name+"\x00", filepath.Join(root, m.MountPath))
		}
		return s
	}

	for _, m := range c.VolumeMounts {
		dir := filepath.Join(root, m.MountPath)
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			t.Fatalf("mount %s names no volume", m.Name)
		}
		v := spec.Volumes[i]
		var files map[string]string
		var items []corev1.KeyToPath
		switch {
		case v.ConfigMap != nil:
			files = configMapData(t, objs, v.ConfigMap.Name)
			items = v.ConfigMap.Items
		case v.Secret != nil:
			files = secretData(t, objs, v.Secret.SecretName)
			items = v.Secret.Items
		case v.EmptyDir != nil, v.PersistentVolumeClaim != nil:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		default:
			t.Fatalf("volume %s: a kind of volume this test does not lay out", v.Name)
		}
		if len(items) > 0 {
			picked := map[string]string{}
			for _, it := range items {
				content, ok := files[it.Key]
				if !ok {
					t.Fatalf("volume %s: no key %s", v.Name, it.Key)
				}
				picked[it.Path] = content
			}
			files = picked
		}
		for name, content := range files {
			files[name] = move(content)
		}
		atomicWrite(t, dir, files)
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = move(a)
	}
	return pod{root: root, args: args, deployment: d}
}

// atomicWrite writes files as the kubelet's atomic writer does: into a
// timestamped folder that ..data links to, each file a link through ..data.
func atomicWrite(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	ts := "..2026_01_02_03_04_05.000000001"
	if err := os.MkdirAll(filepath.Join(dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, ts, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ts, filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

func configMapData(t *testing.T, objs []*unstructured.Unstructured, name string) map[string]string {
	t.Helper()
	o := mustFind(t, objs, "ConfigMap", name)
	data, _, err := unstructured.NestedStringMap(o.Object, "data")
	if err != nil {
		t.Fatalf("ConfigMap %s: %v", name, err)
	}
	return data
}

func secretData(t *testing.T, objs []*unstructured.Unstructured, name string) map[string]string {
	t.Helper()
	o := mustFind(t, objs, "Secret", name)
	data, _, err := unstructured.NestedStringMap(o.Object, "data")
	if err != nil {
		t.Fatalf("Secret %s: %v", name, err)
	}
	out := map[string]string{}
	for k, v := range data {
		b, err := base64.StdEncoding.DecodeString(v)
		if err != nil {
			t.Fatalf("Secret %s key %s: %v", name, k, err)
		}
		out[k] = string(b)
	}
	return out
}

// flag returns the value of the argument --name=VALUE, or "".
func (p pod) flag(name string) string {
	for _, a := range p.args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

// withFlag returns the arguments with --name's value replaced.
func (p pod) withFlag(name, value string) []string {
	out := slices.Clone(p.args)
	for i, a := range out {
		if strings.HasPrefix(a, "--"+name+"=") {
			out[i] = fmt.Sprintf("--%s=%s", name, value)
		}
	}
	return out
}
