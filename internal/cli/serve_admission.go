package cli

import (
	"fmt"
	"net"
	"net/url"

	"plumb.dev/plumb/internal/admission"
	"plumb.dev/plumb/internal/config"
	"plumb.dev/plumb/internal/daemon"
)

// admissionFlags are serve's --admission flags.
type admissionFlags struct {
	mode          string
	listen        string
	url           string
	deployers     []string
	exempt        []string
	breakGlass    []string
	allowManagers []string // refused: see validate
	tokenFile     string
	clientCA      string
	open          bool
}

func (a *admissionFlags) validate() error {
	mode, ok := admission.ParseMode(a.mode)
	if !ok {
		return fmt.Errorf("--admission %q: want off, warn or enforce", a.mode)
	}
	if len(a.allowManagers) > 0 {
		return fmt.Errorf("--admission-allow-manager is gone: a field manager name is the caller's to choose, so admission decides by the authenticated identity; name who deploys with --admission-deployer (or deployers: on each source in the configuration), or --admission-exempt")
	}
	for flag, patterns := range map[string][]string{"--admission-deployer": a.deployers, "--admission-exempt": a.exempt, "--admission-break-glass": a.breakGlass} {
		for _, p := range patterns {
			if err := config.CheckIdentityPattern(p); err != nil {
				return fmt.Errorf("%s: %w", flag, err)
			}
		}
	}
	if mode == admission.ModeOff {
		return nil
	}
	if a.listen == "" {
		return fmt.Errorf("--admission %s needs --admission-listen, the address the webhook serves on", mode)
	}
	if a.tokenFile == "" && a.clientCA == "" && !a.open {
		return fmt.Errorf("--admission %s needs to know its callers: give --admission-token-file or --admission-client-ca, with the API server's AdmissionConfiguration presenting that credential (docs/security.md), or --admission-allow-unauthenticated where the API server cannot be configured, and let only it reach --admission-listen", mode)
	}
	_, err := a.baseURL()
	return err
}

// baseURL is how the API servers reach the webhook: --admission-url, else
// https:// and the --admission-listen address when it names a host.
func (a *admissionFlags) baseURL() (*url.URL, error) {
	raw := a.url
	if raw == "" {
		host, _, err := net.SplitHostPort(a.listen)
		if err != nil {
			return nil, fmt.Errorf("--admission-listen %q: %w", a.listen, err)
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			return nil, fmt.Errorf("--admission-listen %s names no host the API server can reach: give --admission-url (https://plumb.plumb-system.svc:9443, say)", a.listen)
		}
		raw = "https://" + a.listen
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--admission-url %q: want https://HOST[:PORT][/PATH], as the API server must call it over TLS", raw)
	}
	return u, nil
}

// options are the flags as the daemon takes them, with the credential
// files read; nil when off. validate has passed.
func (a *admissionFlags) options() (*daemon.AdmissionOptions, error) {
	mode, _ := admission.ParseMode(a.mode)
	if mode == admission.ModeOff {
		return nil, nil
	}
	u, _ := a.baseURL()
	opts := &daemon.AdmissionOptions{Mode: mode, Listen: a.listen, URL: u, Exempt: a.exempt, BreakGlass: a.breakGlass}
	var err error
	opts.Auth, err = loadCaller("--admission-token-file", a.tokenFile, "--admission-client-ca", a.clientCA)
	return opts, err
}
