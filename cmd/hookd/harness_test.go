package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's and the test's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// instance is a `hookd serve` running in this process through Main.
type instance struct {
	base     string
	dataDir  string
	liveKey  string
	testKey  string
	opKey    string // the operator key printed on the first start
	stdout   *syncBuffer
	stderr   *syncBuffer
	stop     context.CancelFunc
	exitCode chan int
}

var (
	listenRE = regexp.MustCompile(`msg=listening addr=(\S+)`)
	keyRE    = regexp.MustCompile(`(live|test): (sk_(?:live|test)_\S+)`)
	opKeyRE  = regexp.MustCompile(`operator: (opk_\S+)`)
)

// startHookd boots Main("serve") on a free port with a fresh data dir and
// returns once it answers /healthz. It stops when the test ends.
func startHookd(t *testing.T, extra ...string) *instance {
	t.Helper()
	dir := t.TempDir()
	return startHookdIn(t, dir, extra...)
}

func startHookdIn(t *testing.T, dir string, extra ...string) *instance {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{dataDir: dir, stdout: &syncBuffer{}, stderr: &syncBuffer{}, stop: cancel, exitCode: make(chan int, 1)}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-level", "debug"}, extra...)
	go func() { in.exitCode <- Main(ctx, args, nil, in.stdout, in.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-in.exitCode:
			if code != 0 {
				t.Errorf("hookd serve exited with %d; stderr:\n%s", code, in.stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Errorf("hookd serve did not stop within 30s")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(in.stderr.String()); m != nil {
			in.base = "http://" + m[1]
			break
		}
		select {
		case code := <-in.exitCode:
			t.Fatalf("hookd serve exited with %d before listening; stderr:\n%s", code, in.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	if in.base == "" {
		t.Fatalf("hookd serve did not log its address; stderr:\n%s", in.stderr.String())
	}
	if m := opKeyRE.FindStringSubmatch(in.stdout.String()); m != nil {
		in.opKey = m[1]
	}
	for _, m := range keyRE.FindAllStringSubmatch(in.stdout.String(), -1) {
		if m[1] == "live" {
			in.liveKey = m[2]
		} else {
			in.testKey = m[2]
		}
	}
	return in
}

// run runs a one-shot command (tenant, key …) through Main on the
// instance's data dir and returns its stdout.
func (in *instance) run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--data-dir", in.dataDir)
	if code := Main(context.Background(), args, nil, &out, &errb); code != 0 {
		t.Fatalf("hookd %s exited with %d: %s", strings.Join(args, " "), code, errb.String())
	}
	return out.String()
}

// newKey makes a tenant (if new) and a key of mode for it.
func (in *instance) newKey(t *testing.T, tenant, mode string) string {
	t.Helper()
	if tenant != "default" && !strings.Contains(in.run(t, "tenant", "list"), " "+tenant+" ") {
		in.run(t, "tenant", "create", tenant)
	}
	out := in.run(t, "key", "create", "--tenant", tenant, "--mode", mode)
	m := regexp.MustCompile(`sk_(live|test)_\S+`).FindString(out)
	if m == "" {
		t.Fatalf("no key in %q", out)
	}
	return m
}

// client calls the API with one key and records which operations it used.
type client struct {
	t    *testing.T
	base string
	key  string
	seen map[string]bool // "METHOD /template"
	// header is sent with every request (Hookd-Tenant …).
	header http.Header
}

func (in *instance) client(t *testing.T, key string) *client {
	return &client{t: t, base: in.base, key: key, seen: map[string]bool{}}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v: %s", r.status, err, r.body)
	}
	return m
}

// data returns the "data" member of a JSON response.
func (r response) data(t *testing.T) map[string]any {
	t.Helper()
	d, ok := r.json(t)["data"].(map[string]any)
	if !ok {
		t.Fatalf("response has no data object: %s", r.body)
	}
	return d
}

func (r response) list(t *testing.T) []any {
	t.Helper()
	d, ok := r.json(t)["data"].([]any)
	if !ok {
		t.Fatalf("response has no data array: %s", r.body)
	}
	return d
}

// errorCode returns error.code of an error envelope, failing if the body is
// not one.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	e, ok := r.json(t)["error"].(map[string]any)
	if !ok {
		t.Fatalf("response %d is not an error envelope: %s", r.status, r.body)
	}
	msg, _ := e["message"].(string)
	if msg == "" {
		t.Fatalf("error envelope without a message: %s", r.body)
	}
	code, _ := e["code"].(string)
	return code
}

// do calls METHOD tmpl with {params} filled from args in order; body may
// be nil, a string (sent as is) or a value (sent as JSON).
func (c *client) do(method, tmpl string, body any, args ...string) response {
	c.t.Helper()
	path := tmpl
	for _, a := range args {
		i, j := strings.Index(path, "{"), strings.Index(path, "}")
		if i < 0 || j < i {
			c.t.Fatalf("too many args for %s", tmpl)
		}
		path = path[:i] + a + path[j+1:]
	}
	route, _, _ := strings.Cut(tmpl, "?")
	c.seen[method+" "+route] = true
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must is do, failing unless the status is want.
func (c *client) must(want int, method, tmpl string, body any, args ...string) response {
	c.t.Helper()
	r := c.do(method, tmpl, body, args...)
	if r.status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, tmpl, r.status, want, r.body)
	}
	return r
}

func str(v any) string { return fmt.Sprint(v) }

// publishEvent posts one event and returns its id when it was answered 202,
// "" for any other answer, and the error when no answer came.
func publishEvent(hc *http.Client, base, key, body string) (string, error) {
	req, err := http.NewRequest("POST", base+"/v1/events", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct{ ID string } `json:"data"`
	}
	if resp.StatusCode != http.StatusAccepted || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return "", nil
	}
	return out.Data.ID, nil
}
