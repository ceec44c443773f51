package efipay

import "time"

// LookupTimeout is how long a caller playing Efipay waits for the lookup's
// answer. Efipay does not document its own; its peer Payvalida demands an
// answer within 5 s, so the sandbox waits that long and the conformance check
// fails a slower endpoint.
const LookupTimeout = 5 * time.Second

// RetryDelays are the waits before Efipay's retries of a webhook answered
// with a non-2xx status: once after 10 s, once more 100 s later, then never
// again. A fresh slice on every call, so a caller may shorten its copy.
func RetryDelays() []time.Duration {
	return []time.Duration{10 * time.Second, 100 * time.Second}
}
