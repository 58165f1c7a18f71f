package webhook

// EndpointInfo is one configured endpoint as admins may see it: the URL's
// scheme and host only (a webhook URL, Slack's for one, carries its
// credential in the path), never the secret.
type EndpointInfo struct {
	Endpoint string   `json:"endpoint"` // scheme://host, as in Delivery.Endpoint
	Events   []string `json:"events"`   // event types sent
	Format   string   `json:"format"`   // FormatJSON or FormatSlack
	Queued   int      `json:"queued"`   // events waiting for their first attempt
}

// Endpoints lists the configured endpoints, in configuration order.
func (n *Notifier) Endpoints() []EndpointInfo {
	out := make([]EndpointInfo, 0, len(n.eps))
	for _, ep := range n.eps {
		events := []string{ConversationCreated, MessageCreated}
		if ep.events != nil {
			events = events[:0]
			for _, e := range []string{ConversationCreated, MessageCreated} {
				if ep.events[e] {
					events = append(events, e)
				}
			}
		}
		out = append(out, EndpointInfo{Endpoint: ep.host, Events: events, Format: ep.Format, Queued: ep.q.Len()})
	}
	return out
}
