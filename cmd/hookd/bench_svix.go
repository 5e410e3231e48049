package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// The bench's publishers and webhooks can go through Svix's API (--api
// svix): one application per target, made by the operator key, its
// endpoints made and messages published as a Svix SDK would, so that the
// figures compare with /v1's.

// benchAPIs are the APIs --api may name.
var benchAPIs = []string{"v1", "svix"}

// svixScenarios are the scenarios whose publishing and webhooks go through
// the chosen API (the others publish through /v1 in any case).
var svixScenarios = []string{"throughput", "isolation"}

// useSvix makes t publish and manage webhooks through Svix's API with the
// operator key opKey, in a fresh application.
func (t *target) useSvix(ctx context.Context, opKey string) error {
	t.api, t.key = "svix", opKey
	t.app = fmt.Sprintf("bench-%d", time.Now().UnixNano())
	body, _ := json.Marshal(map[string]string{"name": t.app, "uid": t.app})
	return t.svixCall(ctx, http.MethodPost, "/api/v1/app?get_if_exists=true", body, http.StatusCreated, nil)
}

// svixCall sends a request to Svix's API and decodes the answer into out.
func (t *target) svixCall(ctx context.Context, method, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// svixCreateWebhooks is createWebhooks through Svix's API: one endpoint per URL.
func (t *target) svixCreateWebhooks(ctx context.Context, urls []string) ([]string, error) {
	ids := make([]string, len(urls))
	errs := make([]error, len(urls))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, u := range urls {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			body, _ := json.Marshal(map[string]any{"url": u, "description": "bench " + strconv.Itoa(i)})
			var ep struct{ ID string }
			errs[i] = t.svixCall(ctx, http.MethodPost, "/api/v1/app/"+t.app+"/endpoint", body, http.StatusCreated, &ep)
			ids[i] = ep.ID
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("create endpoints: %w", err)
	}
	return ids, nil
}

// svixDeleteWebhooks removes the application, with its endpoints and messages.
func (t *target) svixDeleteWebhooks(ctx context.Context) {
	_ = t.svixCall(ctx, http.MethodDelete, "/api/v1/app/"+t.app, nil, http.StatusNoContent, nil)
}

// svixPublish is publish through Svix's API: the event's data is the
// message's payload, which the receivers get as the body.
func (t *target) svixPublish(ctx context.Context, buf *[]byte, body eventBody, seq int64) error {
	*buf = body.appendSvix((*buf)[:0], seq, time.Now())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+"/api/v1/app/"+t.app+"/msg", bytes.NewReader(*buf))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.hc.Do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		return fmt.Errorf("publish: status %d: %s", resp.StatusCode, b)
	}
	drain(resp.Body)
	return nil
}

// appendSvix is append as Svix's MessageIn: the same data as the payload.
func (e eventBody) appendSvix(dst []byte, seq int64, sent time.Time) []byte {
	start := len(dst)
	dst = e.append(dst, seq, sent)
	// {"type":"bench.tick","data":{…}} → {"eventType":"bench.tick","payload":{…}}
	data := bytes.Index(dst[start:], []byte(`"data":`))
	rest := append([]byte(nil), dst[start+data+len(`"data":`):]...)
	dst = append(dst[:start], `{"eventType":"bench.tick","payload":`...)
	return append(dst, rest...)
}

// chooseAPI switches t to Svix's API when --api says so, with --key (an
// operator key) on a --target, else a new operator key.
func (b *bencher) chooseAPI(ctx context.Context, t *target, dataDir string) error {
	if b.cfg.API != "svix" {
		return nil
	}
	key := b.cfg.Key
	if b.cfg.Target == "" {
		k, err := newOperatorKey(ctx, dataDir, b.cfg.DatabaseURL)
		if err != nil {
			return err
		}
		key = k
	}
	return t.useSvix(ctx, key)
}

// newOperatorKey makes an operator key in the database of an in-process hookd.
func newOperatorKey(ctx context.Context, dataDir, databaseURL string) (string, error) {
	var out, errb bytes.Buffer
	args := []string{"operator-key", "create", "--name", "bench", "--log-level", "warn"}
	if databaseURL != "" {
		args = append(args, "--database-url", databaseURL)
	} else {
		args = append(args, "--data-dir", dataDir)
	}
	if code := Main(ctx, args, nil, &out, &errb); code != 0 {
		return "", fmt.Errorf("operator-key create: %s", errb.String())
	}
	k := regexp.MustCompile(`opk_\S+`).FindString(out.String())
	if k == "" {
		return "", fmt.Errorf("operator-key create printed no key: %q", out.String())
	}
	return k, nil
}
