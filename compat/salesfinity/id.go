package salesfinity

import (
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/hookd/hookd"
)

// ObjectID is a webhook's _id in the document's shape, a MongoDB ObjectId:
// 24 lowercase hex digits, the first 8 the creation time in unix seconds
// (as an ObjectId's are), the other 16 the webhook's numeric id
// (hookd.Webhook.Number). It is made from the webhook alone, and read back
// without storing anything.
func ObjectID(w *hookd.Webhook) string {
	return fmt.Sprintf("%08x%016x", uint32(w.CreatedAt.Unix()), uint64(w.Number))
}

// findByID finds a webhook by its ObjectID, or by its hookd id (wh_…),
// which the canonical API shows. An id of neither shape, or whose time part
// is not the webhook's, is ENOTFOUND like a missing one.
func findByID(ctx context.Context, svc hookd.WebhookService, s hookd.Scope, id string) (*hookd.Webhook, error) {
	notFound := hookd.Errorf(hookd.ENOTFOUND, "webhook %s not found", id)
	if strings.HasPrefix(id, "wh_") {
		w, err := svc.FindWebhookByID(ctx, s, id)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			return nil, notFound
		}
		return w, err
	}
	if len(id) != 24 {
		return nil, notFound
	}
	if _, err := hex.DecodeString(id); err != nil {
		return nil, notFound
	}
	ts, _ := strconv.ParseUint(id[:8], 16, 32)
	n, _ := strconv.ParseUint(id[8:], 16, 64)
	if n == 0 || n > 1<<63-1 {
		return nil, notFound
	}
	w, err := svc.FindWebhookByNumber(ctx, s, int64(n))
	if hookd.ErrorCode(err) == hookd.ENOTFOUND || (err == nil && uint32(w.CreatedAt.Unix()) != uint32(ts)) {
		return nil, notFound
	}
	return w, err
}
