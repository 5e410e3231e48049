package hookd

import (
	"context"
	"strings"
	"time"
)

// Session is a signed-in visit to the customer portal (a tenant in one
// mode, entered through a portal link) or to the operator dashboard
// (entered with an operator key). Its token is shown once; only the hash is
// kept, and it ends at ExpiresAt, when its tenant is deleted, or when the
// key it stands on is revoked: the operator key that signed in, or the key
// that made the portal link it was opened with.
type Session struct {
	ID       string
	Hash     []byte
	TenantID string // "" for an operator's session
	Mode     Mode   // the portal's mode; "" for an operator's session
	ReadOnly bool
	// OperatorKeyID is the operator key that signed in ("" for a portal session).
	OperatorKeyID string
	// MakerKeyID is the key that made the portal link the session was
	// opened with (PortalLink.MakerKeyID; "" for an operator's session, or
	// for a link made before makers were recorded).
	MakerKeyID string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

// Operator reports whether s is an operator's dashboard session.
func (s *Session) Operator() bool { return s.TenantID == "" }

// Scope is the tenant and mode a portal session sees.
func (s *Session) Scope() Scope { return Scope{TenantID: s.TenantID, Mode: s.Mode} }

// Session lifetimes.
const (
	DefaultSessionTTL = 2 * time.Hour
	MaxSessionTTL     = 24 * time.Hour
)

const sessionTokenPrefix = "pss_"

// IsSessionToken reports whether token looks like a session token.
func IsSessionToken(token string) bool { return strings.HasPrefix(token, sessionTokenPrefix) }

// SessionStore keeps sessions.
type SessionStore interface {
	// InsertSession stores s. If s.MakerKeyID is set, it returns
	// EFORBIDDEN, and stores nothing, unless that key (a tenant's or an
	// operator's) exists unrevoked — checked in the statement that inserts,
	// which holds the key's row, so that a revocation committed at the same
	// time either comes first and is seen, or comes after and deletes the
	// session.
	InsertSession(ctx context.Context, s *Session) error
	// FindSessionByHash returns the session whose hash is hash, expired or
	// not, or ENOTFOUND.
	FindSessionByHash(ctx context.Context, hash []byte) (*Session, error)
	// DeleteSession deletes a session; an unknown id is not an error.
	DeleteSession(ctx context.Context, id string) error
	// DeleteSessionsExpiredBefore deletes the sessions that expired before t
	// and returns how many went.
	DeleteSessionsExpiredBefore(ctx context.Context, t time.Time) (int, error)
}

// SessionService starts, resumes and ends portal and dashboard sessions.
type SessionService interface {
	// EnterPortal spends a portal link's token (as UsePortalLink: ENOTFOUND,
	// EFORBIDDEN saying why) and starts a session in its tenant and mode,
	// read-only if the link is, that ends when the link's maker key is
	// revoked (EFORBIDDEN if it already is). It returns the session and its
	// token, shown once. ttl 0 is DefaultSessionTTL.
	EnterPortal(ctx context.Context, linkToken string, ttl time.Duration) (*Session, string, error)
	// SignIn starts an operator's session with an operator key.
	// EUNAUTHORIZED for a key that is unknown or revoked, EFORBIDDEN for a
	// tenant key.
	SignIn(ctx context.Context, operatorKey string, ttl time.Duration) (*Session, string, error)
	// Resume returns the session a token names. EUNAUTHORIZED if it is
	// unknown (deleted with the revocation of its link's maker key),
	// expired, its tenant deleted or its operator key revoked.
	Resume(ctx context.Context, token string) (*Session, error)
	// End ends the session a token names; an unknown token is not an error.
	End(ctx context.Context, token string) error
}

// sessions is the SessionService.
type sessions struct {
	st interface {
		SessionStore
		TenantStore
	}
	tenants TenantService
	now     func() time.Time
}

func sessionTTL(ttl time.Duration) (time.Duration, error) {
	switch {
	case ttl == 0:
		return DefaultSessionTTL, nil
	case ttl < time.Minute || ttl > MaxSessionTTL:
		return 0, Errorf(EINVALID, "session lifetime must be between 1 minute and %s, got %s", MaxSessionTTL, ttl)
	}
	return ttl, nil
}

func (ss *sessions) start(ctx context.Context, s *Session, ttl time.Duration) (*Session, string, error) {
	ttl, err := sessionTTL(ttl)
	if err != nil {
		return nil, "", err
	}
	now := ss.now()
	// Expired sessions go when new ones come: the table stays the size of
	// the sessions alive.
	if _, err := ss.st.DeleteSessionsExpiredBefore(ctx, now); err != nil {
		return nil, "", err
	}
	token := sessionTokenPrefix + randomToken()
	s.ID, s.Hash = NewIDAt("ses", now), HashAPIKey(token)
	s.CreatedAt, s.ExpiresAt = now, now.Add(ttl)
	if err := ss.st.InsertSession(ctx, s); err != nil {
		return nil, "", err
	}
	return s, token, nil
}

func (ss *sessions) EnterPortal(ctx context.Context, linkToken string, ttl time.Duration) (*Session, string, error) {
	if _, err := sessionTTL(ttl); err != nil {
		return nil, "", err
	}
	l, err := ss.tenants.UsePortalLink(ctx, linkToken)
	if err != nil {
		return nil, "", err
	}
	s, token, err := ss.start(ctx, &Session{TenantID: l.TenantID, Mode: l.Mode, ReadOnly: l.ReadOnly, MakerKeyID: l.MakerKeyID}, ttl)
	if ErrorCode(err) == EFORBIDDEN {
		return nil, "", Errorf(EFORBIDDEN, "the key that made this portal link was revoked: ask for a new one")
	}
	return s, token, err
}

func (ss *sessions) SignIn(ctx context.Context, operatorKey string, ttl time.Duration) (*Session, string, error) {
	c, err := ss.tenants.AuthenticateCaller(ctx, operatorKey)
	if err != nil {
		return nil, "", err
	}
	if !c.Operator {
		return nil, "", Errorf(EFORBIDDEN, "the dashboard takes an operator key (opk_…), not a tenant key")
	}
	return ss.start(ctx, &Session{OperatorKeyID: c.KeyID}, ttl)
}

func (ss *sessions) Resume(ctx context.Context, token string) (*Session, error) {
	ended := Errorf(EUNAUTHORIZED, "the session has ended: open a new portal link, or sign in again")
	if !IsSessionToken(token) {
		return nil, ended
	}
	s, err := ss.st.FindSessionByHash(ctx, HashAPIKey(token))
	if ErrorCode(err) == ENOTFOUND {
		return nil, ended
	}
	if err != nil {
		return nil, err
	}
	if !ss.now().Before(s.ExpiresAt) {
		return nil, ended
	}
	if s.TenantID != "" {
		if _, err := ss.st.FindTenantByID(ctx, s.TenantID); ErrorCode(err) == ENOTFOUND {
			return nil, ended
		} else if err != nil {
			return nil, err
		}
	}
	if s.OperatorKeyID != "" {
		keys, err := ss.st.ListOperatorKeys(ctx)
		if err != nil {
			return nil, err
		}
		alive := false
		for _, k := range keys {
			if k.ID == s.OperatorKeyID && k.RevokedAt == nil {
				alive = true
			}
		}
		if !alive {
			return nil, ended
		}
	}
	return s, nil
}

func (ss *sessions) End(ctx context.Context, token string) error {
	s, err := ss.st.FindSessionByHash(ctx, HashAPIKey(token))
	if ErrorCode(err) == ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	return ss.st.DeleteSession(ctx, s.ID)
}
