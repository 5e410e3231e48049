package sqlite

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestDeliveryIDShape(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 12, 0, 0, 123e6, time.UTC)
	row := firstRowAt(at) + 7
	id := deliveryID(row)
	// The time part reads as that of every hookd id made at the same time.
	if want := hookd.NewIDAt("dlv", at)[:len("dlv_")+10]; !strings.HasPrefix(id, want) {
		t.Errorf("deliveryID(%d) = %s, want the time prefix %s", row, id, want)
	}
	if len(id) != len(hookd.NewIDAt("dlv", at)) {
		t.Errorf("deliveryID(%d) = %s: length %d, want that of hookd ids", row, id, len(id))
	}
	if got, ok := deliveryRow(id); !ok || got != row {
		t.Errorf("deliveryRow(%s) = %d, %v, want %d", id, got, ok, row)
	}
	if a, b := deliveryID(row), deliveryID(row+1); a >= b {
		t.Errorf("ids do not sort as rowids: %s >= %s", a, b)
	}
}

func TestDeliveryRowRejects(t *testing.T) {
	t.Parallel()
	good := deliveryID(firstRowAt(time.Now()))
	for _, id := range []string{
		"",
		"dlv_missing",
		"msg" + good[3:],
		good[:len(good)-1] + "1",  // the tail is zero
		good[:5] + "u" + good[6:], // not in the alphabet
		strings.ToUpper(good),     // the alphabet is lower case
		"dlv_" + strings.Repeat("z", 14) + zeroRowTail, // above 63 bits
		"dlv_" + strings.Repeat("0", 26),               // rowid 0
		hookd.NewIDAt("dlv", time.Now()),               // random tail
	} {
		if row, ok := deliveryRow(id); ok {
			t.Errorf("deliveryRow(%q) = %d, want rejected", id, row)
		}
	}
}

func FuzzDeliveryRow(f *testing.F) {
	f.Add("dlv_00000000000001000000000000", int64(1))
	f.Add(deliveryID(math.MaxInt64), int64(math.MaxInt64))
	f.Add(hookd.NewIDAt("dlv", time.Now()), firstRowAt(time.Now()))
	f.Fuzz(func(t *testing.T, id string, row int64) {
		if r, ok := deliveryRow(id); ok && deliveryID(r) != id {
			t.Errorf("deliveryRow(%q) = %d, whose id is %s", id, r, deliveryID(r))
		}
		if row <= 0 {
			return
		}
		if r, ok := deliveryRow(deliveryID(row)); !ok || r != row {
			t.Errorf("deliveryRow(deliveryID(%d)) = %d, %v", row, r, ok)
		}
	})
}
