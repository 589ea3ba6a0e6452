package source

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Limits bound what a load reads. A file or an object past its limit is
// an Error naming it, and the rest of the source still loads: a source
// file too large to read, or an object too large to apply, is bad input,
// never drift.
type Limits struct {
	// File is the most bytes read from one file: a manifest, a Helm values
	// file, or a file a kustomization reads. A larger file is refused by
	// its size before it is read, and a file that grows while it is read
	// is read no further than this. Default: DefaultMaxFileSize (32 MiB).
	File int64 `json:"file,omitempty"`
	// Object is the most bytes one object may take encoded as JSON, as it
	// is sent to the API server. Default: DefaultMaxObjectSize (3 MiB).
	Object int64 `json:"object,omitempty"`
}

const (
	// DefaultMaxFileSize is Limits.File's default: ten times
	// DefaultMaxObjectSize, room for a file of many objects, while a file
	// a hundred times larger is refused before it is read.
	DefaultMaxFileSize int64 = 32 << 20
	// DefaultMaxObjectSize is Limits.Object's default: the API server
	// refuses a request body over 3 MiB (k8s.io/apiserver's
	// MaxRequestBodyBytes) and etcd an object over 1.5 MiB, so a larger
	// object can never be applied.
	DefaultMaxObjectSize int64 = 3 << 20
)

// The flags and configuration fields that raise the limits, named in the
// errors that refuse a file or an object.
const (
	FileSizeFlag   = "--max-source-file-size"
	ObjectSizeFlag = "--max-source-object-size"
)

// DefaultLimits returns the defaults documented on Limits.
func DefaultLimits() Limits {
	return Limits{File: DefaultMaxFileSize, Object: DefaultMaxObjectSize}
}

// orDefault returns l with DefaultLimits in place of unset fields.
func (l Limits) orDefault() Limits {
	def := DefaultLimits()
	if l.File <= 0 {
		l.File = def.File
	}
	if l.Object <= 0 {
		l.Object = def.Object
	}
	return l
}

// ParseSize parses a size as a Kubernetes quantity, in bytes: 32Mi,
// 3145728, 1G. It must be a positive whole number of bytes.
func ParseSize(s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size: want bytes or a quantity such as 32Mi", s)
	}
	n, ok := q.AsInt64()
	if !ok || n <= 0 {
		return 0, fmt.Errorf("%q is not a size: want a positive whole number of bytes, or a quantity such as 32Mi", s)
	}
	return n, nil
}

// FormatSize writes n bytes as ParseSize reads it, in the largest binary
// unit that divides it (32Mi), else in bytes.
func FormatSize(n int64) string {
	return resource.NewQuantity(n, resource.BinarySI).String()
}

// humanSize writes n bytes for a person: 32 MiB, 512 KiB, 10 B when
// the unit divides n, else with a decimal and the exact number of bytes
// (4.2 MiB (4404019 bytes)), so that a size just over a limit does not
// read as the limit.
func humanSize(n int64) string {
	units := []struct {
		size int64
		name string
	}{{1 << 40, "TiB"}, {1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}}
	for _, u := range units {
		if n < u.size {
			continue
		}
		if n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
		return fmt.Sprintf("%.1f %s (%d bytes)", float64(n)/float64(u.size), u.name, n)
	}
	return strconv.FormatInt(n, 10) + " B"
}

// fileTooLargeError is a file over Limits.File. It was not read, or not
// to its end when it grew while it was read.
type fileTooLargeError struct {
	path string
	// size is the file's size, or 0 when it grew past the limit while it
	// was read (or has no size, as a pipe).
	size  int64
	limit int64
}

func (e *fileTooLargeError) Error() string { return e.path + ": " + e.message() }

// message is the error without the path, for an Error that names it.
func (e *fileTooLargeError) message() string {
	is := "file is larger than"
	if e.size > 0 {
		is = "file is " + humanSize(e.size) + ", over"
	}
	return fmt.Sprintf("%s the %s limit on a source file: raise it with %s (maxFileSize on a source in the configuration)",
		is, humanSize(e.limit), FileSizeFlag)
}

// readFile reads the file at path, refusing one larger than limit bytes:
// by its size, before reading any of it, and by reading no more than
// limit+1 bytes, for a file that grows while it is read or has no size (a
// pipe). The refusal is a *fileTooLargeError.
func readFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := int64(0)
	if fi.Mode().IsRegular() {
		size = fi.Size()
	}
	if size > limit {
		return nil, &fileTooLargeError{path: path, size: size, limit: limit}
	}
	// Read as os.ReadFile does, into one buffer the size of the file
	// (and a little more, to see the end), so that reading a file costs
	// its size and not twice that.
	data := make([]byte, 0, size+512)
	r := io.LimitReader(f, min(limit, math.MaxInt64-1)+1)
	for {
		n, err := r.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
	if int64(len(data)) > limit {
		return nil, &fileTooLargeError{path: path, limit: limit}
	}
	return data, nil
}

// objectTooLarge returns the message refusing an object that is n bytes
// encoded as JSON, past limit.
func objectTooLarge(n, limit int64) string {
	why := ""
	if limit == DefaultMaxObjectSize {
		why = " (the API server refuses a larger request)"
	}
	return fmt.Sprintf("object is %s as JSON, over the %s limit on one object%s: raise it with %s (maxObjectSize on a source in the configuration)",
		humanSize(n), humanSize(limit), why, ObjectSizeFlag)
}

// jsonSize returns the size of m encoded as JSON, or 0 when it cannot be
// encoded (Encode reports that).
func jsonSize(m map[string]any) int64 {
	b, err := json.Marshal(m)
	if err != nil {
		return 0
	}
	return int64(len(b))
}
