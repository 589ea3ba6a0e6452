package agent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"plumb.dev/plumb/internal/drift"
)

func seqs(es []Entry) []int64 {
	var out []int64
	for _, e := range es {
		out = append(out, e.Seq)
	}
	return out
}

func TestOutboxSurvivesRestartsAndForgetsWhatIsAcknowledged(t *testing.T) {
	dir := t.TempDir()
	o, err := OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	stream := o.Stream()
	for _, name := range []string{"a", "b", "c"} {
		if err := o.Append(Entry{Kind: KindObserve, Key: drift.ObjectKey{Kind: "ConfigMap", Name: name}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Ack(1); err != nil {
		t.Fatal(err)
	}
	o.Close()
	// The agent died in the middle of writing a fourth entry.
	f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(`{"seq":4,"kind":"obs`)
	f.Close()

	o, err = OpenOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Stream() != stream {
		t.Errorf("stream %q after a restart, want %q", o.Stream(), stream)
	}
	if diff := cmp.Diff([]int64{2, 3}, seqs(o.Pending(10))); diff != "" {
		t.Errorf("pending after a restart (-want +got):\n%s", diff)
	}
	if err := o.Append(Entry{Kind: KindObserve}); err != nil {
		t.Fatal(err)
	}
	if err := o.Ack(4); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, journalFile)); len(b) != 0 {
		t.Errorf("journal keeps %q once everything is acknowledged", b)
	}
	if err := o.Ack(9); err == nil {
		t.Error("acknowledging an entry never written: no error")
	}
	if err := o.Append(Entry{Kind: KindObserve}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{5}, seqs(o.Pending(10))); diff != "" {
		t.Errorf("numbers go on after the journal is emptied (-want +got):\n%s", diff)
	}
}
