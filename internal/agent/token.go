package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"plumb.dev/plumb/internal/store"
)

// Tokens are the agents' own credentials on the hub, each bound to one
// cluster; only their SHA-256 is kept.
type Tokens interface {
	SetAgentToken(ctx context.Context, cluster, hash string, at time.Time) error
	AgentTokenCluster(ctx context.Context, hash string) (string, error)
}

// NewToken makes a random token for an agent (256 bits, hex).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// HashToken is what the hub keeps of a token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// ClusterOf returns the cluster token was issued for; ok is false for a
// token the hub never issued (or replaced since).
func ClusterOf(ctx context.Context, tokens Tokens, token string) (cluster string, ok bool, err error) {
	if token == "" {
		return "", false, nil
	}
	cluster, err = tokens.AgentTokenCluster(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("agent tokens: %w", err)
	}
	return cluster, true, nil
}
