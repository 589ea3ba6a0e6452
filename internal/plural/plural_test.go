package plural

import "testing"

func TestCount(t *testing.T) {
	tests := []struct {
		n    int
		one  string
		many []string
		want string
	}{
		{0, "object", nil, "0 objects"},
		{1, "object", nil, "1 object"},
		{2, "object", nil, "2 objects"},
		{1, "kind", nil, "1 kind"},
		{3, "match", nil, "3 matches"},
		{2, "status", nil, "2 statuses"},
		{2, "policy", []string{"policies"}, "2 policies"},
		{1, "policy", []string{"policies"}, "1 policy"},
	}
	for _, tt := range tests {
		if got := Count(tt.n, tt.one, tt.many...); got != tt.want {
			t.Errorf("Count(%d, %q) = %q, want %q", tt.n, tt.one, got, tt.want)
		}
	}
}
