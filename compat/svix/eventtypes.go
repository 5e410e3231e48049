package svix

import (
	"encoding/json"
	"net/http"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
)

// eventTypeJSON is Svix's EventTypeOut.
type eventTypeJSON struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Archived    bool            `json:"archived"`
	Deprecated  bool            `json:"deprecated"`
	Schemas     json.RawMessage `json:"schemas,omitempty"`
	FeatureFlag *string         `json:"featureFlag,omitempty"`
	GroupName   *string         `json:"groupName,omitempty"`
	CreatedAt   string          `json:"createdAt"`
	UpdatedAt   string          `json:"updatedAt"`
}

func toEventType(t *hookd.OperatorEventType, withContent bool) eventTypeJSON {
	out := eventTypeJSON{Name: t.Name, Description: t.Description, Archived: t.Archived, Deprecated: t.Deprecated,
		CreatedAt: timeJSON(t.CreatedAt), UpdatedAt: timeJSON(t.UpdatedAt)}
	if withContent {
		out.Schemas = t.Schemas
	}
	if t.FeatureFlag != "" {
		f := t.FeatureFlag
		out.FeatureFlag = &f
	}
	if t.GroupName != "" {
		g := t.GroupName
		out.GroupName = &g
	}
	return out
}

// eventTypeIn is Svix's EventTypeIn, EventTypeUpdate and EventTypePatch.
type eventTypeIn struct {
	Name        string                    `json:"name"`
	Description *string                   `json:"description"`
	Archived    *bool                     `json:"archived"`
	Deprecated  *bool                     `json:"deprecated"`
	Schemas     nullable[json.RawMessage] `json:"schemas"`
	FeatureFlag nullable[string]          `json:"featureFlag"`
	GroupName   nullable[string]          `json:"groupName"`
}

// apply sets what in carries on t; put makes absent optional fields their
// defaults (PUT replaces the type).
func (in *eventTypeIn) apply(t *hookd.OperatorEventType, put bool) {
	if in.Description != nil {
		t.Description = *in.Description
	}
	if in.Archived != nil {
		t.Archived = *in.Archived
	} else if put {
		t.Archived = false
	}
	if in.Deprecated != nil {
		t.Deprecated = *in.Deprecated
	} else if put {
		t.Deprecated = false
	}
	if in.Schemas.Set || put {
		t.Schemas = nil
		if in.Schemas.Value != nil {
			t.Schemas = *in.Schemas.Value
		}
	}
	if in.FeatureFlag.Set || put {
		t.FeatureFlag = ""
		if in.FeatureFlag.Value != nil {
			t.FeatureFlag = *in.FeatureFlag.Value
		}
	}
	if in.GroupName.Set || put {
		t.GroupName = ""
		if in.GroupName.Value != nil {
			t.GroupName = *in.GroupName.Value
		}
	}
}

func withContent(r *http.Request) bool { return r.URL.Query().Get("with_content") != "false" }

func (a *api) listEventTypes(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	f := hookd.OperatorEventTypeFilter{IncludeArchived: r.URL.Query().Get("include_archived") == "true"}
	var out []eventTypeJSON
	read := func(cursor string, limit int) ([]*hookd.OperatorEventType, error) {
		f.Page = hookd.Page{Limit: limit, Cursor: cursor}
		ts, err := a.svc.OperatorCatalog.FindOperatorEventTypes(r.Context(), f)
		for _, t := range ts {
			out = append(out, toEventType(t, withContent(r)))
		}
		return ts, err
	}
	if p.desc {
		err = each(func(cursor string) ([]*hookd.OperatorEventType, error) { return read(cursor, hookd.MaxPageLimit) },
			func(t *hookd.OperatorEventType) string { return t.Name }, func(*hookd.OperatorEventType) bool { return true })
	} else {
		_, err = read(p.iterator, p.limit+1)
	}
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, answer(p, out, func(e eventTypeJSON) string { return e.Name }))
	return nil
}

func (a *api) createEventType(w http.ResponseWriter, r *http.Request) error {
	var in eventTypeIn
	if err := a.decode(r, &in); err != nil {
		return err
	}
	if in.Description == nil {
		return hookd.Errorf(hookd.EINVALID, "description is required")
	}
	t := &hookd.OperatorEventType{Name: in.Name}
	in.apply(t, true)
	if err := a.svc.OperatorCatalog.CreateOperatorEventType(r.Context(), t); err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusCreated, toEventType(t, true))
	return nil
}

func (a *api) getEventType(w http.ResponseWriter, r *http.Request) error {
	t, err := a.svc.OperatorCatalog.FindOperatorEventType(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, toEventType(t, true))
	return nil
}

// putEventType is PUT /event-type/{name}: replace, or create (201).
func (a *api) putEventType(w http.ResponseWriter, r *http.Request) error {
	var in eventTypeIn
	if err := a.decode(r, &in); err != nil {
		return err
	}
	if in.Description == nil {
		return hookd.Errorf(hookd.EINVALID, "description is required")
	}
	name := r.PathValue("name")
	t, err := a.svc.OperatorCatalog.UpdateOperatorEventType(r.Context(), name, func(t *hookd.OperatorEventType) { in.apply(t, true) })
	if hookd.ErrorCode(err) == hookd.ENOTFOUND {
		t = &hookd.OperatorEventType{Name: name}
		in.apply(t, true)
		if err := a.svc.OperatorCatalog.CreateOperatorEventType(r.Context(), t); err != nil {
			return err
		}
		compat.WriteJSON(w, http.StatusCreated, toEventType(t, true))
		return nil
	}
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, toEventType(t, true))
	return nil
}

func (a *api) patchEventType(w http.ResponseWriter, r *http.Request) error {
	var in eventTypeIn
	if err := a.decode(r, &in); err != nil {
		return err
	}
	t, err := a.svc.OperatorCatalog.UpdateOperatorEventType(r.Context(), r.PathValue("name"), func(t *hookd.OperatorEventType) { in.apply(t, false) })
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, toEventType(t, true))
	return nil
}

// deleteEventType archives the type, as Svix does; ?expunge=true deletes it.
func (a *api) deleteEventType(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	var err error
	if r.URL.Query().Get("expunge") == "true" {
		err = a.svc.OperatorCatalog.DeleteOperatorEventType(r.Context(), name)
	} else {
		_, err = a.svc.OperatorCatalog.UpdateOperatorEventType(r.Context(), name, func(t *hookd.OperatorEventType) { t.Archived = true })
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
