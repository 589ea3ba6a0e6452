package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// decodeJSONStream decodes a .json file: one JSON value, or several one
// after another, as kubectl's YAMLOrJSONDecoder accepts, and hands each
// object to add. A JSON syntax error ends the file, since a JSON stream
// cannot be resynchronised after one. An object larger than maxObject
// bytes as JSON (0: no limit) is an Error, and decoding goes on.
func decodeJSONStream(path string, data []byte, maxObject int64, add func(document)) []Error {
	var errs []Error
	data = bytes.TrimPrefix(data, utf8BOM)
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		off := int(dec.InputOffset())
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			e := Error{Path: path, Line: lineAt(data, len(data)), Message: "invalid JSON: " + err.Error()}
			if se, ok := errors.AsType[*json.SyntaxError](err); ok {
				e.Line = lineAt(data, int(se.Offset))
			}
			errs = append(errs, e)
			break
		}
		// The value starts after the blanks that precede it.
		start := off + len(data[off:]) - len(bytes.TrimLeft(data[off:], " \t\r\n"))
		d, e := decodeJSONDocument(path, lineAt(data, start), raw, maxObject)
		for _, doc := range d {
			add(doc)
		}
		errs = append(errs, e...)
	}
	return errs
}

// lineAt returns the 1-based line of data that holds byte offset off.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return 1 + bytes.Count(data[:off], []byte("\n"))
}
