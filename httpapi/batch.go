package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd"
)

// MaxBatchEvents bounds the events of one POST /v1/events/batch.
const MaxBatchEvents = 1000

// BatchEvent is one event of a batch, naming its tenant.
type BatchEvent struct {
	Tenant         string          `json:"tenant" minLength:"1" doc:"The tenant's id or uid"`
	Mode           hookd.Mode      `json:"mode,omitempty" enum:"live,test" doc:"Default live"`
	Type           string          `json:"type"`
	Data           json.RawMessage `json:"data" doc:"A JSON object"`
	ID             string          `json:"id,omitempty" doc:"Your id for the event (idempotent, per tenant and mode)"`
	IdempotencyKey string          `json:"idempotency_key,omitempty" maxLength:"256"`
}

// BatchPublished answers one event of a batch.
type BatchPublished struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Mode       hookd.Mode `json:"mode"`
	Deliveries int        `json:"deliveries"`
	Replayed   bool       `json:"replayed" doc:"The id or idempotency key was seen before with the same body: the first result"`
}

func registerBatch(s *Server) {
	o := op(http.MethodPost, "/v1/events/batch", "publishBatch",
		"Publish up to 1,000 events for any tenants: all committed together, or none", []string{"Events"},
		http.StatusAccepted, s.cfg.MaxBatchBytes)
	o.Metadata = map[string]any{operatorOnly: true}
	o.Description = "Needs an operator key. A refused event refuses the batch; the error names it as events[i]."
	huma.Register(s.api, o, func(ctx context.Context, in *struct {
		Body struct {
			Events []BatchEvent `json:"events" minItems:"1" maxItems:"1000"`
		}
	}) (*dataOutput[[]BatchPublished], error) {
		reqs, err := s.batchRequests(ctx, in.Body.Events)
		if err != nil {
			return nil, s.fail(ctx, "publish batch", err)
		}
		results, err := s.svc.Publisher.PublishBatch(ctx, reqs)
		if err != nil {
			return nil, s.fail(ctx, "publish batch", batchError(err))
		}
		out := make([]BatchPublished, len(results))
		for i, r := range results {
			out[i] = BatchPublished{ID: r.Event.ID, TenantID: reqs[i].Scope.TenantID, Mode: reqs[i].Scope.Mode,
				Deliveries: r.Deliveries, Replayed: r.Replayed}
		}
		return data(out), nil
	})
}

// batchRequests checks every event and resolves its tenant (each once),
// refusing the batch at the first bad event with its index.
func (s *Server) batchRequests(ctx context.Context, events []BatchEvent) ([]hookd.PublishRequest, error) {
	tenants := map[string]string{}
	now := s.cfg.Now()
	reqs := make([]hookd.PublishRequest, len(events))
	for i, be := range events {
		in := PublishInput{Type: be.Type, Data: be.Data, ID: be.ID}
		if err := in.validate(); err != nil {
			return nil, hookd.Errorf(hookd.ErrorCode(err), "events[%d].%s", i, hookd.ErrorMessage(err))
		}
		id, ok := tenants[be.Tenant]
		if !ok {
			t, err := s.svc.Tenants.FindTenant(ctx, be.Tenant)
			if hookd.ErrorCode(err) == hookd.ENOTFOUND {
				return nil, hookd.Errorf(hookd.EINVALID, "events[%d].tenant: no tenant has the id or uid %q", i, be.Tenant)
			}
			if err != nil {
				return nil, err
			}
			id, tenants[be.Tenant] = t.ID, t.ID
		}
		mode := be.Mode
		if mode == "" {
			mode = hookd.ModeLive
		}
		reqs[i] = hookd.PublishRequest{Scope: hookd.Scope{TenantID: id, Mode: mode}, Event: &hookd.Event{
			ID: be.ID, Type: be.Type, Data: be.Data, CreatedAt: now, IdempotencyKey: be.IdempotencyKey,
			BodyHash: hookd.ComputeBodyHash(be.Type, be.Data),
		}}
	}
	return reqs, nil
}

// batchError names the refused event in the message of its own error.
func batchError(err error) error {
	var br *hookd.BatchRefusal
	if !errors.As(err, &br) {
		return err
	}
	var he *hookd.Error
	if !errors.As(br.Err, &he) {
		return err
	}
	return &hookd.Error{Code: he.Code, Message: fmt.Sprintf("events[%d]: %s (nothing of the batch was accepted)", br.Index, he.Message),
		RetryAfter: he.RetryAfter}
}
