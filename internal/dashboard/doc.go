// Package dashboard is plumb serve's web dashboard: the pages at / and
// their assets, embedded in the binary (no CDN, no build step: plain
// HTML, CSS and JavaScript modules), and the sessions that let a browser
// use the API when serve wants a token.
//
// The pages read the JSON API under /api/v1 and listen to its stream
// (/api/v1/stream), so what they show follows the clusters without a
// reload. Routing happens in the page (#/cluster/NAME, #/object/ID, …);
// the server answers only /, /ui/* assets, /login and /logout, and any
// other path is the API's or a 404.
//
// With a token, a person signs in once at /login with it; the dashboard
// keeps a session (a random id, in memory, for Options.SessionTTL) in a
// cookie that is HttpOnly and SameSite=Strict, Secure over TLS. A browser
// never sends a Strict cookie with a request another site starts, and the
// server's cross-origin guard refuses cross-site writes besides, so the
// session cannot be ridden by another page (CSRF). Bearer tokens keep
// working for API clients. The package serves; it knows nothing of
// clusters or findings.
package dashboard
