package helmrelease

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want Ref
		err  string
	}{
		{spec: "helm:shop/web", want: Ref{Namespace: "shop", Name: "web"}},
		{spec: "helm:shop/web?driver=configmaps", want: Ref{Namespace: "shop", Name: "web", Driver: ConfigMaps}},
		{spec: "helm:shop/web?driver=Secret", want: Ref{Namespace: "shop", Name: "web", Driver: Secrets}},
		{spec: "helm:shop", err: "want helm:NAMESPACE/NAME"},
		{spec: "helm:/web", err: "want helm:NAMESPACE/NAME"},
		{spec: "helm:shop/web/x", err: "want helm:NAMESPACE/NAME"},
		{spec: "helm:shop/web?driver=sql", err: `unsupported Helm storage driver "sql"`},
		{spec: "helm:shop/web?revision=2", err: `unknown parameter "revision"`},
		{spec: "shop/web", err: "not a Helm release"},
	} {
		got, err := Parse(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q): %v, want an error saying %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
		if back, err := Parse(got.String()); err != nil || back != got {
			t.Errorf("%q does not round-trip: %+v, %v", got.String(), back, err)
		}
	}
}

func TestStorageDriver(t *testing.T) {
	t.Setenv("HELM_DRIVER", "")
	if d := (Ref{}).StorageDriver(); d != Secrets {
		t.Errorf("default driver %q, want %q", d, Secrets)
	}
	t.Setenv("HELM_DRIVER", "configmap")
	if d := (Ref{}).StorageDriver(); d != ConfigMaps {
		t.Errorf("with HELM_DRIVER=configmap: %q", d)
	}
	if d := (Ref{Driver: Secrets}).StorageDriver(); d != Secrets {
		t.Errorf("?driver=secret under HELM_DRIVER=configmap: %q", d)
	}
}
