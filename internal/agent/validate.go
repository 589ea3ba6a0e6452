package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/util/validation"

	"plumb.dev/plumb/internal/drift"
)

// ErrInvalid wraps what is wrong with a batch's content (an unknown kind of
// entry, a malformed key or finding, a finding past MaxFinding): the hub
// answers 400 and applies none of the batch.
var ErrInvalid = errors.New("invalid")

// MaxFinding bounds one finding as sent: two objects of etcd's largest
// size (1.5 MiB), desired and live.
const MaxFinding = 3 << 20

// MaxBatchBytes bounds a batch's body on the hub; the shipper cuts its
// batches below it.
const MaxBatchBytes = 8 << 20

var kindName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,62}$`)

// validate checks every entry of b before any is applied.
func validate(b Batch) error {
	if len(b.Stream) > 128 || strings.IndexFunc(b.Stream, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: the stream name is not one an agent makes", ErrInvalid)
	}
	for _, e := range b.Entries {
		if err := validateEntry(e); err != nil {
			return fmt.Errorf("%w: entry %d: %v", ErrInvalid, e.Seq, err)
		}
	}
	return nil
}

func validateEntry(e Entry) error {
	switch e.Kind {
	case KindObserve:
	case KindRelocate:
		if e.Origin == nil {
			return errors.New("relocate without an origin")
		}
	default:
		return fmt.Errorf("unknown kind %q: want %s or %s", e.Kind, KindObserve, KindRelocate)
	}
	if err := validateKey(e.Key); err != nil {
		return err
	}
	if len(e.By) > 256 {
		return errors.New("by is longer than 256 characters")
	}
	if e.Finding == nil {
		return nil
	}
	switch e.Finding.State {
	case drift.StateDrifted, drift.StateMissing, drift.StateUnmanaged:
	default:
		return fmt.Errorf("finding state %q: want drifted, missing or unmanaged", e.Finding.State)
	}
	if k := e.Finding.Key(); k != e.Key {
		return fmt.Errorf("the finding names %s, the entry %s", k, e.Key)
	}
	body, err := json.Marshal(e.Finding)
	if err != nil {
		return err
	}
	if len(body) > MaxFinding {
		return fmt.Errorf("the finding of %s is %d bytes, past the %d a finding may have", e.Key, len(body), MaxFinding)
	}
	return nil
}

// validateKey accepts the keys an API server's objects can have.
func validateKey(k drift.ObjectKey) error {
	if !kindName.MatchString(k.Kind) {
		return fmt.Errorf("kind %q is not a kind's name", k.Kind)
	}
	if k.Group != "" {
		if errs := validation.IsDNS1123Subdomain(k.Group); len(errs) > 0 {
			return fmt.Errorf("group %q: %s", k.Group, strings.Join(errs, "; "))
		}
	}
	if k.Namespace != "" {
		if errs := validation.IsDNS1123Label(k.Namespace); len(errs) > 0 {
			return fmt.Errorf("namespace %q: %s", k.Namespace, strings.Join(errs, "; "))
		}
	}
	if k.Name == "" || len(k.Name) > 253 || strings.IndexFunc(k.Name, unicode.IsControl) >= 0 {
		return fmt.Errorf("name %q is not an object's name", k.Name)
	}
	if errs := path.IsValidPathSegmentName(k.Name); len(errs) > 0 {
		return fmt.Errorf("name %q: %s", k.Name, strings.Join(errs, "; "))
	}
	return nil
}
