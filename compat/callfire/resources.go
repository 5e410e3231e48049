package callfire

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// published is CallFire's webhook resource catalog in the order its API
// answers GET /webhooks/resources, events in CallFire's order and spelling.
// The first nine and their order are the answer recorded in CallFire's Java
// and C# clients' fixtures; ContactList is in seed 000 and both clients'
// models; OutboundTextDeliveryReport is in the C# client's model and
// CallFire's sample notifications (event "Received"). CallFire's own
// integration test expects 11 resources.
var published = []struct {
	resource, what string
	events         []string
}{
	{"MonthlyRenewal", "a monthly renewal", []string{"Finished", "Failed"}},
	{"LowBalance", "a low balance top-up", []string{"Finished", "Failed"}},
	{"CccCampaign", "a CCC campaign", []string{"Started", "Stopped", "Finished"}},
	{"CallBroadcast", "a call broadcast", []string{"Started", "Stopped", "Finished"}},
	{"TextBroadcast", "a text broadcast", []string{"Started", "Stopped", "Finished"}},
	{"OutboundCall", "an outbound call", []string{"Finished"}},
	{"InboundCall", "an inbound call", []string{"Finished"}},
	{"OutboundText", "an outbound text", []string{"Finished"}},
	{"InboundText", "an inbound text", []string{"Finished"}},
	{"ContactList", "a contact list's validation", []string{"ValidationFinished", "ValidationFailed"}},
	{"OutboundTextDeliveryReport", "an outbound text's delivery report", []string{"Received"}},
}

// eventTypes is the published catalog as hookd event types, made available
// in every scope that uses this API. hookd names an event type
// Resource.event with the event in lower camel case (CallBroadcast.finished,
// ContactList.validationFinished), as seed 000 spells it; answers spell the
// event as CallFire does (Finished).
var eventTypes = func() []*hookd.EventType {
	var out []*hookd.EventType
	for _, r := range published {
		for _, e := range r.events {
			out = append(out, &hookd.EventType{
				Name:        r.resource + "." + lowerFirst(e),
				Description: fmt.Sprintf("CallFire: %s %s", r.what, strings.ToLower(e)),
			})
		}
	}
	return out
}()

// spell renders an event as CallFire answers it: Finished, ValidationFinished.
// Its official clients parse any other spelling as "unknown".
func spell(event string) string {
	r, n := utf8.DecodeRuneInString(event)
	if r == utf8.RuneError {
		return event
	}
	return string(unicode.ToUpper(r)) + event[n:]
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToLower(r)) + s[n:]
}

// fold is the key under which names are matched: case, '_' and '-' do not
// count, so that FINISHED, finished, VALIDATION_FINISHED, CALL_BROADCAST
// (CallFire's PHP sample) and text-broadcast (its spec's example) all match.
func fold(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return unicode.ToLower(r)
	}, strings.TrimSpace(name))
}

// resource is one resource of a scope's catalog: its name and its events as
// hookd names them (the part after the dot).
type resource struct {
	Name   string
	Events []string
}

// resourceJSON is CallFire's WebhookResource.
type resourceJSON struct {
	Resource        string   `json:"resource"`
	SupportedEvents []string `json:"supportedEvents"`
}

func (r resource) toJSON() resourceJSON {
	out := resourceJSON{Resource: r.Name, SupportedEvents: make([]string, len(r.Events))}
	for i, e := range r.Events {
		out.SupportedEvents[i] = spell(e)
	}
	return out
}

// catalog is a scope's catalog seen as CallFire resources, looked up with
// fold.
type catalog struct {
	list   []resource
	byName map[string]int // fold(name) → index in list
}

// loadCatalog reads the scope's event types of the form Resource.event:
// CallFire's resources first, in its order, then any others the tenant has,
// by name.
func (a *api) loadCatalog(ctx context.Context, s hookd.Scope) (*catalog, error) {
	var types []*hookd.EventType
	for {
		page, total, err := a.svc.EventTypes.FindEventTypes(ctx, s, hookd.EventTypeFilter{
			Page: hookd.Page{Limit: hookd.MaxPageLimit, Offset: len(types)},
		})
		if err != nil {
			return nil, fmt.Errorf("load event types: %w", err)
		}
		types = append(types, page...)
		if len(page) == 0 || len(types) >= total {
			break
		}
	}
	var dotted []*hookd.EventType
	for _, t := range types {
		if strings.Contains(t.Name, ".") {
			dotted = append(dotted, t)
		}
	}
	tenant := map[string][]string{} // resource → its events, by name
	var names []string
	for _, r := range hookd.GroupByResource(dotted) {
		tenant[r.Name] = r.Events
		names = append(names, r.Name)
	}
	c := &catalog{byName: map[string]int{}}
	add := func(r resource) {
		if _, dup := c.byName[fold(r.Name)]; dup || len(r.Events) == 0 {
			return
		}
		c.byName[fold(r.Name)] = len(c.list)
		c.list = append(c.list, r)
	}
	for _, p := range published {
		r := resource{Name: p.resource}
		for _, e := range p.events {
			if slices.Contains(tenant[p.resource], lowerFirst(e)) {
				r.Events = append(r.Events, lowerFirst(e))
			}
		}
		for _, e := range tenant[p.resource] { // events the tenant added
			if !slices.Contains(r.Events, e) {
				r.Events = append(r.Events, e)
			}
		}
		add(r)
	}
	for _, n := range names {
		add(resource{Name: n, Events: tenant[n]})
	}
	return c, nil
}

func (c *catalog) names() string {
	names := make([]string, len(c.list))
	for i, r := range c.list {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}

// resource returns the catalog's resource named like name, or EINVALID
// naming field.
func (c *catalog) resource(field, name string) (resource, error) {
	i, ok := c.byName[fold(name)]
	if !ok {
		return resource{}, hookd.Errorf(hookd.EINVALID, "%s: unknown resource %q; available: %s", field, name, c.names())
	}
	return c.list[i], nil
}

// event returns hookd's spelling of one of r's events, or EINVALID.
func (r resource) event(field, name string) (string, error) {
	for _, e := range r.Events {
		if fold(e) == fold(name) {
			return e, nil
		}
	}
	spelled := make([]string, len(r.Events))
	for i, e := range r.Events {
		spelled[i] = spell(e)
	}
	return "", hookd.Errorf(hookd.EINVALID, "%s: %q is not an event of %s; available: %s", field, name, r.Name, strings.Join(spelled, ", "))
}

// eventTypesFor returns the event types of every resource that has an event
// spelled like name, for a search by event without a resource.
func (c *catalog) eventTypesFor(name string) []string {
	var out []string
	for _, r := range c.list {
		if e, err := r.event("", name); err == nil {
			out = append(out, r.Name+"."+e)
		}
	}
	return out
}

// patterns turns a CallFire resource and events into hookd event-type
// patterns: no events means every event of the resource.
func (c *catalog) patterns(resourceName string, events []string) ([]string, error) {
	r, err := c.resource("resource", resourceName)
	if err != nil {
		return nil, err
	}
	if len(events) == 0 {
		return []string{r.Name + ".*"}, nil
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(events))
	for _, name := range events {
		e, err := r.event("events", name)
		if err != nil {
			return nil, err
		}
		if !seen[e] {
			seen[e] = true
			out = append(out, r.Name+"."+e)
		}
	}
	return out, nil
}

// representable reports whether a webhook can be shown as a CallFire
// webhook: one resource and some or all of its events (Resource.event or
// Resource.*). Webhooks made through other APIs for all events, or for
// events of several resources, cannot: CallFire's clients would read their
// events as "unknown" and fail to send them back. This API neither lists
// nor finds them.
func representable(w *hookd.Webhook) bool {
	r, _ := describe(w.EventTypes)
	return r != ""
}

// describe turns event-type patterns of one resource back into a CallFire
// resource and events, spelled as CallFire answers them (none for
// Resource.*, which means all). Other patterns (all events, several
// resources, a type without a dot) give no resource.
func describe(patterns []string) (string, []string) {
	if len(patterns) == 0 {
		return "", nil
	}
	r := hookd.ResourceOf(patterns[0])
	for _, p := range patterns {
		if p == "*" || hookd.ResourceOf(p) != r || !strings.Contains(p, ".") {
			return "", nil
		}
	}
	var events []string
	for _, p := range patterns {
		e := strings.TrimPrefix(p, r+".")
		if e == "*" {
			return r, nil
		}
		events = append(events, spell(e))
	}
	return r, events
}
