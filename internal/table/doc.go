// Package table prints the tables plumb shows people, kubectl-style:
// upper-case headers, columns padded with spaces. On a terminal a table is
// made to fit its width, by shortening the columns that allow it with an
// ellipsis (in the middle of a name, at the start of a path, so that the
// end that tells one from another stays), and its cells may be coloured.
// Off a terminal (Options.Width 0) nothing is shortened, as kubectl does.
//
// Every cell is escaped (termsafe) before it is measured, so a table may be
// written to the terminal itself, around its own colour codes.
//
// It must not decide what a table holds or whether stdout is a terminal:
// callers say so in Options.
package table
