package server

import "testing"

func TestHostGuard(t *testing.T) {
	tests := []struct {
		listen  string
		allowed []string
		host    string
		want    bool
	}{
		{"127.0.0.1:8080", nil, "127.0.0.1:8080", true},
		{"127.0.0.1:8080", nil, "localhost:8080", true},
		{"127.0.0.1:8080", nil, "LOCALHOST.:8080", true},
		{"127.0.0.1:8080", nil, "[::1]:8080", true},
		{"127.0.0.1:8080", nil, "127.0.0.1", true},
		// DNS rebinding: a name of the attacker's that resolves to 127.0.0.1.
		{"127.0.0.1:8080", nil, "rebind.attacker.example:8080", false},
		{"127.0.0.1:8080", nil, "", false},
		{"127.0.0.1:8080", nil, "10.0.0.5:8080", false},
		{"localhost:8080", nil, "127.0.0.1:8080", true},
		{"127.0.0.1:8080", []string{"plumb.internal"}, "plumb.internal:8080", true},
		{"127.0.0.1:8080", []string{"Plumb.Internal."}, "plumb.internal", true},
		{"127.0.0.1:8080", []string{"*.corp.example"}, "plumb.corp.example", true},
		{"127.0.0.1:8080", []string{"*.corp.example"}, "corp.example", false},
		{"127.0.0.1:8080", []string{"*.corp.example"}, "plumb.corp.example.attacker.example", false},
		// Every interface: any IP literal (a kubelet probe uses the pod IP),
		// names only when allowed.
		{"0.0.0.0:8080", nil, "10.244.1.7:8080", true},
		{"0.0.0.0:8080", nil, "localhost:8080", true},
		{"0.0.0.0:8080", nil, "plumb.plumb-system.svc:8080", false},
		{"0.0.0.0:8080", []string{"plumb.plumb-system.svc"}, "plumb.plumb-system.svc:8080", true},
		{":8080", nil, "[fd00::7]:8080", true},
		{"10.0.0.5:8080", nil, "10.0.0.5:8080", true},
		{"10.0.0.5:8080", nil, "localhost:8080", false},
	}
	for _, tt := range tests {
		g, err := newHostGuard(tt.listen, tt.allowed)
		if err != nil {
			t.Fatalf("newHostGuard(%q, %q): %v", tt.listen, tt.allowed, err)
		}
		if got := g.allows(tt.host); got != tt.want {
			t.Errorf("listen %s, allowed %q: allows(%q) = %v, want %v", tt.listen, tt.allowed, tt.host, got, tt.want)
		}
	}
}

func TestHostGuardRefusesBadAllowedHost(t *testing.T) {
	for _, bad := range []string{"https://plumb.example", "plumb.example:8080", "", "a b"} {
		if _, err := newHostGuard("127.0.0.1:8080", []string{bad}); err == nil {
			t.Errorf("--allowed-host %q accepted, want an error", bad)
		}
	}
}
