package cli

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestWarningSummary(t *testing.T) {
	var logged, summary strings.Builder
	h := newWarningSummary(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))
	log := slog.New(h).With("cluster", "prod-eu")
	for _, r := range []string{"pods", "jobs.batch", "pods"} {
		log.Warn("not searched for unmanaged objects", "resource", r, "err", apierrors.NewForbidden(schema.GroupResource{Resource: r}, "", errors.New("no")))
	}
	log.Warn("rollout stopped", "wave", "canary", "reason", "new drift")
	log.Error("failed", "err", errors.New("boom"))
	if !strings.Contains(logged.String(), "level=ERROR msg=failed") || strings.Contains(logged.String(), "WARN") {
		t.Errorf("errors go on, warnings are held back; logged:\n%s", logged.String())
	}
	h.Flush(&summary)
	want := "warning: not searched for unmanaged objects (2 kinds): forbidden; -v 1 lists each\n" +
		"warning: rollout stopped: wave=canary reason=new drift\n"
	if diff := cmp.Diff(want, summary.String()); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
}
