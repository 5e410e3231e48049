package hookd

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzInOperands checks that $in's operands converted at parse time decide
// exactly as comparing the decoded values one by one (inSet) does.
func FuzzInOperands(f *testing.F) {
	for _, s := range [][2]string{
		{`4`, `[1, 4]`},
		{`9007199254740993`, `[9007199254740992, 9007199254740993]`},
		{`9007199254740993`, `[9007199254740992]`},
		{`12345678901234567890`, `[12345678901234567890, 1.2345678901234567e19]`},
		{`4.0`, `[4, "4"]`},
		{`1e400`, `[1e400, 1]`},
		{`"a"`, `[1, "a"]`},
		{`null`, `[0, false, null]`},
		{`[1, {"a": 2}]`, `[[1, {"a": 2.0}]]`},
		{`-0`, `[0]`},
	} {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, value, set []byte) {
		v, ok1 := decodeNumbers(value)
		s, ok2 := decodeNumbers(set)
		list, isList := s.([]any)
		if !ok1 || !ok2 || !isList {
			return
		}
		ops := make([]operand, len(list))
		for i, x := range list {
			ops[i] = newOperand(x)
		}
		if got, want := inOperands(v, ops), inSet(v, list); got != want {
			t.Fatalf("inOperands(%s, %s) = %v, inSet = %v", value, set, got, want)
		}
	})
}

func decodeNumbers(raw []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	return v, dec.Decode(&v) == nil
}
