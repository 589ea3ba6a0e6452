package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"plumb.dev/plumb/internal/gitsource"
	"plumb.dev/plumb/internal/helmrelease"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Object is one desired object and where it came from.
type Object struct {
	Object *unstructured.Unstructured
	Origin Origin
}

// Origin is an object's provenance.
type Origin struct {
	// Path is the file the document came from. For a chart it is the chart
	// directory joined with the template's path inside the chart (for example
	// charts/podinfo/templates/deployment.yaml); for kustomize output it is
	// the file kustomize read the object from (root/base/web.yaml), or the
	// kustomization file (root/kustomization.yaml) for what a generator made.
	Path string `json:"path"`
	// Line is the 1-based line where the document starts in Path: the first
	// line after the `---` that is neither blank nor a comment. For chart
	// output it is the line within the template's rendered output. It is 0
	// when unknown (kustomize output that a generator made).
	Line int `json:"line,omitempty"`
	// Chart is "name-version" for chart output.
	Chart string `json:"chart,omitempty"`
	// Kustomization is the kustomize root directory for kustomize output.
	Kustomization string `json:"kustomization,omitempty"`
	// Repo and Commit are set for a Git source: the repository and the
	// commit it was read at; Path (and Kustomization) are then inside the
	// repository.
	Repo   string `json:"repo,omitempty"`
	Commit string `json:"commit,omitempty"`
	// Release and Revision are set for a live Helm release
	// (helm:NAMESPACE/NAME): the release and the deployed revision it was
	// read at; Path is then the template inside the chart and Line the
	// line in the release's manifest (helm get manifest).
	Release  string `json:"release,omitempty"`
	Revision int    `json:"revision,omitempty"`
	// Generated are the fields a chart's templates make anew on every
	// render (randAlphaNum, uuidv4, genCA, or a lookup that finds nothing
	// when rendering offline), in kubectl's notation (.data.password,
	// .spec.template.spec.containers[0].env[1].value). Their declared
	// values mean nothing: they are compared by presence only, and never
	// put back over a live value. Chart output only.
	Generated []string `json:"generated,omitempty"`
	// Root is the source the object was loaded from, as given to Load:
	// what a per-source setting (a remediation mode) is keyed by.
	Root string `json:"-"`
}

// Equal reports whether o and p name the same provenance. Origin holds a
// slice, so it cannot be compared with ==; Equal compares every field (a
// new field must be added here).
func (o Origin) Equal(p Origin) bool {
	return o.Path == p.Path && o.Line == p.Line && o.Chart == p.Chart && o.Kustomization == p.Kustomization &&
		o.Repo == p.Repo && o.Commit == p.Commit && o.Release == p.Release && o.Revision == p.Revision &&
		o.Root == p.Root && slices.Equal(o.Generated, p.Generated)
}

// String returns "path:line", or "path" when Line is 0; for a Git source
// "repo@commit:path:line", with the commit abbreviated to 12 digits; for a
// live Helm release "helm:namespace/name@revision:template:line".
func (o Origin) String() string {
	p := o.Path
	switch {
	case o.Repo != "":
		p = o.Repo + "@" + o.Commit[:min(12, len(o.Commit))] + ":" + p
	case o.Release != "":
		p = helmrelease.Prefix + o.Release + "@" + strconv.Itoa(o.Revision) + ":" + p
	}
	if o.Line == 0 {
		return p
	}
	return p + ":" + strconv.Itoa(o.Line)
}

// Error is one piece of bad input. It never aborts a load: the rest is still
// loaded.
type Error struct {
	Path    string `json:"path,omitempty"`
	Line    int    `json:"line,omitempty"`
	Object  string `json:"object,omitempty"` // "Kind namespace/name" or "Kind name" when known
	Message string `json:"message"`
}

// Error returns "path:line: object: message", omitting empty parts.
func (e Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		if e.Line != 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	}
	if e.Object != "" {
		b.WriteString(e.Object)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Options tune rendering.
type Options struct {
	// Values are Helm values files (--values), applied in order. Charts only.
	// Default: none.
	Values []string
	// Set are Helm --set key=value expressions, applied after Values. Charts
	// only. Default: none.
	Set []string
	// ValueMap holds Helm values given as data (a fleet binding's
	// per-cluster values), merged after Values and before Set. Charts only.
	// Default: none.
	ValueMap map[string]any
	// ReleaseName is the Helm release name. Default: the chart's name.
	ReleaseName string
	// Namespace is the namespace for Helm's .Release.Namespace. It does not
	// default the namespace of loaded objects. Default: "default".
	Namespace string
	// EnforceNamespace refuses, as kubectl does, an object that names a
	// namespace other than Namespace: an Error at its file and line, and
	// the rest still loads. Set for an explicit -n. Default: false.
	EnforceNamespace bool
	// Releases reads live Helm releases (helm:NAMESPACE/NAME sources) from
	// the cluster being compared. Default: nil, and such a source is an
	// error.
	Releases *helmrelease.Reader `json:"-"`
	// GitAuth says where Git sources' credentials come from beyond the
	// standard places (see gitsource.Auth).
	GitAuth gitsource.Auth
	// Limits bound the files read and the objects loaded. Default:
	// DefaultLimits(), for each field left 0.
	Limits Limits
	// Stdin holds the manifests read from standard input (ReadStdin), for
	// the path Stdin ("-", kubectl's -f -). Default: nil, and that path is
	// an error.
	Stdin []byte `json:"-"`
}

// Stdin is the path that stands for standard input, as in kubectl's -f -.
// Its objects and errors are named StdinName, with their lines.
const Stdin = "-"

// StdinName names standard input in origins and errors.
const StdinName = "<stdin>"

// ReadStdin reads the manifests of standard input from r, refusing more
// than limit bytes (Limits.File) as a file over its limit is refused.
func ReadStdin(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultLimits().File
	}
	data, err := io.ReadAll(io.LimitReader(r, min(limit, math.MaxInt64-1)+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", StdinName, err)
	}
	if int64(len(data)) > limit {
		return nil, &fileTooLargeError{path: StdinName, limit: limit}
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// DefaultNamespace is the Helm release namespace used when
// Options.Namespace is empty.
const DefaultNamespace = "default"

// NoObjectsMessage is the error of a path that declares no object.
const NoObjectsMessage = "no objects found"

// Set is the result of loading.
type Set struct {
	Objects []Object
	Errors  []Error
}

// Load reads every path (a file, a directory, a kustomize root or a chart
// directory) and returns all objects and all errors, in a deterministic
// order: paths in the given order, files in lexical order, documents in file
// order.
//
// Bad input is reported in Set.Errors and never stops the load; a path that
// declares no object and has no other error is one (NoObjectsMessage). When ctx is
// done Load stops and returns what it loaded so far; the caller tells a
// partial load from a complete one by checking ctx.Err().
func Load(ctx context.Context, paths []string, opts Options) Set {
	var objs []Object
	errs := Each(ctx, paths, opts, func(o Object) { objs = append(objs, o) })
	return Set{Objects: objs, Errors: errs}
}

// Each loads like Load, but hands each object to fn as soon as it is
// decoded instead of collecting them, and returns the errors. A caller that
// keeps objects in a smaller form than decoded maps (plumb serve keeps
// them as JSON, see Encode) never holds a large source decoded all at once.
func Each(ctx context.Context, paths []string, opts Options, fn func(Object)) []Error {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	opts.Limits = opts.Limits.orDefault()
	l := &loader{opts: opts}
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		found, errs := 0, len(l.set.Errors)
		l.each = func(o Object) { o.Origin.Root = p; found++; fn(o) }
		l.loadPath(ctx, p)
		// A path that declares nothing and says nothing wrong is an empty
		// or mistyped folder, never "in sync" (kubectl: "no objects passed
		// to apply").
		if found == 0 && len(l.set.Errors) == errs && ctx.Err() == nil {
			name := p
			if p == Stdin {
				name = StdinName
			}
			l.addError(Error{Path: name, Message: NoObjectsMessage})
		}
	}
	return l.set.Errors
}

// loader accumulates one load's errors and hands its objects to each. It
// is used by one goroutine.
type loader struct {
	opts Options
	each func(Object)
	set  Set
	// valuesReported is set once errors in the Helm values are in set, so
	// that they are reported once, not once per chart.
	valuesReported bool
}

func (l *loader) addError(e Error) { l.set.Errors = append(l.set.Errors, e) }

func (l *loader) add(o Object) {
	if ns := o.Object.GetNamespace(); l.opts.EnforceNamespace && ns != "" && ns != l.opts.Namespace {
		l.addError(Error{Path: o.Origin.Path, Line: o.Origin.Line, Object: objectRef(o.Object),
			Message: fmt.Sprintf("the namespace from the provided object %q does not match the namespace %q. You must pass '--namespace=%s' to perform this operation.", ns, l.opts.Namespace, ns)})
		return
	}
	l.each(o)
}

// loadPath loads one path given by the caller.
func (l *loader) loadPath(ctx context.Context, path string) {
	if gitsource.Is(path) {
		l.loadGit(ctx, path)
		return
	}
	if helmrelease.Is(path) {
		l.loadRelease(path)
		return
	}
	if path == Stdin {
		if l.opts.Stdin == nil {
			l.addError(Error{Path: StdinName, Message: "standard input (-f -) is not read here"})
			return
		}
		trimmed := bytes.TrimLeft(bytes.TrimPrefix(l.opts.Stdin, utf8BOM), " \t\r\n")
		l.decode(StdinName, l.opts.Stdin, len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '['))
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		l.addError(Error{Path: path, Message: pathErrorMessage(err)})
		return
	}
	if fi.IsDir() {
		l.loadDir(ctx, path)
		return
	}
	if !isManifestFile(path) {
		l.addError(Error{Path: path, Message: fmt.Sprintf("unsupported file type %q: want a directory or a .yaml, .yml or .json file", filepath.Ext(path))})
		return
	}
	l.loadFile(path)
}

// loadDir loads a kustomize root, a chart, or a plain directory of
// manifests, which it walks recursively.
func (l *loader) loadDir(ctx context.Context, dir string) {
	if name, ok := kustomizationFile(dir); ok {
		l.loadKustomization(dir, name)
		return
	}
	if isChartDir(dir) {
		l.loadChart(ctx, dir)
		return
	}
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		l.addError(Error{Path: dir, Message: pathErrorMessage(err)})
		// ReadDir returns the entries it read before the error: go on with them.
	}
	for _, e := range entries {
		if ctx.Err() != nil {
			return
		}
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		typ := e.Type()
		if typ&fs.ModeSymlink != 0 {
			// Follow links to files; like filepath.WalkDir, do not follow
			// links to directories, which could form a cycle.
			fi, err := os.Stat(p)
			if err != nil {
				l.addError(Error{Path: p, Message: pathErrorMessage(err)})
				continue
			}
			typ = fi.Mode().Type()
		}
		switch {
		case e.IsDir():
			l.loadDir(ctx, p)
		case typ.IsRegular() && isManifestFile(name):
			l.loadFile(p)
		}
	}
}

// loadFile loads one YAML or JSON manifest file. A file over the limit is
// refused before it is read.
func (l *loader) loadFile(path string) {
	data, err := readFile(path, l.opts.Limits.File)
	if err != nil {
		l.addError(Error{Path: path, Message: pathErrorMessage(err)})
		return
	}
	l.decode(path, data, strings.EqualFold(filepath.Ext(path), ".json"))
}

// decode loads the manifests of data, read from path (a file, or
// StdinName): a JSON value or stream of them when isJSON, else YAML
// documents.
func (l *loader) decode(path string, data []byte, isJSON bool) {
	add := func(d document) { l.add(Object{Object: d.object, Origin: Origin{Path: path, Line: d.line}}) }
	var errs []Error
	if isJSON {
		errs = decodeJSONStream(path, data, l.opts.Limits.Object, add)
	} else {
		errs = decodeYAMLStream(path, data, splitKubectl, l.opts.Limits.Object, add)
	}
	l.set.Errors = append(l.set.Errors, errs...)
}

// isManifestFile reports whether name has a manifest file extension.
func isManifestFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// pathErrorMessage returns err's message without the path, which the Error
// already names.
func pathErrorMessage(err error) string {
	if te, ok := errors.AsType[*fileTooLargeError](err); ok {
		return te.message()
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// loadGit checks a Git source out at its commit, loads the path inside it
// as any other path, and names the repository and commit in each object's
// origin and each error, with paths inside the repository. The checkout is
// removed afterwards.
func (l *loader) loadGit(ctx context.Context, spec string) {
	ref, err := gitsource.Parse(spec)
	if err != nil {
		l.addError(Error{Path: spec, Message: err.Error()})
		return
	}
	co, err := gitsource.Fetch(ctx, ref, "", l.opts.GitAuth)
	if err != nil {
		l.addError(Error{Path: spec, Message: err.Error()})
		return
	}
	defer os.RemoveAll(co.Dir)
	inside := func(p string) string {
		if rel, err := filepath.Rel(co.Dir, p); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
		return p
	}
	each, before := l.each, len(l.set.Errors)
	l.each = func(o Object) {
		o.Origin.Path, o.Origin.Repo, o.Origin.Commit = inside(o.Origin.Path), co.Repo, co.Commit
		if o.Origin.Kustomization != "" {
			o.Origin.Kustomization = inside(o.Origin.Kustomization)
		}
		each(o)
	}
	defer func() { l.each = each }()
	l.loadPath(ctx, filepath.Join(co.Dir, filepath.FromSlash(co.Path)))
	for i := before; i < len(l.set.Errors); i++ {
		e := &l.set.Errors[i]
		e.Path = co.Repo + "@" + co.Commit[:12] + ":" + inside(e.Path)
		e.Message = strings.ReplaceAll(e.Message, co.Dir+string(filepath.Separator), "")
	}
}
