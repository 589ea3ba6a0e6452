package cli

import (
	"context"

	"plumb.dev/plumb/internal/agent"
	"plumb.dev/plumb/internal/event"
	"plumb.dev/plumb/internal/store"
)

// newAgentReceiver takes plumb agent's batches (serve --agents) into st,
// for any cluster but those the hub watches or lists itself.
func newAgentReceiver(ctx context.Context, st *store.DB, setups []clusterSetup, unbound []string, publish func(event.Event)) (*agent.Receiver, error) {
	reserved := append([]string{}, unbound...)
	for _, s := range setups {
		reserved = append(reserved, s.name)
	}
	return agent.NewReceiver(ctx, st, st, publish, agent.ReceiverOptions{Reserved: reserved})
}
