package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"plumb.dev/plumb/internal/dashboard"
	"plumb.dev/plumb/internal/store"
	"plumb.dev/plumb/internal/testwait"
)

// browser starts headless Chromium (Debian's chromium package) for the
// test and returns a context whose actions drive one tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed (hack/install-deps.sh installs it): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.Flag("headless", true), chromedp.DisableGPU, chromedp.WindowSize(1280, 800))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser steps, failing the test after d.
func do(t *testing.T, ctx context.Context, d time.Duration, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v\npage:\n%s", what, err, pageText(ctx))
	}
}

// text reads the text of the first element that matches the CSS selector,
// waiting up to 10 s for it. It finds and reads the element in one script,
// so a live redraw of the page between the two cannot lose the node.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	sel, _ := json.Marshal(css)
	script := `(() => { const e = document.querySelector(` + string(sel) + `); return e ? {found: true, text: e.innerText} : {found: false} })()`
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[struct {
			Found bool   `json:"found"`
			Text  string `json:"text"`
		}](script))
		if err == nil && got.Found {
			return got.Text
		}
		if time.Now().After(deadline) {
			t.Fatalf("text of %s: not found within 10s (%v)\npage:\n%s", css, err, pageText(ctx))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// clickJS finds and clicks the element in one script, trying again until
// it is there and enabled: a live redraw between finding and clicking
// cannot lose it.
func clickJS(css string) chromedp.Action[chromedp.Void] {
	sel, _ := json.Marshal(css)
	script := `(() => { const e = document.querySelector(` + string(sel) + `); if (!e || e.disabled) return false; e.click(); return true })()`
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		for {
			ok, err := chromedp.Evaluate[bool](script)(ctx, tg)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, fmt.Errorf("click %s: %w", css, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

func pageText(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("document.body.innerText"))
	return s
}

// screenshot keeps the viewport as NAME.png in the folder that
// PLUMB_SCREENSHOTS names (make screenshots writes docs/img).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PLUMB_SCREENSHOTS")
	if dir == "" {
		return
	}
	do(t, ctx, 5*time.Second, "settle", chromedp.Sleep(300*time.Millisecond))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDashboard opens every page in headless Chromium against plumb serve
// watching the shop with real drift: sign in with the token, read the
// fleet, a cluster, an object's diff, skew and cost; a change made with
// kubectl appears on the open page within 2 s, without a reload; Approve
// puts the object back, and Undo in the history puts it back as it was
// before; an undo of an object changed since is refused, on the page.
func TestDashboard(t *testing.T) {
	ns := env.Namespace(t)
	k := func(args ...string) string { return env.Kubectl(t, "", append([]string{"-n", ns}, args...)...) }
	k("apply", "--server-side", "-f", shop)
	k("scale", "deployment/api", "--replicas=5")
	const token = "dashboard-test-token"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeTemp(t, "apiVersion: plumb.dev/v1alpha1\nkind: Config\npricing: {cpuCoreHour: 0.04, memoryGiBHour: 0.005}\n")
	// A break-glass write the admission webhook recorded earlier; its
	// reason is the user's text, shown as text.
	storePath := filepath.Join(t.TempDir(), "plumb.db")
	st, err := store.OpenSQLite(context.Background(), storePath)
	if err != nil {
		t.Fatal(err)
	}
	const reason = `incident 7 <img src=x onerror="document.title='owned'">`
	if _, err := st.RecordBreakGlass(context.Background(), &store.BreakGlass{Time: time.Now(), Cluster: "envtest", APIVersion: "apps/v1", Kind: "Deployment",
		Namespace: ns, Name: "web", User: "carol", Groups: []string{"sre"}, Reason: reason, Operation: "UPDATE", Paths: []string{".spec.replicas"}}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	src := copyShop(t)
	base, _ := startServe(t, "-c", cfg, "-n", ns, "--source", src, "--store", storePath,
		"--remediation", "approve", "--token-file", tokenFile)
	ctx := browser(t)

	// Unknown paths are 404, signed in or not.
	resp, err := http.Get(base + "/no/such/page")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no/such/page: %d, want 404", resp.StatusCode)
	}

	// The session cookie is HttpOnly and SameSite=Strict.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.PostForm(base+"/login", map[string][]string{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := resp.Header.Get("Set-Cookie"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(c, dashboard.CookieName+"=") ||
		!strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
		t.Errorf("POST /login: %d, Set-Cookie %q, want 303 and a session cookie that is HttpOnly and SameSite=Strict", resp.StatusCode, c)
	}
	// Without a session, the API still wants the bearer token.
	resp, err = http.Get(base + "/api/v1/findings")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/findings without token or session: %d, want 401", resp.StatusCode)
	}

	// Signed out, / leads to the login page; a wrong token is refused.
	do(t, ctx, 20*time.Second, "wrong token",
		chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token"), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(".error")))
	url, err := chromedp.Run(ctx, chromedp.Location())
	if msg := text(t, ctx, ".error"); err != nil || !strings.HasSuffix(url, "/login") || !strings.Contains(msg, "not the token") {
		t.Errorf("signed out: landed on %s (%v) with message %q, want /login and a refusal", url, err, msg)
	}
	screenshot(t, ctx, "login")
	do(t, ctx, 20*time.Second, "sign in",
		chromedp.SetValue(chromedp.ID("token"), token), chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-cluster="envtest"]`)))
	// The page's scripts cannot read the session.
	if cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.cookie")); err != nil || strings.Contains(cookies, dashboard.CookieName) {
		t.Errorf("document.cookie = %q (%v): the session cookie must be HttpOnly", cookies, err)
	}

	// Fleet: the cluster, its status and counts, and what drift costs.
	row, cards := text(t, ctx, `tr[data-cluster="envtest"]`), text(t, ctx, ".cards")
	if !strings.Contains(row, "ok") || !strings.Contains(row, "cpu +3") || !strings.Contains(cards, "$") {
		t.Errorf("fleet row %q and cards %q: want status ok, cpu +3 and a monthly estimate", row, cards)
	}
	screenshot(t, ctx, "fleet")

	// Cluster: api's finding, linking to its object.
	apiID := "envtest/apps/Deployment/" + ns + "/api"
	webID := "envtest/apps/Deployment/" + ns + "/web"
	do(t, ctx, 10*time.Second, "cluster page",
		clickJS(`tr[data-cluster="envtest"] a`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-id="`+apiID+`"]`)))
	if row := text(t, ctx, `tr[data-id="`+apiID+`"]`); !strings.Contains(row, ".spec.replicas") || !strings.Contains(row, "drifted") || !strings.Contains(row, "memory +768Mi") {
		t.Errorf("api's row on the cluster page: %q", row)
	}

	// A change made with kubectl appears on the open page within 2 s.
	k("set", "image", "deployment/web", "web=nginx:1.28")
	start := time.Now()
	do(t, ctx, 2*time.Second, "web's finding on the open cluster page within 2 s",
		chromedp.WaitVisible(chromedp.CSS(`tr[data-id="`+webID+`"]`)))
	t.Logf("kubectl set image appeared on the open page %s after kubectl returned", time.Since(start).Round(time.Millisecond))
	screenshot(t, ctx, "cluster")

	// Object: the diff with desired, live and who changed it; the timeline.
	do(t, ctx, 10*time.Second, "object page",
		clickJS(`tr[data-id="`+webID+`"] a.obj`),
		chromedp.WaitVisible(chromedp.CSS(`tr.change[data-path*="image"]`)))
	change, timeline := text(t, ctx, `tr.change[data-path*="image"]`), text(t, ctx, ".timeline")
	for _, want := range []string{"nginx:1.27", "nginx:1.28", "kubectl-set", "Update"} {
		if !strings.Contains(change, want) {
			t.Errorf("web's image change %q lacks %q", change, want)
		}
	}
	if !strings.Contains(timeline, "opened by kubectl-set") {
		t.Errorf("web's timeline %q lacks its opening", timeline)
	}
	screenshot(t, ctx, "object")

	// Skew compares clusters that should match: one cluster has nothing
	// to compare with (internal/skew tests skew across clusters).
	do(t, ctx, 10*time.Second, "skew page",
		clickJS(`a[data-nav="skew"]`),
		chromedp.WaitVisible(chromedp.ID("no-groups")))
	if msg := text(t, ctx, "#no-groups"); !strings.Contains(msg, "this fleet has one") {
		t.Errorf("skew page of one cluster: %q", msg)
	}
	do(t, ctx, 10*time.Second, "cost page",
		clickJS(`a[data-nav="cost"]`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-id="`+apiID+`"]`)))
	// api: 3 more pods of 1 CPU and 256Mi: (3 × 0.04 + 0.75 × 0.005) × 730.
	if costs := text(t, ctx, "#page"); !strings.Contains(costs, "cpu +3") || !strings.Contains(costs, "$90.34/month") {
		t.Errorf("cost page %q: want cpu +3 and $90.34/month", costs)
	}
	screenshot(t, ctx, "cost")

	// Remediations: approve web's plan from the page; web is put back.
	approve := `tr[data-finding="` + webID + `"] button.approve`
	do(t, ctx, 15*time.Second, "web's plan in the approval queue",
		clickJS(`a[data-nav="remediations"]`), chromedp.WaitVisible(chromedp.CSS(approve)))
	do(t, ctx, 10*time.Second, "approve", clickJS(approve))
	testwait.For(t, 15*time.Second, "web's image put back", func() bool {
		return k("get", "deployment/web", "-o", "jsonpath={.spec.template.spec.containers[0].image}") == "nginx:1.27"
	})
	do(t, ctx, 10*time.Second, "the run in the history", chromedp.WaitVisible(chromedp.CSS(`tr[data-run] .badge.applied`)))
	if got := text(t, ctx, `tr[data-break-glass]`); !strings.Contains(got, "carol") || !strings.Contains(got, reason) || !strings.Contains(got, ".spec.replicas") {
		t.Errorf("the break-glass row reads %q", got)
	}

	// History with undo: Undo, then Confirm, puts web back as it was
	// before the fix, and the undo is a run in the history.
	var runs struct{ Items []store.Run }
	if code := call(t, http.MethodGet, base+"/api/v1/runs", token, &runs); code != http.StatusOK || len(runs.Items) != 1 {
		t.Fatalf("GET /api/v1/runs: %d, %+v: want the approval's run", code, runs.Items)
	}
	fixed := strconv.FormatInt(runs.Items[0].ID, 10)
	do(t, ctx, 10*time.Second, "undo, confirmed",
		clickJS(`tr[data-run="`+fixed+`"] button.undo`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-run="`+fixed+`"] button.confirm-undo`)))
	screenshot(t, ctx, "remediations")
	do(t, ctx, 10*time.Second, "confirm undo", clickJS(`tr[data-run="`+fixed+`"] button.confirm-undo`))
	do(t, ctx, 10*time.Second, "the undo run in the history",
		chromedp.WaitVisible(chromedp.CSS(`tr[data-undo-of="`+fixed+`"] .badge.applied`)))
	if got := k("get", "deployment/web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "nginx:1.28" {
		t.Errorf("web's image after undo from the page = %s, want nginx:1.28 as before the fix", got)
	}
	// The undo writes twice (the object, then its field owners), so the
	// page may redraw the history between the badge and these reads.
	testwait.For(t, 10*time.Second, "the fixed run's row marked undone", func() bool {
		return strings.Contains(text(t, ctx, `tr[data-run="`+fixed+`"]`), "undone")
	})
	testwait.For(t, 10*time.Second, "the undo's row to read: undo of #"+fixed+", applied", func() bool {
		undoRow := text(t, ctx, `tr[data-undo-of="`+fixed+`"]`)
		return strings.Contains(undoRow, "undo of #"+fixed) && strings.Contains(undoRow, "applied")
	})
	var apiErr struct{ Message string }
	if code := call(t, http.MethodPost, base+"/api/v1/runs/"+fixed+"/undo", token, &apiErr); code != http.StatusConflict ||
		!strings.Contains(apiErr.Message, "already undone") {
		t.Errorf("a second undo of run %s: %d %q, want 409 already undone", fixed, code, apiErr.Message)
	}
	if code := call(t, http.MethodPost, base+"/api/v1/runs/999/undo", token, &apiErr); code != http.StatusNotFound {
		t.Errorf("undo of no such run: %d, want 404", code)
	}

	// Undoing the undo after web changed again is refused, and the page
	// says why.
	k("set", "image", "deployment/web", "web=nginx:1.29")
	if code := call(t, http.MethodGet, base+"/api/v1/runs", token, &runs); code != http.StatusOK || len(runs.Items) != 2 || runs.Items[0].UndoOf == 0 {
		t.Fatalf("GET /api/v1/runs: %d, %+v: want the undo on top", code, runs.Items)
	}
	undo := strconv.FormatInt(runs.Items[0].ID, 10)
	do(t, ctx, 10*time.Second, "undo of the undo",
		clickJS(`tr[data-run="`+undo+`"] button.undo`),
		clickJS(`tr[data-run="`+undo+`"] button.confirm-undo`),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-run="`+undo+`"] .result:not(:empty)`)))
	if msg := text(t, ctx, `tr[data-run="`+undo+`"] .result`); !strings.Contains(msg, "changed since the run") {
		t.Errorf("undo of an object changed since: the page says %q", msg)
	}
	if got := k("get", "deployment/web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"); got != "nginx:1.29" {
		t.Errorf("web's image = %s after a refused undo, want nginx:1.29 left alone", got)
	}

	// A typo saved into a source file: the fleet and the cluster page say
	// which file, and that its declarations are kept.
	if err := os.WriteFile(filepath.Join(src, "api.yaml"), []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	testwait.For(t, 15*time.Second, "the source error in the API", func() bool {
		var l struct {
			Items []struct{ SourceErrors []any }
		}
		call(t, http.MethodGet, base+"/api/v1/clusters", token, &l)
		return len(l.Items) == 1 && len(l.Items[0].SourceErrors) > 0
	})
	do(t, ctx, 10*time.Second, "the source error on the cluster page",
		chromedp.Navigate(base+"/#/cluster/envtest"), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(".source-errors li")))
	if msg := text(t, ctx, ".source-errors"); !strings.Contains(msg, "api.yaml:3") || !strings.Contains(msg, "2 declarations kept as last loaded") {
		t.Errorf("the cluster page says %q, want the file and line and the declaration kept", msg)
	}
	screenshot(t, ctx, "source-error")
}

// call sends an empty request with the bearer token and decodes the JSON
// answer into v.
func call(t *testing.T, method, url, token string, v any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s %s: %d: %v", method, url, resp.StatusCode, err)
	}
	return resp.StatusCode
}
