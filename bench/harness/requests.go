package main

import (
	"bytes"
	"context"
	"fmt"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"plumb.dev/plumb/internal/testcluster"
)

// apiRequests is how many requests the API server has served, by its own
// count (apiserver_request_total, every verb, resource and code). The
// difference across a command is the requests the command made, plus the
// few the API server makes to itself meanwhile and this read.
func apiRequests(env *testcluster.Env) (float64, error) {
	raw, err := env.Clientset.RESTClient().Get().AbsPath("/metrics").DoRaw(context.Background())
	if err != nil {
		return 0, fmt.Errorf("read the API server's metrics: %w", err)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(raw))
	if err != nil {
		return 0, fmt.Errorf("parse the API server's metrics: %w", err)
	}
	total := 0.0
	for _, m := range fams["apiserver_request_total"].GetMetric() {
		total += m.GetCounter().GetValue()
	}
	return total, nil
}

// counted runs a measured command and counts the API requests it made.
func counted(env *testcluster.Env, argv []string) (sample, error) {
	before, err := apiRequests(env)
	if err != nil {
		return sample{}, err
	}
	s, err := timed(argv)
	if err != nil {
		return s, err
	}
	after, err := apiRequests(env)
	s.requests = int64(after - before - 1) // less the read of before
	return s, err
}
