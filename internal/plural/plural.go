// Package plural writes counts of things for people, in English: "1
// object", "2 objects", "0 errors". Every count plumb prints in a sentence
// goes through it, so none says "1 objects" or "object(s)".
package plural

import (
	"strconv"
	"strings"
)

// Count is n and the noun for it: one when n is 1, else its plural. The
// plural is one's with an "s", or "es" after s, x, z, ch and sh; irregular
// nouns pass their plural as many.
func Count(n int, one string, many ...string) string {
	return strconv.Itoa(n) + " " + Noun(n, one, many...)
}

// Noun is the noun for n things, without the number.
func Noun(n int, one string, many ...string) string {
	if n == 1 {
		return one
	}
	if len(many) > 0 {
		return many[0]
	}
	for _, end := range []string{"s", "x", "z", "ch", "sh"} {
		if strings.HasSuffix(one, end) {
			return one + "es"
		}
	}
	return one + "s"
}
