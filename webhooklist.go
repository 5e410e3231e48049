package hookd

// Select applies the filter's status, event type and resource conditions
// (the rules: a status derived at the time of the read, MatchEventType) and
// its page to ws, a scope's webhooks that already pass the other conditions,
// ordered by id, whose Status is set. It returns the page and how many
// match in all.
func (f *WebhookFilter) Select(ws []*Webhook) ([]*Webhook, int) {
	page := []*Webhook{}
	total, skipped := 0, 0
	for _, w := range ws {
		if f.Status != "" && w.Status != f.Status {
			continue
		}
		if f.EventType != "" && !MatchEventType(w.EventTypes, f.EventType) {
			continue
		}
		if f.Resource != "" && !SubscribesToResource(w.EventTypes, f.Resource) {
			continue
		}
		total++
		switch {
		case f.Cursor != "" && w.ID <= f.Cursor:
		case f.Cursor == "" && skipped < f.Offset:
			skipped++
		case len(page) < f.Limit:
			page = append(page, w)
		}
	}
	return page, total
}
