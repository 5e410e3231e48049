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
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// target is the hookd a scenario measures: one started in this process by
// Main("serve") on a fresh data dir, or one already running (--target).
type target struct {
	base string
	key  string
	// tenant, when set, is sent as Hookd-Tenant: key is an operator key
	// acting as that tenant.
	tenant string
	// operatorKey is the operator key an in-process hookd printed.
	operatorKey string
	hc          *http.Client
	// stop ends an in-process hookd and waits for it; nil for --target.
	stop func() error
	// api is "svix" when publishing and webhooks go through Svix's API,
	// in the application app (bench_svix.go).
	api, app string
}

// lineWatch is the stderr/stdout of an in-process hookd: it keeps what the
// bench needs from the log (the address, the printed keys, the last lines
// for an error message) and drops the rest.
type lineWatch struct {
	mu    sync.Mutex
	part  []byte
	tail  []string
	addr  chan string
	keys  map[string]string
	found bool
}

var (
	benchListenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)
	benchKeyRE    = regexp.MustCompile(`(live|test|operator): ((?:sk_(?:live|test)_|opk_)\S+)`)
)

func newLineWatch() *lineWatch {
	return &lineWatch{addr: make(chan string, 1), keys: map[string]string{}}
}

func (l *lineWatch) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.part = append(l.part, p...)
	for {
		i := bytes.IndexByte(l.part, '\n')
		if i < 0 {
			break
		}
		line := string(l.part[:i])
		l.part = l.part[i+1:]
		if m := benchListenRE.FindStringSubmatch(line); m != nil && !l.found {
			l.found = true
			l.addr <- m[1]
		}
		if m := benchKeyRE.FindStringSubmatch(line); m != nil {
			l.keys[m[1]] = m[2]
		}
		if l.tail = append(l.tail, line); len(l.tail) > 20 {
			l.tail = l.tail[1:]
		}
	}
	return len(p), nil
}

func (l *lineWatch) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.tail, "\n")
}

func (l *lineWatch) key(mode string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[mode]
}

// startInProcess runs `hookd serve` through Main on 127.0.0.1:0 and returns
// once it listens. Without a key it takes the live key that a fresh data dir
// prints; with a database URL the scenario gets its own tenant and key
// instead, since the database may hold earlier runs.
func startInProcess(ctx context.Context, dataDir, databaseURL, key string, extra []string) (*target, error) {
	ctx, cancel := context.WithCancel(ctx)
	out, errw := newLineWatch(), newLineWatch()
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir, "--allow-private-networks",
		"--log-level", "info", "--shutdown-grace", "2s"}
	if databaseURL != "" {
		args = append(args, "--database-url", databaseURL)
	}
	args = append(args, extra...)
	exit := make(chan int, 1)
	go func() { exit <- Main(ctx, args, nil, out, errw) }()
	t := &target{hc: newBenchClient(512)}
	t.stop = func() error {
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				return fmt.Errorf("hookd serve exited with %d:\n%s", code, errw.String())
			}
			return nil
		case <-time.After(30 * time.Second):
			return errors.New("hookd serve did not stop within 30s")
		}
	}
	select {
	case addr := <-errw.addr:
		t.base = "http://" + addr
	case code := <-exit:
		cancel()
		return nil, fmt.Errorf("hookd serve exited with %d before listening:\n%s", code, errw.String())
	case <-time.After(60 * time.Second):
		_ = t.stop()
		return nil, fmt.Errorf("hookd serve did not listen within 60s:\n%s", errw.String())
	}
	t.key = key
	if t.key == "" {
		t.key = out.key("live")
	}
	t.operatorKey = out.key("operator")
	if key == "" && databaseURL != "" {
		key, err := newTenantKey(ctx, databaseURL)
		if err != nil {
			_ = t.stop()
			return nil, err
		}
		t.key = key
	}
	if t.key == "" {
		_ = t.stop()
		return nil, errors.New("hookd serve printed no live key: is the data dir fresh?")
	}
	return t, nil
}

// auth sets the request's key, and the tenant an operator key acts as.
func (t *target) auth(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+t.key)
	if t.tenant != "" {
		req.Header.Set(hookd.TenantHeader, t.tenant)
	}
}

// actAsOperator makes t publish with the operator key, acting as the
// tenant its own key belongs to (found by the key's prefix in that
// tenant's key list through the operator API).
func (t *target) actAsOperator(ctx context.Context) error {
	if t.operatorKey == "" {
		return errors.New("--as-operator: the in-process hookd printed no operator key")
	}
	own := t.key
	t.key = t.operatorKey
	var tenants []struct {
		ID string `json:"id"`
	}
	if err := t.call(ctx, http.MethodGet, "/v1/tenants?limit=1000", nil, http.StatusOK, &tenants); err != nil {
		return fmt.Errorf("--as-operator: %w", err)
	}
	for _, ten := range tenants {
		var keys []struct {
			Prefix string `json:"prefix"`
		}
		if err := t.call(ctx, http.MethodGet, "/v1/tenants/"+ten.ID+"/keys", nil, http.StatusOK, &keys); err != nil {
			return fmt.Errorf("--as-operator: %w", err)
		}
		for _, k := range keys {
			if strings.HasPrefix(own, k.Prefix) {
				t.tenant = ten.ID
				return nil
			}
		}
	}
	return errors.New("--as-operator: no tenant has the bench's key")
}

// newTenantKey makes a fresh tenant and its live key in the database.
func newTenantKey(ctx context.Context, databaseURL string) (string, error) {
	name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	var out, errb bytes.Buffer
	db := []string{"--database-url", databaseURL, "--log-level", "warn"}
	if code := Main(ctx, append([]string{"tenant", "create", name}, db...), nil, &out, &errb); code != 0 {
		return "", fmt.Errorf("tenant create: %s", errb.String())
	}
	out.Reset()
	if code := Main(ctx, append([]string{"key", "create", "--tenant", name, "--mode", "live"}, db...), nil, &out, &errb); code != 0 {
		return "", fmt.Errorf("key create: %s", errb.String())
	}
	k := regexp.MustCompile(`sk_live_\S+`).FindString(out.String())
	if k == "" {
		return "", fmt.Errorf("key create printed no key: %q", out.String())
	}
	return k, nil
}

func newBenchClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        0,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     time.Minute,
		},
	}
}

// call sends a JSON request to the API and decodes {"data": …} into out.
func (t *target) call(ctx context.Context, method, path string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	t.auth(req)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
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
		env := any(&struct{ Data any }{Data: out})
		if t.api == "svix" {
			env = out // Svix's answers are the object itself
		}
		if err := json.Unmarshal(b, env); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// createWebhooks makes one webhook per URL, subscribed to every event type,
// with a few requests at a time, and returns their ids.
func (t *target) createWebhooks(ctx context.Context, urls []string) ([]string, error) {
	path, nameField := "/v1/webhooks", "name"
	if t.api == "svix" {
		path, nameField = "/api/v1/app/"+t.app+"/endpoint", "description"
	}
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
			body, _ := json.Marshal(map[string]any{"url": u, nameField: "bench " + strconv.Itoa(i)})
			var w struct{ ID string }
			errs[i] = t.call(ctx, http.MethodPost, path, body, http.StatusCreated, &w)
			ids[i] = w.ID
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("create webhooks: %w", err)
	}
	return ids, nil
}

// deleteWebhooks removes what a scenario made on a --target hookd.
func (t *target) deleteWebhooks(ctx context.Context, ids []string) {
	if t.api == "svix" {
		t.svixDeleteWebhooks(ctx)
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			_ = t.call(ctx, http.MethodDelete, "/v1/webhooks/"+id, nil, http.StatusNoContent, nil)
		}()
	}
	wg.Wait()
}

// eventBody is a publish request of about size bytes whose data carries the
// event's sequence number and the time it was sent, first, where the
// receivers find them without decoding.
type eventBody struct {
	pad string
}

func newEventBody(size int) eventBody {
	const overhead = len(`{"type":"bench.tick","data":{"seq":1000000,"sent_ns":1700000000000000000,"pad":""}}`)
	return eventBody{pad: strings.Repeat("x", max(size-overhead, 0))}
}

func (e eventBody) append(dst []byte, seq int64, sent time.Time) []byte {
	dst = append(dst, `{"type":"bench.tick","data":{"seq":`...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"sent_ns":`...)
	dst = strconv.AppendInt(dst, sent.UnixNano(), 10)
	dst = append(dst, `,"pad":"`...)
	dst = append(dst, e.pad...)
	return append(dst, `"}}`...)
}

// publish sends one event and reports whether it was accepted (202).
func (t *target) publish(ctx context.Context, buf *[]byte, body eventBody, seq int64) error {
	path := "/v1/events"
	if t.api == "svix" {
		// The same data as a Svix message's payload.
		*buf = body.appendSvix((*buf)[:0], seq, time.Now())
		path = "/api/v1/app/" + t.app + "/msg"
	} else {
		*buf = body.append((*buf)[:0], seq, time.Now())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.base+path, bytes.NewReader(*buf))
	if err != nil {
		return err
	}
	t.auth(req)
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
