package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd"
)

// Delivery is one (event, webhook) pair.
type Delivery struct {
	ID             string     `json:"id"`
	EventID        string     `json:"event_id"`
	WebhookID      string     `json:"webhook_id"`
	EventType      string     `json:"event_type"`
	Status         string     `json:"status" enum:"pending,succeeded,failed,cancelled"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastStatusCode int        `json:"last_status_code"`
	LastError      string     `json:"last_error"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func deliveryJSON(d *hookd.Delivery) Delivery {
	return Delivery{
		ID: d.ID, EventID: d.EventID, WebhookID: d.WebhookID, EventType: d.EventType,
		Status: string(d.Status), Attempts: d.Attempts, NextAttemptAt: d.NextAttemptAt,
		LastStatusCode: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt,
	}
}

// Attempt is one HTTP try of a delivery.
type Attempt struct {
	ID              string    `json:"id"`
	At              time.Time `json:"at"`
	DurationMS      int64     `json:"duration_ms"`
	StatusCode      int       `json:"status_code" doc:"0 when no response arrived"`
	ErrorClass      string    `json:"error_class" enum:",http_status,timeout,connection,destination_blocked,gone,invalid_request"`
	Error           string    `json:"error"`
	ResponseExcerpt string    `json:"response_excerpt" doc:"At most 4 KiB of the response body"`
}

func attemptJSON(a *hookd.Attempt) Attempt {
	ms := a.DurationMS
	if ms == 0 {
		ms = a.Duration.Milliseconds()
	}
	return Attempt{ID: a.ID, At: a.At, DurationMS: ms, StatusCode: a.StatusCode,
		ErrorClass: string(a.ErrorClass), Error: a.Error, ResponseExcerpt: a.ResponseExcerpt}
}

// DeliveryWithAttempts is a delivery and its attempts, oldest first.
type DeliveryWithAttempts struct {
	Delivery
	AttemptLog []Attempt `json:"attempt_log"`
}

// TestResult answers a test send.
type TestResult struct {
	Success   bool   `json:"success"`
	MessageID string `json:"message_id" doc:"The id of the test event (the webhook-id header of its deliveries)"`
	Webhooks  int    `json:"webhooks" doc:"How many webhooks it was sent to"`
}

// Recovered answers a recover.
type Recovered struct {
	Recovered int `json:"recovered" doc:"How many deliveries were re-queued"`
	Failed    int `json:"failed" doc:"Of them, how many had failed"`
	Cancelled int `json:"cancelled" doc:"Of them, how many had been cancelled while the webhook was disabled"`
}

type testOutput = dataOutput[TestResult]

// testEventType is the type of the events the test endpoints send.
const testEventType = "webhook.test"

func registerDeliveries(s *Server) {
	tags := []string{"Deliveries"}
	huma.Register(s.api, op(http.MethodGet, "/v1/deliveries", "listDeliveries", "List deliveries, newest first", tags, 0, 0),
		func(ctx context.Context, in *struct {
			WebhookID string `query:"webhook_id"`
			EventID   string `query:"event_id"`
			Status    string `query:"status" enum:"pending,succeeded,failed,cancelled"`
			TimeRange
			PageQuery
		}) (*listOutput[Delivery], error) {
			f := hookd.DeliveryFilter{WebhookID: in.WebhookID, EventID: in.EventID, Status: hookd.DeliveryStatus(in.Status), Page: in.page()}
			f.Since, f.Until = in.bounds()
			ds, err := s.svc.Deliveries.FindDeliveries(ctx, scopeFrom(ctx), f)
			if err != nil {
				return nil, s.fail(ctx, "list deliveries", err)
			}
			page := listOf(ds, f.Limit, deliveryJSON, func(d *hookd.Delivery) string { return d.ID })
			if err := endOnLastPage(&page, func(p hookd.Page) (bool, error) {
				g := f
				g.Page = p
				more, err := s.svc.Deliveries.FindDeliveries(ctx, scopeFrom(ctx), g)
				return len(more) > 0, err
			}); err != nil {
				return nil, s.fail(ctx, "list deliveries", err)
			}
			return &listOutput[Delivery]{Body: page}, nil
		})

	huma.Register(s.api, op(http.MethodGet, "/v1/deliveries/{id}", "getDelivery", "Get a delivery with its attempts", tags, 0, 0),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*dataOutput[DeliveryWithAttempts], error) {
			d, atts, err := s.svc.Deliveries.FindDeliveryByID(ctx, scopeFrom(ctx), in.ID)
			if err != nil {
				return nil, s.fail(ctx, "get delivery", err)
			}
			out := DeliveryWithAttempts{Delivery: deliveryJSON(d), AttemptLog: make([]Attempt, len(atts))}
			for i, a := range atts {
				out.AttemptLog[i] = attemptJSON(a)
			}
			return data(out), nil
		})

	huma.Register(s.api, op(http.MethodPost, "/v1/deliveries/{id}/retry", "retryDelivery", "Make one more attempt now", tags, http.StatusAccepted, 0),
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*dataOutput[Delivery], error) {
			d, err := s.svc.Deliveries.RetryDelivery(ctx, scopeFrom(ctx), in.ID)
			if err != nil {
				return nil, s.fail(ctx, "retry delivery", err)
			}
			return data(deliveryJSON(d)), nil
		})

	wtags := []string{"Webhooks"}
	huma.Register(s.api, op(http.MethodPost, "/v1/webhooks/{id}/recover", "recoverWebhook", "Re-queue the webhook's failed deliveries created since a time", wtags, http.StatusAccepted, s.cfg.MaxBodyBytes),
		func(ctx context.Context, in *struct {
			IDPath
			Body struct {
				Since time.Time  `json:"since"`
				Until *time.Time `json:"until,omitempty"`
			}
		}) (*dataOutput[Recovered], error) {
			if in.Body.Until != nil && !in.Body.Until.After(in.Body.Since) {
				return nil, s.fail(ctx, "recover", hookd.Errorf(hookd.EINVALID, "until must be after since"))
			}
			n, err := s.svc.Deliveries.RecoverWebhook(ctx, scopeFrom(ctx), in.ID, in.Body.Since, in.Body.Until)
			if err != nil {
				return nil, s.fail(ctx, "recover", err)
			}
			return data(Recovered{Recovered: n.Total(), Failed: n.Failed, Cancelled: n.Cancelled}), nil
		})

	huma.Register(s.api, op(http.MethodPost, "/v1/webhooks/test", "testWebhooks", "Send a webhook.test event to every enabled webhook", wtags, 0, 0),
		func(ctx context.Context, _ *struct{}) (*testOutput, error) {
			return s.sendTest(ctx, "")
		})

	huma.Register(s.api, op(http.MethodPost, "/v1/webhooks/{id}/test", "testWebhook", "Send a webhook.test event to one webhook", wtags, 0, 0),
		func(ctx context.Context, in *IDPath) (*testOutput, error) {
			sc := scopeFrom(ctx)
			if _, err := s.svc.Webhooks.FindWebhookByID(ctx, sc, in.ID); err != nil {
				return nil, s.fail(ctx, "test webhook", err)
			}
			return s.sendTest(ctx, in.ID)
		})
}

// sendTest publishes a webhook.test event to every enabled webhook in the
// caller's scope, or to one.
func (s *Server) sendTest(ctx context.Context, webhookID string) (*testOutput, error) {
	now := s.cfg.Now()
	payload, _ := json.Marshal(map[string]string{"message": "This is a test event from hookd.", "sent_at": now.UTC().Format(time.RFC3339)})
	e := &hookd.Event{Type: testEventType, Data: payload, CreatedAt: now, BodyHash: hookd.ComputeBodyHash(testEventType, payload)}
	res, err := s.svc.Publisher.Publish(ctx, hookd.PublishRequest{Scope: scopeFrom(ctx), Event: e, Test: true, WebhookID: webhookID})
	if err != nil {
		return nil, s.fail(ctx, "send test event", err)
	}
	return data(TestResult{Success: true, MessageID: res.Event.ID, Webhooks: res.Deliveries}), nil
}
