package storetest

import (
	"bytes"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

var tenantTests = []test{
	{"Tenant/CreateFind", testTenantCreateFind},
	{"Tenant/APIKeys", testAPIKeys},
	{"Tenant/RevokeAPIKey", testRevokeAPIKey},
}

func testTenantCreateFind(e *env) {
	t := e.t
	ten, err := e.svc.Tenants.CreateTenant(e.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if ten.ID == "" || ten.Name != "acme" || !ten.CreatedAt.Equal(Start) {
		t.Fatalf("CreateTenant = %+v, want an id, name acme, created at %s", ten, Start)
	}
	_, err = e.svc.Tenants.CreateTenant(e.ctx, "acme")
	wantCode(t, err, hookd.ECONFLICT, "acme")
	_, err = e.svc.Tenants.CreateTenant(e.ctx, "")
	wantCode(t, err, hookd.EINVALID, "name")
	_, err = e.svc.Tenants.CreateTenant(e.ctx, "line\nbreak")
	wantCode(t, err, hookd.EINVALID, "control characters")

	byName, err := e.svc.Tenants.FindTenantByName(e.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ten, byName); diff != "" {
		t.Errorf("FindTenantByName (-want +got):\n%s", diff)
	}
	byID, err := e.svc.Tenants.FindTenantByID(e.ctx, ten.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ten, byID); diff != "" {
		t.Errorf("FindTenantByID (-want +got):\n%s", diff)
	}
	_, err = e.svc.Tenants.FindTenantByName(e.ctx, "nobody")
	wantCode(t, err, hookd.ENOTFOUND)
	_, err = e.svc.Tenants.FindTenantByID(e.ctx, "ten_missing")
	wantCode(t, err, hookd.ENOTFOUND)

	other, err := e.svc.Tenants.CreateTenant(e.ctx, "globex")
	if err != nil {
		t.Fatal(err)
	}
	all, err := e.svc.Tenants.ListTenants(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, x := range all {
		names[x.ID] = x.Name
	}
	if diff := cmp.Diff(map[string]string{ten.ID: "acme", other.ID: "globex"}, names); diff != "" {
		t.Errorf("ListTenants (-want +got):\n%s", diff)
	}
}

func testAPIKeys(e *env) {
	t := e.t
	s := e.scope("acme")
	other := e.scope("globex")

	live, livePlain, err := e.svc.Tenants.CreateAPIKey(e.ctx, s.TenantID, hookd.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	test, testPlain, err := e.svc.Tenants.CreateAPIKey(e.ctx, s.TenantID, hookd.ModeTest)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, otherPlain, err := e.svc.Tenants.CreateAPIKey(e.ctx, other.TenantID, hookd.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(livePlain, "sk_live_") || !strings.HasPrefix(testPlain, "sk_test_") {
		t.Fatalf("plaintext keys %q, %q lack their mode prefixes", livePlain, testPlain)
	}
	if !bytes.Equal(live.Hash, hookd.HashAPIKey(livePlain)) {
		t.Errorf("stored hash is not the SHA-256 of the plaintext")
	}
	if !strings.HasPrefix(livePlain, live.Prefix) {
		t.Errorf("prefix %q is not a prefix of the key", live.Prefix)
	}

	for _, c := range []struct {
		plain string
		want  hookd.Scope
	}{
		{livePlain, s},
		{testPlain, hookd.Scope{TenantID: s.TenantID, Mode: hookd.ModeTest}},
		{otherPlain, other},
	} {
		got, err := e.svc.Tenants.Authenticate(e.ctx, c.plain)
		if err != nil {
			t.Fatalf("Authenticate(%s…): %v", c.plain[:12], err)
		}
		if got != c.want {
			t.Errorf("Authenticate(%s…) = %+v, want %+v", c.plain[:12], got, c.want)
		}
	}
	for _, bad := range []string{"", "garbage", "sk_live_", livePlain + "x", "sk_test_" + strings.TrimPrefix(livePlain, "sk_live_")} {
		_, err := e.svc.Tenants.Authenticate(e.ctx, bad)
		wantCode(t, err, hookd.EUNAUTHORIZED)
	}

	keys, err := e.svc.Tenants.ListAPIKeys(e.ctx, s.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{live.ID, test.ID}, keyIDs(keys), sortStrings); diff != "" {
		t.Errorf("ListAPIKeys(tenant) (-want +got):\n%s", diff)
	}
	for _, k := range keys {
		if k.ID == live.ID && !bytes.Equal(k.Hash, live.Hash) {
			t.Errorf("listed key has hash %x, want %x", k.Hash, live.Hash)
		}
	}
	all, err := e.svc.Tenants.ListAPIKeys(e.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{live.ID, test.ID, otherKey.ID}, keyIDs(all), sortStrings); diff != "" {
		t.Errorf("ListAPIKeys(\"\") (-want +got):\n%s", diff)
	}
	_, _, err = e.svc.Tenants.CreateAPIKey(e.ctx, "ten_missing", hookd.ModeLive)
	wantCode(t, err, hookd.ENOTFOUND)
}

func testRevokeAPIKey(e *env) {
	t := e.t
	s := e.scope("acme")
	k, plain, err := e.svc.Tenants.CreateAPIKey(e.ctx, s.TenantID, hookd.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	keep, keepPlain, err := e.svc.Tenants.CreateAPIKey(e.ctx, s.TenantID, hookd.ModeLive)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := e.svc.Tenants.RevokeAPIKey(e.ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Tenants.Authenticate(e.ctx, plain)
	wantCode(t, err, hookd.EUNAUTHORIZED)
	if _, err := e.svc.Tenants.Authenticate(e.ctx, keepPlain); err != nil {
		t.Errorf("the other key stopped working: %v", err)
	}
	if err := e.svc.Tenants.RevokeAPIKey(e.ctx, k.ID); err != nil {
		t.Errorf("revoking twice: %v", err)
	}
	wantCode(t, e.svc.Tenants.RevokeAPIKey(e.ctx, "key_missing"), hookd.ENOTFOUND)

	keys, err := e.svc.Tenants.ListAPIKeys(e.ctx, s.TenantID)
	if err != nil {
		t.Fatal(err)
	}
	revoked := map[string]*time.Time{}
	for _, x := range keys {
		revoked[x.ID] = x.RevokedAt
	}
	want := map[string]*time.Time{k.ID: ptr(Start.Add(time.Minute)), keep.ID: nil}
	if diff := cmp.Diff(want, revoked); diff != "" {
		t.Errorf("revoked_at after revoking twice (-want +got):\n%s", diff)
	}
}

func keyIDs(ks []*hookd.APIKey) []string {
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
	}
	return ids
}
