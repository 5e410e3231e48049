// Package delivery is the engine inside `hookd serve`: the group-commit
// Publisher that turns concurrent publishes into one PublishEvents call, the
// Dispatcher that claims due deliveries from a hookd.Queue, sends them with a
// hookd.Sender on a bounded worker pool and writes the outcomes back in
// batches, and the Maintenance service (auto-disable, retention, queue
// gauges). It depends only on the root package's interfaces; cmd/hookd wires
// it to a store and to package webhook.
//
// Isolation and fairness, as built here:
//   - Concurrency bounds the HTTP requests in flight; PerWebhookInFlight
//     bounds one webhook's share of them. A claimed job whose webhook is at
//     its cap waits in that webhook's local queue without taking a worker.
//   - A local queue is bounded (PerWebhookQueue, or PerWebhookInFlight while
//     the webhook is stalled: saturated with no request finished for a
//     second). Jobs beyond the bound are released to the queue with a short
//     backoff, and a queued job that could no longer finish before its lease
//     ends is released too, so that a hanging receiver never burns leases.
//   - A webhook's RateLimit is a token bucket (burst = one second's worth).
//     A job over the rate waits locally when its token comes within
//     RateWait, else it is released with RetryAt = when its token would come.
//   - Workers take jobs round-robin across tenants, then across the
//     webhooks of a tenant, so a tenant with a huge backlog gets one turn
//     like every other tenant with work in hand. Fairness across claims is
//     best effort: it depends on the store's claim order (due time), which
//     released jobs re-enter behind work that is due now.
package delivery
