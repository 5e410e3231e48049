package callfire

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hookd/hookd"
)

// eventTypes is the catalog of seed 000, made available in every scope that
// uses this API.
var eventTypes = func() []*hookd.EventType {
	var out []*hookd.EventType
	add := func(resource, what string, events ...string) {
		for _, e := range events {
			out = append(out, &hookd.EventType{
				Name:        resource + "." + e,
				Description: fmt.Sprintf("CallFire: %s %s", what, e),
			})
		}
	}
	add("CccCampaign", "a CCC campaign", "started", "stopped", "finished")
	add("CallBroadcast", "a call broadcast", "started", "stopped", "finished")
	add("TextBroadcast", "a text broadcast", "started", "stopped", "finished")
	add("OutboundCall", "an outbound call", "finished")
	add("InboundCall", "an inbound call", "finished")
	add("OutboundText", "an outbound text", "finished")
	add("InboundText", "an inbound text", "finished")
	add("ContactList", "a contact list's validation", "validationFinished", "validationFailed")
	return out
}()

// resource is one resource of a scope's catalog and its events.
type resource struct {
	Name   string   `json:"resource"`
	Events []string `json:"supportedEvents"`
}

// catalog is a scope's catalog seen as CallFire resources, looked up
// case-insensitively: clients send FINISHED, Finished or finished.
type catalog struct {
	list   []resource
	byName map[string]int // lower-case resource name → index in list
}

// loadCatalog reads the scope's event types of the form Resource.event.
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
	dotted := types[:0]
	for _, t := range types {
		if strings.Contains(t.Name, ".") {
			dotted = append(dotted, t)
		}
	}
	c := &catalog{byName: map[string]int{}}
	for _, r := range hookd.GroupByResource(dotted) {
		c.byName[strings.ToLower(r.Name)] = len(c.list)
		c.list = append(c.list, resource{Name: r.Name, Events: r.Events})
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

// resource returns the canonical spelling of a resource name, or EINVALID
// naming field.
func (c *catalog) resource(field, name string) (resource, error) {
	i, ok := c.byName[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		return resource{}, hookd.Errorf(hookd.EINVALID, "%s: unknown resource %q; available: %s", field, name, c.names())
	}
	return c.list[i], nil
}

// event returns the canonical spelling of one of r's events, or EINVALID.
func (r resource) event(field, name string) (string, error) {
	for _, e := range r.Events {
		if strings.EqualFold(e, strings.TrimSpace(name)) {
			return e, nil
		}
	}
	return "", hookd.Errorf(hookd.EINVALID, "%s: %q is not an event of %s; available: %s", field, name, r.Name, strings.Join(r.Events, ", "))
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

// describe turns event-type patterns back into a CallFire resource and
// events. Patterns of one resource give that resource and the event parts
// (none for Resource.*, which means all); anything else (all events, or
// several resources, from webhooks made through another API) gives no
// resource and the full names.
func describe(patterns []string) (string, []string) {
	if len(patterns) == 0 {
		return "", nil
	}
	r := hookd.ResourceOf(patterns[0])
	for _, p := range patterns {
		if p == "*" {
			return "", nil
		}
		if hookd.ResourceOf(p) != r || !strings.Contains(p, ".") {
			full := append([]string(nil), patterns...)
			sort.Strings(full)
			return "", full
		}
	}
	var events []string
	for _, p := range patterns {
		e := strings.TrimPrefix(p, r+".")
		if e == "*" {
			return r, nil
		}
		events = append(events, e)
	}
	return r, events
}
