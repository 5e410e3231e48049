package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// appendEnvelope appends the Standard Webhooks payload
// {"id","type","timestamp","data"} to dst. data is the event's raw JSON (or
// its projection), copied as it is: the hot path never re-encodes it.
func appendEnvelope(dst []byte, e *hookd.Event, data []byte) []byte {
	return appendEnvelopeWith(dst, e, data, false)
}

// backendSource is the hookd.Webhook.Source of webhooks made through the
// backend API (compat/backend, which this package does not import).
const backendSource = "backend"

// appendEnvelopeWith appends the envelope, with "event_type" (the type
// again) after "type" when eventType is set: the backend API's published
// integrations (TellCasey's n8n node) read the event's type from there.
func appendEnvelopeWith(dst []byte, e *hookd.Event, data []byte, eventType bool) []byte {
	dst = append(dst, `{"id":`...)
	dst = appendJSONString(dst, e.ID)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, e.Type)
	if eventType {
		dst = append(dst, `,"event_type":`...)
		dst = appendJSONString(dst, e.Type)
	}
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, e.CreatedAt.Unix(), 10)
	dst = append(dst, `,"data":`...)
	if len(bytes.TrimSpace(data)) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, data...)
	}
	return append(dst, '}')
}

// appendJSONString appends s as a JSON string, escaping what JSON requires
// and replacing invalid UTF-8 with U+FFFD, as encoding/json does.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// fieldTree is a set of dot paths as a tree: a leaf keeps the whole value.
type fieldTree struct {
	leaf bool
	kids map[string]*fieldTree
}

func newFieldTree(fields []string) *fieldTree {
	root := &fieldTree{}
	for _, f := range fields {
		n := root
		for seg := range strings.SplitSeq(f, ".") {
			if n.leaf {
				break // a shorter path already keeps everything below
			}
			if n.kids == nil {
				n.kids = map[string]*fieldTree{}
			}
			k := n.kids[seg]
			if k == nil {
				k = &fieldTree{}
				n.kids[seg] = k
			}
			n = k
		}
		n.leaf, n.kids = true, nil
	}
	return root
}

// project cuts data to the given dot paths, preserving nesting: with
// fields ["a.b", "c"], {"a":{"b":1,"x":2},"c":3,"d":4} becomes
// {"a":{"b":1},"c":3}. A path that meets an array applies to each of its
// elements. Missing paths, and objects and arrays left empty by the cut, are
// left out; if nothing is left, data is {}.
// Kept values are copied byte for byte; keys come out sorted.
func project(data []byte, fields []string) ([]byte, error) {
	out, ok, err := newFieldTree(fields).project(nil, data)
	if err != nil {
		return nil, fmt.Errorf("project fields: %w", err)
	}
	if !ok {
		return []byte("{}"), nil
	}
	return out, nil
}

func (t *fieldTree) project(dst, v []byte) ([]byte, bool, error) {
	if t.leaf {
		return append(dst, v...), true, nil
	}
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return dst, false, nil
	}
	switch v[0] {
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(v, &obj); err != nil {
			return nil, false, err
		}
		keys := make([]string, 0, len(t.kids))
		for k := range t.kids {
			if _, ok := obj[k]; ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		n := 0
		for _, k := range keys {
			var err error
			if dst, n, err = t.kids[k].appendMember(dst, n, &k, obj[k]); err != nil {
				return nil, false, err
			}
		}
		return append(dst, '}'), n > 0, nil
	case '[':
		var arr []json.RawMessage
		if err := json.Unmarshal(v, &arr); err != nil {
			return nil, false, err
		}
		dst = append(dst, '[')
		n := 0
		for _, el := range arr {
			var err error
			if dst, n, err = t.appendMember(dst, n, nil, el); err != nil {
				return nil, false, err
			}
		}
		return append(dst, ']'), n > 0, nil
	}
	if !json.Valid(v) {
		return nil, false, fmt.Errorf("event data is not valid JSON")
	}
	return dst, false, nil // a scalar has no fields
}

// appendMember appends the projection of v as the next member of an object
// (key set) or array holding n members so far, and returns the new count;
// a member that keeps nothing is rolled back, separator and key included.
func (t *fieldTree) appendMember(dst []byte, n int, key *string, v []byte) ([]byte, int, error) {
	mark := len(dst)
	if n > 0 {
		dst = append(dst, ',')
	}
	if key != nil {
		dst = appendJSONString(dst, *key)
		dst = append(dst, ':')
	}
	dst, kept, err := t.project(dst, v)
	if err != nil {
		return nil, n, err
	}
	if !kept {
		return dst[:mark], n, nil
	}
	return dst, n + 1, nil
}
