package admission

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"path"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"plumb.dev/plumb/internal/drift"
	"plumb.dev/plumb/internal/source"
)

// Mode is what the webhook does about a write that overrides a declaration.
type Mode string

const (
	// ModeOff registers no webhook.
	ModeOff Mode = "off"
	// ModeWarn lets the write through with a warning the client prints
	// (kubectl shows "Warning: plumb: ...").
	ModeWarn Mode = "warn"
	// ModeEnforce denies the write.
	ModeEnforce Mode = "enforce"
)

// ParseMode reads --admission.
func ParseMode(s string) (Mode, bool) {
	switch m := Mode(s); m {
	case ModeOff, ModeWarn, ModeEnforce:
		return m, true
	}
	return "", false
}

// BreakGlassAnnotation lets a write through: its value is the reason, and
// each write it lets through is recorded with the user who made it.
const BreakGlassAnnotation = "plumb.dev/break-glass"

// DefaultExempt are the users whose writes are never reviewed: the control
// plane's own controllers (the namespace controller and garbage collector
// delete what a deleted namespace or owner held; an autoscaler scales),
// which run as kube-system service accounts or as the controller manager.
// Entries are user names or groups, as path.Match patterns.
var DefaultExempt = []string{"system:serviceaccount:kube-system:*", "system:kube-controller-manager", "system:kube-scheduler"}

// Cluster is what the webhook knows of one watched cluster.
type Cluster struct {
	Name   string
	Engine *drift.Engine
	// Mapper names the kind of a subresource's parent (a Deployment's
	// scale).
	Mapper meta.RESTMapper
	// Declared returns the declaration of an object, if a source declares
	// it; Scaled reports whether an autoscaler owns its replicas.
	Declared func(drift.ObjectKey) (drift.Target, bool)
	Scaled   func(drift.ObjectKey) bool
	// Live reads an object, for the annotations a scale subresource's
	// object lacks; only a write that would be refused pays for it.
	Live func(drift.Target) (*unstructured.Unstructured, error)
	// Self is the user plumb acts as on the cluster; its writes pass.
	Self string
	// Deployers returns who deploys an object's source (users, groups or
	// service accounts, as path.Match patterns): their writes pass. Nil:
	// nobody but Self and the exempt.
	Deployers func(drift.Target) []string
	// BreakGlass records each write the break-glass annotation lets
	// through (not dry-runs). It must not block.
	BreakGlass func(BreakGlass)
}

// BreakGlass is one use of the break-glass annotation.
type BreakGlass struct {
	Cluster    string
	APIVersion string
	Object     drift.ObjectKey
	UID        string
	User       string
	Groups     []string
	Reason     string
	// Operation is UPDATE or DELETE.
	Operation string
	// Paths are the declared fields the write overrode (none for DELETE).
	Paths  []string
	Origin source.Origin
}

// Options tune a Reviewer.
//
// Every decision is by the identity the API server authenticated (the
// request's userInfo: user name and groups), never by what the request
// says of itself: a field manager name is the caller's choice, so it only
// says which fields a write touches.
type Options struct {
	Mode Mode
	// Exempt are users or groups (path.Match patterns) whose writes are
	// never reviewed. Default DefaultExempt.
	Exempt []string
	// BreakGlass are the users or groups (path.Match patterns) whose writes
	// the break-glass annotation lets through. None: the annotation lets
	// nobody through.
	BreakGlass []string
	Logger     *slog.Logger
}

// Decision is how a review ended, as counted in metrics.
type Decision string

const (
	Allowed    Decision = "allowed"
	Denied     Decision = "denied"
	Warned     Decision = "warned"
	BrokeGlass Decision = "break-glass"
	// Unauthenticated: the caller lacked the API servers' credentials;
	// nothing was decided.
	Unauthenticated Decision = "unauthenticated"
)

// Review decides one admission request for cluster c.
func Review(c *Cluster, req *admissionv1.AdmissionRequest, opts Options) (*admissionv1.AdmissionResponse, Decision) {
	allow := &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}
	if req.Operation != admissionv1.Update && req.Operation != admissionv1.Delete {
		return allow, Allowed
	}
	if req.UserInfo.Username == c.Self && c.Self != "" || matchesIdentity(req.UserInfo, exemptPatterns(opts.Exempt)) {
		debug(opts, "exempt user", c, drift.ObjectKey{Namespace: req.Namespace, Name: req.Name}, "user", req.UserInfo.Username)
		return allow, Allowed
	}
	key, ok := objectKey(c, req)
	if !ok {
		return allow, Allowed
	}
	t, ok := c.Declared(key)
	if !ok {
		return allow, Allowed
	}
	if c.Deployers != nil && matchesIdentity(req.UserInfo, c.Deployers(t)) {
		debug(opts, "deployer", c, key, "user", req.UserInfo.Username)
		return allow, Allowed
	}
	old, err := decode(req.OldObject)
	if err != nil {
		return failOpen(c, opts, allow, key, err)
	}
	var paths []string
	obj := old
	switch {
	case req.Operation == admissionv1.Delete:
	case req.SubResource == "scale":
		if obj, err = decode(req.Object); err != nil {
			return failOpen(c, opts, allow, key, err)
		}
		if paths, err = scaleOverride(t, old, obj, c.Scaled(key)); err != nil {
			return failOpen(c, opts, allow, key, err)
		}
		if len(paths) == 0 {
			return allow, Allowed
		}
	case req.SubResource != "":
		return allow, Allowed
	default:
		if obj, err = decode(req.Object); err != nil {
			return failOpen(c, opts, allow, key, err)
		}
		ov, err := c.Engine.Overrides(t, drift.Write{Old: old, New: obj, Manager: fieldManager(req.Options)}, c.Scaled(key))
		if err != nil {
			return failOpen(c, opts, allow, key, err)
		}
		if len(ov.Paths) == 0 {
			debug(opts, "write allowed", c, key, "user", req.UserInfo.Username, "writer", ov.Writer, "deployer", ov.Deployer, "fields", strings.Join(ov.Paths, ","))
			return allow, Allowed
		}
		paths = ov.Paths
	}

	if req.SubResource == "scale" && c.Live != nil {
		if parent, err := c.Live(t); err == nil && parent != nil {
			obj = parent
		}
	}
	reason := strings.TrimSpace(obj.GetAnnotations()[BreakGlassAnnotation])
	if reason != "" && matchesIdentity(req.UserInfo, opts.BreakGlass) {
		if (req.DryRun == nil || !*req.DryRun) && c.BreakGlass != nil {
			c.BreakGlass(BreakGlass{Cluster: c.Name, APIVersion: obj.GetAPIVersion(), Object: key, UID: string(old.GetUID()), User: req.UserInfo.Username,
				Groups: req.UserInfo.Groups, Reason: reason, Operation: string(req.Operation), Paths: paths, Origin: t.Origin()})
		}
		allow.Warnings = []string{fmt.Sprintf("plumb: break-glass (%s) recorded for %s", reason, req.UserInfo.Username)}
		return allow, BrokeGlass
	}
	msg := message(c, key, t.Origin(), req.Operation, paths, len(opts.BreakGlass) > 0)
	if reason != "" {
		msg += fmt.Sprintf(" (break-glass is not open to %s)", req.UserInfo.Username)
	}
	if opts.Mode == ModeWarn {
		allow.Warnings = []string{msg}
		return allow, Warned
	}
	return &admissionv1.AdmissionResponse{UID: req.UID, Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: 403, Reason: metav1.StatusReasonForbidden, Message: msg,
	}}, Denied
}

func debug(opts Options, msg string, c *Cluster, key drift.ObjectKey, args ...any) {
	if opts.Logger != nil {
		opts.Logger.Debug("admission: "+msg, append([]any{"cluster", c.Name, "object", key.String()}, args...)...)
	}
}

// failOpen lets a write through that the webhook could not judge, as the
// API server does when the webhook is down (failurePolicy Ignore).
func failOpen(c *Cluster, opts Options, allow *admissionv1.AdmissionResponse, key drift.ObjectKey, err error) (*admissionv1.AdmissionResponse, Decision) {
	if opts.Logger != nil {
		opts.Logger.Warn("admission review failed; write allowed", "cluster", c.Name, "object", key.String(), "err", err)
	}
	return allow, Allowed
}

// message tells the writer what it ran into and how to go on; the
// break-glass annotation is named only when someone may use it.
func message(c *Cluster, key drift.ObjectKey, origin source.Origin, op admissionv1.Operation, paths []string, breakGlass bool) string {
	override := ""
	if breakGlass {
		override = fmt.Sprintf(", or, if you may break glass, annotate it %s=<reason> first", BreakGlassAnnotation)
	}
	if op == admissionv1.Delete {
		return fmt.Sprintf("plumb: %s is declared by %s (cluster %s); remove it from the source to delete it%s",
			key, origin, c.Name, override)
	}
	fields := paths
	if len(fields) > 4 {
		fields = append(fields[:4:4], fmt.Sprintf("%d more", len(paths)-4))
	}
	return fmt.Sprintf("plumb: %s declares %s of %s (cluster %s); change the source instead%s",
		origin, strings.Join(fields, ", "), key, c.Name, override)
}

// exemptPatterns are the exemptions in force: DefaultExempt unless set.
func exemptPatterns(patterns []string) []string {
	if patterns == nil {
		return DefaultExempt
	}
	return patterns
}

// matchesIdentity reports whether the authenticated user, or one of its
// groups, matches one of patterns.
func matchesIdentity(u authenticationv1.UserInfo, patterns []string) bool {
	if matchesAny(u.Username, patterns) {
		return true
	}
	for _, g := range u.Groups {
		if matchesAny(g, patterns) {
			return true
		}
	}
	return false
}

func matchesAny(name string, patterns []string) bool {
	if name == "" {
		return false
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// objectKey names the declared object a request writes: for a subresource
// (scale), its parent.
func objectKey(c *Cluster, req *admissionv1.AdmissionRequest) (drift.ObjectKey, bool) {
	gk := schema.GroupKind{Group: req.Kind.Group, Kind: req.Kind.Kind}
	if req.SubResource != "" {
		gvk, err := c.Mapper.KindFor(schema.GroupVersionResource{Group: req.Resource.Group, Version: req.Resource.Version, Resource: req.Resource.Resource})
		if err != nil {
			return drift.ObjectKey{}, false
		}
		gk = gvk.GroupKind()
	}
	return drift.ObjectKey{Group: gk.Group, Kind: gk.Kind, Namespace: req.Namespace, Name: req.Name}, true
}

// fieldManager is the manager an UPDATE or PATCH names in its options.
func fieldManager(raw runtime.RawExtension) string {
	var o struct {
		FieldManager string `json:"fieldManager"`
	}
	if len(raw.Raw) == 0 || json.Unmarshal(raw.Raw, &o) != nil {
		return ""
	}
	return o.FieldManager
}

func decode(raw runtime.RawExtension) (*unstructured.Unstructured, error) {
	u := &unstructured.Unstructured{}
	if len(raw.Raw) == 0 {
		return u, nil
	}
	if err := u.UnmarshalJSON(raw.Raw); err != nil {
		return nil, err
	}
	return u, nil
}

// scaleOverride reports .spec.replicas when a write to the scale
// subresource moves a declared replica count away from the declaration.
func scaleOverride(t drift.Target, old, scale *unstructured.Unstructured, hpaScaled bool) ([]string, error) {
	if hpaScaled {
		return nil, nil
	}
	d, err := t.Desired()
	if err != nil {
		return nil, err
	}
	want, declared, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	before, _, _ := unstructured.NestedInt64(old.Object, "spec", "replicas")
	after, _, _ := unstructured.NestedInt64(scale.Object, "spec", "replicas")
	if !declared || before == after || after == want {
		return nil, nil
	}
	return []string{".spec.replicas"}, nil
}
