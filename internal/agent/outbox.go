package agent

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Outbox is a journal of entries on disk that the hub has not yet
// acknowledged. Append returns once its entry is fsync'd; Ack forgets the
// entries up to a sequence number, and empties the journal once all are
// acknowledged. It survives restarts: Open reads back what is left.
type Outbox struct {
	dir    string
	stream string

	// mu guards f, next, acked and pending.
	mu      sync.Mutex
	f       *os.File
	next    int64
	acked   int64
	pending []Entry
	// wake is signalled (without blocking) when an entry is appended.
	wake chan struct{}
}

const (
	journalFile = "outbox.jsonl"
	// ackFile holds the stream's name and the last acknowledged entry.
	ackFile = "outbox.ack"
)

// OpenOutbox opens the outbox in dir, making it if need be.
func OpenOutbox(dir string) (*Outbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", dir, err)
	}
	o := &Outbox{dir: dir, wake: make(chan struct{}, 1)}
	if err := o.readAck(); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", dir, err)
	}
	if err := o.readJournal(); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", dir, err)
	}
	return o, nil
}

// readAck reads the stream's name and last acknowledged entry, or starts a
// stream.
func (o *Outbox) readAck() error {
	b, err := os.ReadFile(filepath.Join(o.dir, ackFile))
	if os.IsNotExist(err) {
		id := make([]byte, 8)
		if _, err := rand.Read(id); err != nil {
			return err
		}
		o.stream = hex.EncodeToString(id)
		return o.writeAck(0)
	}
	if err != nil {
		return err
	}
	stream, seq, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	if o.acked, err = strconv.ParseInt(seq, 10, 64); !ok || err != nil || stream == "" {
		return fmt.Errorf("%s: want a stream name and a sequence number, got %q", ackFile, b)
	}
	o.stream = stream
	return nil
}

// writeAck replaces the ack file atomically (a new file, fsync'd, renamed).
func (o *Outbox) writeAck(seq int64) error {
	tmp := filepath.Join(o.dir, ackFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(f, "%s %d\n", o.stream, seq); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(o.dir, ackFile)); err != nil {
		return err
	}
	o.acked = seq
	return syncDir(o.dir)
}

// readJournal loads the entries not yet acknowledged. A last line cut
// short (the agent died while writing it, before Append returned) is
// dropped.
func (o *Outbox) readJournal() error {
	path := filepath.Join(o.dir, journalFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	o.f, o.next = f, o.acked+1
	var good int64
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if err == io.EOF {
			break // a partial line, if any, is cut off below
		}
		if err != nil {
			return err
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			return fmt.Errorf("%s at byte %d: %w", journalFile, good, err)
		}
		good += int64(len(line))
		if e.Seq >= o.next {
			o.next = e.Seq + 1
		}
		if e.Seq > o.acked {
			o.pending = append(o.pending, e)
		}
	}
	if err := f.Truncate(good); err != nil {
		return err
	}
	_, err = f.Seek(good, io.SeekStart)
	return err
}

// Stream names the outbox's sequence of entries.
func (o *Outbox) Stream() string { return o.stream }

// Append numbers e, writes it and fsyncs the journal.
func (o *Outbox) Append(e Entry) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	e.Seq = o.next
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := o.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("outbox %s: %w", o.dir, err)
	}
	if err := o.f.Sync(); err != nil {
		return fmt.Errorf("outbox %s: %w", o.dir, err)
	}
	o.next++
	o.pending = append(o.pending, e)
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// Pending returns up to n entries not yet acknowledged, oldest first.
func (o *Outbox) Pending(n int) []Entry {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Entry(nil), o.pending[:min(n, len(o.pending))]...)
}

// Len is the number of entries not yet acknowledged.
func (o *Outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// Ack forgets the entries up to seq. Once none is left the journal is
// emptied; sequence numbers go on from where they were.
func (o *Outbox) Ack(seq int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if seq <= o.acked {
		return nil
	}
	if seq >= o.next {
		return fmt.Errorf("outbox %s: the hub acknowledges entry %d, but the last one written is %d", o.dir, seq, o.next-1)
	}
	if err := o.writeAck(seq); err != nil {
		return fmt.Errorf("outbox %s: %w", o.dir, err)
	}
	i := 0
	for i < len(o.pending) && o.pending[i].Seq <= seq {
		i++
	}
	o.pending = o.pending[i:]
	if len(o.pending) == 0 {
		// Everything in the journal is acknowledged (the ack file says
		// so, durably): start it again.
		if err := o.f.Truncate(0); err != nil {
			return fmt.Errorf("outbox %s: %w", o.dir, err)
		}
		if _, err := o.f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("outbox %s: %w", o.dir, err)
		}
	}
	return nil
}

// Wake is signalled when an entry is appended.
func (o *Outbox) Wake() <-chan struct{} { return o.wake }

// Close closes the journal.
func (o *Outbox) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.f.Close()
}

// syncDir fsyncs a directory, so that a rename in it lasts.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
