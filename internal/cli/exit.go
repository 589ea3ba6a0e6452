package cli

import (
	"errors"
	"fmt"
)

// Exit codes shared by every command.
const (
	// ExitInSync means the work finished and found nothing out of place.
	ExitInSync = 0
	// ExitDrift means the work finished and found drift.
	ExitDrift = 1
	// ExitError means an error stopped the work or made its result incomplete.
	ExitError = 2
)

// exitError carries an exit code out of a command's Run. A nil Err means the
// command already reported what happened and only the code is left to return.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit code %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode returns an error that makes Execute exit with code. err may be nil
// when the command has already printed its result.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// exitCode maps an error returned by a command to a process exit code.
func exitCode(err error) int {
	if err == nil {
		return ExitInSync
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return ExitError
}
