// Package termsafe escapes the control characters in text plumb prints
// for people, so that a name or value that came from a cluster or a source
// (a custom resource may be named "x\x1b[2J") cannot clear the screen,
// move the cursor, retitle the terminal or hide text: the concern of
// kubectl's CVE-2021-25743. Newlines and tabs pass; every other C0 and C1
// control character, DEL and any byte that is not UTF-8 is written as a
// visible escape (\x1b, \u009b).
package termsafe
