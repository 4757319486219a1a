// Package metrics counts what sspr does, for Prometheus, on a registry of
// its own (never the global one): sessions open and started, the steps
// reached with their results, refusals by reason, how sessions end,
// deliveries by provider and result with their latency, and the webhooks
// providers sent.
//
// It needs nothing of flow's internals: flow writes one audit record per
// decision, and Metrics.Audit wraps the audit log's handler to count them;
// Metrics.Sender wraps each flow.Sender to time and count its deliveries.
package metrics
