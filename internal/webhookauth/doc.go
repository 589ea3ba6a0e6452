// Package webhookauth checks that a request to one of plumb's webhook
// listeners (the admission webhook, the audit receiver) comes from an API
// server: it bears the token, or presents a client certificate, that the
// API server's webhook kubeconfig gives it. Both need TLS: client-go sends
// a kubeconfig's token only over TLS.
package webhookauth
