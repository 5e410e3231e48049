package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"time"
)

// The bench's publishers and webhooks can go through Svix's API (--api
// svix): one application per target, made by the operator key, its
// endpoints made and messages published as a Svix SDK would, so that the
// figures compare with /v1's.

// benchAPIs are the APIs --api may name.
var benchAPIs = []string{"v1", "svix"}

// svixScenarios are the scenarios whose publishing and webhooks go through
// the chosen API (the others publish through /v1 in any case). --api svix
// runs them and baseline, which no API touches, so that their ratios are
// to their own run's baseline.
var svixScenarios = []string{"throughput", "isolation"}

// useSvix makes t publish and manage webhooks through Svix's API with the
// operator key opKey, in a fresh application.
func (t *target) useSvix(ctx context.Context, opKey string) error {
	t.api, t.key = "svix", opKey
	t.app = fmt.Sprintf("bench-%d", time.Now().UnixNano())
	body, _ := json.Marshal(map[string]string{"name": t.app, "uid": t.app})
	return t.call(ctx, http.MethodPost, "/api/v1/app?get_if_exists=true", body, http.StatusCreated, nil)
}

// svixDeleteWebhooks removes the application, with its endpoints and messages.
func (t *target) svixDeleteWebhooks(ctx context.Context) {
	_ = t.call(ctx, http.MethodDelete, "/api/v1/app/"+t.app, nil, http.StatusNoContent, nil)
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
// operator key) on a --target, else the operator key the in-process hookd
// printed, or a new one in its store (dataDir, or dbURL on PostgreSQL) when
// it printed none.
func (b *bencher) chooseAPI(ctx context.Context, t *target, dataDir, dbURL string) error {
	if b.cfg.API != "svix" {
		return nil
	}
	key := b.cfg.Key
	if b.cfg.Target == "" {
		key = t.operatorKey // printed on a fresh database
	}
	if key == "" {
		k, err := newOperatorKey(ctx, dataDir, dbURL)
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
