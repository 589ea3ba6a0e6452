package remediate

import (
	"regexp"
	"strings"

	"plumb.dev/plumb/internal/drift"
)

// Risk is how much a change can hurt.
type Risk string

const (
	RiskLow      Risk = "low"
	RiskMedium   Risk = "medium"
	RiskHigh     Risk = "high"
	RiskCritical Risk = "critical"
)

var riskOrder = map[Risk]int{RiskLow: 1, RiskMedium: 2, RiskHigh: 3, RiskCritical: 4}

// ParseRisk checks a risk level given by a user.
func ParseRisk(s string) (Risk, bool) {
	r := Risk(s)
	_, ok := riskOrder[r]
	return r, ok
}

// Above reports whether r is riskier than max.
func (r Risk) Above(max Risk) bool { return riskOrder[r] > riskOrder[max] }

func maxRisk(a, b Risk) Risk {
	if b.Above(a) {
		return b
	}
	return a
}

var (
	containerRe = regexp.MustCompile(`\.(containers|initContainers)\[name="[^"]*"\]$`)
	imageRe     = regexp.MustCompile(`\.(containers|initContainers|ephemeralContainers)\[[^]]*\]\.(image|command|args)$`)
)

// changeRisk classifies putting one change back on an object of kind.
func changeRisk(kind string, c drift.Change) Risk {
	p := c.Path
	switch {
	case kind == "ClusterRole" || kind == "ClusterRoleBinding":
		return RiskCritical
	case kind == "Service" && strings.HasPrefix(p, ".spec.selector"):
		return RiskCritical
	case p == ".spec.replicas" && isZero(c.Desired):
		return RiskCritical
	case containerRe.MatchString(p) && c.Type == drift.ChangeAdded:
		return RiskCritical // putting back means removing a container
	case imageRe.MatchString(p), strings.Contains(p, "securityContext"),
		(kind == "Role" || kind == "ClusterRole") && strings.HasPrefix(p, ".rules"):
		return RiskHigh
	case strings.HasPrefix(p, ".metadata.labels"), strings.HasPrefix(p, ".metadata.annotations"):
		return RiskLow // the object's own; pod template labels select pods: medium
	}
	return RiskMedium
}

func isZero(v any) bool {
	switch n := v.(type) {
	case int64:
		return n == 0
	case float64:
		return n == 0
	case int:
		return n == 0
	}
	return false
}
