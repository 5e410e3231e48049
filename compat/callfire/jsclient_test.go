package callfire_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hookd/hookd/compat/callfire"
	"github.com/hookd/hookd/compat/internal/compattest"
)

// jsClientEnv names the node_modules directory that holds CallFire's npm
// client; .ci/run installs it there.
const jsClientEnv = "HOOKD_CALLFIRE_JS"

// TestCallFireJSClient runs CallFire's own npm client, callfire-api-client-js
// 0.0.4 (on swagger-client 2), unchanged but for its base URL, against this
// API on loopback: it loads <base>/api-docs/swagger.json, then lists the
// resources, reads one, creates, reads, updates with the object it read,
// finds, deletes, and reads the deleted webhook.
func TestCallFireJSClient(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed; CallFire's JS client cannot run")
	}
	modules := os.Getenv(jsClientEnv)
	if modules == "" {
		// Where .ci/run installs it, for a run after CI's on this machine.
		if dir, err := os.UserCacheDir(); err == nil {
			modules = filepath.Join(dir, "hookd-ci", "callfire-js", "node_modules")
		}
		if _, err := os.Stat(filepath.Join(modules, "callfire-api-client-js")); err != nil {
			t.Skipf("%s is not set: npm install --prefix DIR callfire-api-client-js@0.0.4, then set %s=DIR/node_modules (.ci/run does)", jsClientEnv, jsClientEnv)
		}
	}
	if _, err := os.Stat(filepath.Join(modules, "callfire-api-client-js", "package.json")); err != nil {
		t.Skipf("%s=%s holds no callfire-api-client-js: %v", jsClientEnv, modules, err)
	}
	f := newFixture(t, callfire.Options{})
	srv := httptest.NewServer(f.h)
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(context.Background(), compattest.Deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "jsclient.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "CALLFIRE_BASE="+srv.URL+base, "CALLFIRE_KEY="+f.key)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("CallFire's JS client failed: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}

	type step struct {
		Step   string
		Status int
		Obj    any
	}
	var steps []step
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var s step
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatalf("client printed %q: %v", sc.Text(), err)
		}
		steps = append(steps, s)
	}
	if len(steps) != 8 {
		t.Fatalf("client ran %d steps, want 8:\n%s", len(steps), out)
	}
	by := map[string]step{}
	for _, s := range steps {
		by[s.Step] = s
	}
	obj := func(name string) map[string]any {
		m, _ := by[name].Obj.(map[string]any)
		return m
	}
	wantStatus := map[string]int{
		"findWebhookResources": 200, "getWebhookResource": 200, "createWebhook": 200, "getWebhook": 200,
		"updateWebhook": 204, "findWebhooks": 200, "deleteWebhook": 204, "getDeleted": 404,
	}
	for name, st := range wantStatus {
		if by[name].Status != st {
			t.Errorf("%s answered %d, want %d: %v", name, by[name].Status, st, by[name].Obj)
		}
	}
	if items, _ := obj("findWebhookResources")["items"].([]any); len(items) != 11 {
		t.Errorf("findWebhookResources: %d resources, want 11", len(items))
	}
	if diff := cmp.Diff(map[string]any{"resource": "CallBroadcast", "supportedEvents": []any{"Started", "Stopped", "Finished"}}, obj("getWebhookResource")); diff != "" {
		t.Errorf("getWebhookResource (-want +got):\n%s", diff)
	}
	id := obj("createWebhook")["id"]
	got := obj("getWebhook")
	for k, v := range map[string]any{"id": id, "name": "sms sent", "resource": "OutboundText", "events": []any{"Finished"}, "secret": "js-client-secret", "enabled": true} {
		if !cmp.Equal(got[k], v) {
			t.Errorf("getWebhook %s = %v, want %v", k, got[k], v)
		}
	}
	want := map[string]any{"totalCount": float64(1), "items": []any{map[string]any{
		"id": id, "name": "sms sent update", "callback": "https://callback-service.example.com/listener2", "events": []any{"Finished"},
	}}}
	if diff := cmp.Diff(want, obj("findWebhooks")); diff != "" {
		t.Errorf("findWebhooks after updateWebhook (-want +got):\n%s", diff)
	}
	if obj("getDeleted")["httpStatusCode"] != float64(404) {
		t.Errorf("getWebhook of a deleted webhook: %v", by["getDeleted"].Obj)
	}
}
