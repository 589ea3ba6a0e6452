package server

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// hostGuard refuses requests whose Host header names a host the server was
// not asked to answer for. A web page can make a browser send requests to
// plumb on loopback through a name of its own that resolves to 127.0.0.1
// (DNS rebinding); such a request is then same-origin for the browser, and
// only its Host header gives it away. Allowed are: the listen address's
// host, localhost and the loopback addresses when plumb listens on
// loopback, any IP address when it listens on every interface (an IP
// literal cannot be rebound; a kubelet probe uses the pod's IP), and the
// names given with --allowed-host ("*.example.com" allows its subdomains).
type hostGuard struct {
	listenHost   string
	wildcard     bool // listening on 0.0.0.0 or ::, loopback included
	loopbackOnly bool // listening on localhost or a loopback address
	allowed      []string
}

func newHostGuard(listen string, allowed []string) (*hostGuard, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", listen, err)
	}
	g := &hostGuard{listenHost: normalHost(host)}
	ip := net.ParseIP(g.listenHost)
	g.wildcard = host == "" || ip != nil && ip.IsUnspecified()
	g.loopbackOnly = g.listenHost == "localhost" || ip != nil && ip.IsLoopback()
	for _, a := range allowed {
		a = normalHost(a)
		if a == "" || strings.ContainsAny(a, "/: ") && net.ParseIP(a) == nil {
			return nil, fmt.Errorf("--allowed-host %q: want a host name such as plumb.example.com or *.example.com, without scheme or port", a)
		}
		g.allowed = append(g.allowed, a)
	}
	return g, nil
}

// normalHost lower-cases a host and drops IPv6 brackets and a trailing dot
// ("localhost." is localhost).
func normalHost(h string) string {
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// allows reports whether a request's Host header may be answered.
func (g *hostGuard) allows(hostHeader string) bool {
	host := hostHeader
	if h, _, err := net.SplitHostPort(hostHeader); err == nil {
		host = h
	}
	host = normalHost(host)
	if host == "" {
		return false
	}
	if host == g.listenHost {
		return true
	}
	ip := net.ParseIP(host)
	if g.wildcard && ip != nil {
		return true
	}
	if (g.loopbackOnly || g.wildcard) && (host == "localhost" || ip != nil && ip.IsLoopback()) {
		return true
	}
	for _, a := range g.allowed {
		if host == a || strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:]) {
			return true
		}
	}
	return false
}

func (g *hostGuard) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !g.allows(r.Host) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("host %q is not served here; start plumb serve with --allowed-host to allow it", r.Host))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Authenticate requires the bearer token on every request it wraps, when
// one is configured; the comparison takes the same time whatever the
// token sent.
func Authenticate(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="plumb"`)
			writeError(w, http.StatusUnauthorized, "a valid bearer token is required")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sameOrigin refuses cross-origin browser requests that change state (any
// method but GET, HEAD and OPTIONS): a page on another site that posts to
// plumb on loopback. It reads Sec-Fetch-Site, or compares Origin with Host
// where a browser sends no Sec-Fetch-Site. Requests with neither header
// come from no browser (curl, scripts) and pass; the token, when one is
// set, is what stops those.
func sameOrigin(next http.Handler) http.Handler {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusForbidden, "cross-origin request refused: write requests must come from plumb's own origin")
	}))
	return p.Handler(next)
}
