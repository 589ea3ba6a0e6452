package dashboard

import (
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

//go:embed static
var static embed.FS

// CookieName is the session cookie.
const CookieName = "plumb_session"

// Options configure the dashboard.
type Options struct {
	// Token is serve's bearer token. When set, pages need a session, got
	// by signing in with it at /login. Default none: pages are open, as
	// the API is.
	Token string
	// SessionTTL is how long a session lasts. Default 12h.
	SessionTTL time.Duration
}

// Dashboard serves the pages and keeps the sessions.
type Dashboard struct {
	opts  Options
	pages *template.Template
	mu    sync.Mutex
	// sessions (guarded by mu) maps a session id to when it ends.
	sessions map[string]time.Time
	// failures (guarded by mu) limits wrong tokens per client address.
	failures map[string]*rate.Limiter
}

// Failed sign-ins a client may make: a burst of failedBurst, then one
// every failedEvery; past that it is answered 429 until it waits.
const (
	failedBurst  = 5
	failedEvery  = 2 * time.Second
	maxFailTrack = 10_000 // client addresses tracked at once
)

// New returns a dashboard.
func New(opts Options) *Dashboard {
	if opts.SessionTTL == 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	return &Dashboard{
		opts:     opts,
		pages:    template.Must(template.ParseFS(static, "static/*.html")),
		sessions: map[string]time.Time{},
		failures: map[string]*rate.Limiter{},
	}
}

// Register adds the dashboard's routes to mux: GET / (the app), GET /ui/
// (assets), GET and POST /login, POST /logout. guard wraps the routes
// that change state (signing in and out) with the server's cross-origin
// protection.
func (d *Dashboard) Register(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	assets, _ := fs.Sub(static, "static")
	mux.HandleFunc("GET /{$}", d.index)
	mux.Handle("GET /ui/", http.StripPrefix("/ui/", d.headers(http.FileServerFS(assets))))
	mux.HandleFunc("GET /login", d.loginPage)
	mux.Handle("POST /login", guard(http.HandlerFunc(d.signIn)))
	mux.Handle("POST /logout", guard(http.HandlerFunc(d.signOut)))
}

// Authenticated reports whether r carries a live session.
func (d *Dashboard) Authenticated(r *http.Request) bool {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	end, ok := d.sessions[c.Value]
	if ok && time.Now().After(end) {
		delete(d.sessions, c.Value)
		return false
	}
	return ok
}

// headers sets what every page and asset is served with: a policy that
// lets the page load only its own scripts and styles, talk only to its
// own server, and be framed by nobody (no clickjacking of Approve).
func (d *Dashboard) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

func (d *Dashboard) index(w http.ResponseWriter, r *http.Request) {
	if d.opts.Token != "" && !d.Authenticated(r) {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = d.pages.ExecuteTemplate(w, "index.html", map[string]bool{"Session": d.opts.Token != ""})
}

func (d *Dashboard) loginPage(w http.ResponseWriter, r *http.Request) {
	if d.opts.Token == "" || d.Authenticated(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	d.renderLogin(w, http.StatusOK, "")
}

func (d *Dashboard) renderLogin(w http.ResponseWriter, code int, message string) {
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_ = d.pages.ExecuteTemplate(w, "login.html", map[string]string{"Message": message})
}

func (d *Dashboard) signIn(w http.ResponseWriter, r *http.Request) {
	if d.opts.Token == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	limiter := d.limiter(r)
	if limiter.Tokens() < 1 {
		w.Header().Set("Retry-After", strconv.Itoa(int(failedEvery.Seconds())))
		d.renderLogin(w, http.StatusTooManyRequests, "Too many wrong tokens from here; wait a moment and try again.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	got := []byte(r.PostFormValue("token"))
	if subtle.ConstantTimeCompare(got, []byte(d.opts.Token)) != 1 {
		limiter.Allow() // only a wrong token spends the allowance
		d.renderLogin(w, http.StatusUnauthorized, "That is not the token plumb serve was started with (--token-file).")
		return
	}
	id, err := newSessionID()
	if err != nil {
		http.Error(w, "cannot start a session: "+err.Error(), http.StatusInternalServerError)
		return
	}
	now := time.Now()
	d.mu.Lock()
	for s, end := range d.sessions { // forget ended sessions
		if now.After(end) {
			delete(d.sessions, s)
		}
	}
	d.sessions[id] = now.Add(d.opts.SessionTTL)
	d.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: id, Path: "/", MaxAge: int(d.opts.SessionTTL.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (d *Dashboard) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil {
		d.mu.Lock()
		delete(d.sessions, c.Value)
		d.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// secure says whether the browser reached plumb over TLS: directly, or
// through a TLS-terminating ingress that says so (X-Forwarded-Proto). The
// session cookie is then Secure, so it never travels in clear.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// limiter is the failed sign-in allowance of r's client address.
func (d *Dashboard) limiter(r *http.Request) *rate.Limiter {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.failures[host]
	if l == nil {
		if len(d.failures) >= maxFailTrack {
			clear(d.failures) // a flood of addresses starts everyone afresh
		}
		l = rate.NewLimiter(rate.Every(failedEvery), failedBurst)
		d.failures[host] = l
	}
	return l
}

func newSessionID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
