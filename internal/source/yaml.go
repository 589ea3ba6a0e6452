package source

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// splitMode says which lines separate the documents of a YAML stream.
type splitMode int

const (
	// splitKubectl splits like k8s.io/apimachinery's YAMLReader, which
	// kubectl uses: a separator is a line starting with `---` followed only
	// by blanks or a comment. Other text after `---` is an error.
	splitKubectl splitMode = iota
	// splitHelm splits like Helm's releaseutil.SplitManifests: every line
	// starting with `---` is a separator, and text after the `---` (and any
	// blanks) starts the next document. Templates that emit
	// "---apiVersion: v1" work with Helm, so they work here too.
	splitHelm
)

// utf8BOM is the byte order mark some editors put at the start of a file.
var utf8BOM = []byte("\ufeff")

// decodeYAMLStream splits data into YAML documents, decodes each one and
// hands its objects to add as it goes. Empty documents (only blanks and
// comments) are skipped. A bad document, or an object larger than
// maxObject bytes as JSON (0: no limit), is reported as an Error and
// decoding goes on with the next one.
func decodeYAMLStream(path string, data []byte, mode splitMode, maxObject int64, add func(document)) []Error {
	var (
		errs  []Error
		body  []byte
		start = 1     // line number of body's first line
		skip  = false // drop body: it follows an invalid separator
	)
	flush := func() {
		if !skip {
			d, e := decodeYAMLDocument(path, start, body, maxObject)
			for _, doc := range d {
				add(doc)
			}
			errs = append(errs, e...)
		}
		body, skip = nil, false
	}

	data = bytes.TrimPrefix(data, utf8BOM)
	for n := 1; len(data) > 0; n++ {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			line, data = data, nil
		}
		if !bytes.HasPrefix(line, []byte("---")) {
			body = append(body, line...)
			continue
		}
		flush()
		start = n + 1
		rest := line[len("---"):]
		switch mode {
		case splitHelm:
			if rest = bytes.TrimLeft(rest, " \t"); len(bytes.TrimSpace(rest)) > 0 {
				body = append(body, rest...)
				start = n
			}
		default:
			if t := bytes.TrimSpace(rest); len(t) > 0 && t[0] != '#' {
				errs = append(errs, Error{Path: path, Line: n, Message: fmt.Sprintf("invalid YAML document separator %q: only a comment may follow ---", bytes.TrimSpace(line))})
				skip = true
			}
		}
	}
	flush()
	return errs
}

// decodeYAMLDocument decodes one YAML document whose first line is line
// start of path. It returns nothing for an empty document.
func decodeYAMLDocument(path string, start int, body []byte, maxObject int64) ([]document, []Error) {
	offset, ok := firstContentLine(body)
	if !ok {
		return nil, nil
	}
	line := start + offset
	j, err := yaml.YAMLToJSON(body)
	if err != nil {
		return nil, []Error{yamlError(path, start, line, err)}
	}
	return decodeJSONDocument(path, line, j, maxObject)
}

// firstContentLine returns the 0-based index of the first line of body that
// is neither blank nor a comment, and false if there is none.
func firstContentLine(body []byte) (int, bool) {
	for i := 0; len(body) > 0; i++ {
		var line []byte
		if j := bytes.IndexByte(body, '\n'); j >= 0 {
			line, body = body[:j], body[j+1:]
		} else {
			line, body = body, nil
		}
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			return i, true
		}
	}
	return 0, false
}

// yamlLineRE matches the line numbers in go.yaml.in/yaml/v2 errors, both
// "yaml: line 3: ..." and the "\n  line 3: ..." of "unmarshal errors".
var yamlLineRE = regexp.MustCompile(`(^|\n\s*)line (\d+):`)

// yamlError turns a sigs.k8s.io/yaml error, whose line numbers count from
// the document's first line (start), into an Error whose line numbers count
// from the start of the file. Without a line number in the error, the Error
// points at the document (docLine).
func yamlError(path string, start, docLine int, err error) Error {
	msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	e := Error{Path: path, Line: docLine}
	found := false
	msg = yamlLineRE.ReplaceAllStringFunc(msg, func(m string) string {
		sub := yamlLineRE.FindStringSubmatch(m)
		n, convErr := strconv.Atoi(sub[2])
		if convErr != nil {
			return m
		}
		abs := start + n - 1
		if !found {
			e.Line, found = abs, true
		}
		return sub[1] + "line " + strconv.Itoa(abs) + ":"
	})
	// The Error carries the first line number: do not repeat it.
	msg = strings.TrimPrefix(msg, "line "+strconv.Itoa(e.Line)+": ")
	e.Message = "invalid YAML: " + msg
	return e
}
