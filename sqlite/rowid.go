package sqlite

import (
	"strconv"
	"time"
)

// A delivery's key is its table's integer rowid, and its public id is that
// integer written as an id: one B-tree holds the rows, no second one maps a
// text key to them, and every index entry carries 8 bytes instead of a
// 30-character string.
//
// The rowid is the creation time in unix milliseconds shifted left by
// rowSeqBits, plus a sequence: the store allocates rowids inside its write
// transaction, each above the largest in the table, so they grow with time
// and a publish's deliveries are one consecutive range (the event keeps the
// first and the count). The public id "dlv_" + 26 base32 characters has the
// shape of every hookd id: its first 10 characters are the creation time,
// the next 4 the sequence, the last 12 are zero; ids sort as their rowids.
const (
	rowSeqBits   = 20 // a million deliveries per millisecond before the time part moves on
	deliveryPfx  = "dlv_"
	idChars      = 26 // base32 characters of an id after its prefix
	rowChars     = 14 // 70 bits: the rowid (63 bits) and the top zeros
	crockford    = "0123456789abcdefghjkmnpqrstvwxyz"
	zeroRowTail  = "000000000000"
	deliveryIDLn = len(deliveryPfx) + idChars
)

// crockfordValue maps a byte of the alphabet to its value, others to 0xff.
var crockfordValue = func() (v [256]byte) {
	for i := range v {
		v[i] = 0xff
	}
	for i := range len(crockford) {
		v[crockford[i]] = byte(i)
	}
	return v
}()

// firstRowAt is the smallest rowid of a delivery (or number of an event)
// created at t.
func firstRowAt(t time.Time) int64 { return t.UnixMilli() << rowSeqBits }

// deliveryID is the public id of the delivery with rowid row (row > 0).
func deliveryID(row int64) string {
	var b [deliveryIDLn]byte
	copy(b[:], deliveryPfx)
	v := uint64(row)
	for i := len(deliveryPfx) + rowChars - 1; i >= len(deliveryPfx); i-- {
		b[i] = crockford[v&31]
		v >>= 5
	}
	copy(b[len(deliveryPfx)+rowChars:], zeroRowTail)
	return string(b[:])
}

// deliveryRow is the rowid of the delivery with public id id, or false if
// id is not one the store makes (no such delivery).
func deliveryRow(id string) (int64, bool) {
	if len(id) != deliveryIDLn || id[:len(deliveryPfx)] != deliveryPfx || id[len(deliveryPfx)+rowChars:] != zeroRowTail {
		return 0, false
	}
	var v uint64
	for i := len(deliveryPfx); i < len(deliveryPfx)+rowChars; i++ {
		c := crockfordValue[id[i]]
		if c == 0xff || v>>58 != 0 {
			return 0, false
		}
		v = v<<5 | uint64(c)
	}
	if v == 0 || v>>63 != 0 {
		return 0, false
	}
	return int64(v), true
}

// appendRowList appends rows as a JSON array, for `IN (SELECT value FROM
// json_each(?))`.
func appendRowList(b []byte, rows []int64) []byte {
	b = append(b, '[')
	for i, r := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, r, 10)
	}
	return append(b, ']')
}
