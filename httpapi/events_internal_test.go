package httpapi

import (
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

// TestDecodePublishRefuses covers the checks that huma's schema validation
// made before the publish body skipped it: decodePublish alone must refuse
// every body the schema refused, with the right code.
func TestDecodePublishRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, body string
		code                    string
	}{
		{"text/plain", "text/plain", `{"type":"A.b","data":{}}`, hookd.EUNSUPPORTED},
		{"empty body", "application/json", ``, hookd.EMALFORMED},
		{"malformed", "application/json", `{"type":"A.b","data":{]}`, hookd.EMALFORMED},
		{"trailing data", "application/json", `{"type":"A.b","data":{}} {}`, hookd.EMALFORMED},
		{"not an object", "application/json", `["A.b"]`, hookd.EINVALID},
		{"type missing", "application/json", `{"data":{}}`, hookd.EINVALID},
		{"type a number", "application/json", `{"type":5,"data":{}}`, hookd.EINVALID},
		{"type not a name", "application/json", `{"type":"a b","data":{}}`, hookd.EINVALID},
		{"data missing", "application/json", `{"type":"A.b"}`, hookd.EINVALID},
		{"data an array", "application/json", `{"type":"A.b","data":[1]}`, hookd.EINVALID},
		{"data a string", "application/json", `{"type":"A.b","data":"x"}`, hookd.EINVALID},
		{"id a number", "application/json", `{"type":"A.b","data":{},"id":5}`, hookd.EINVALID},
		{"id too long", "application/json", `{"type":"A.b","data":{},"id":"` + strings.Repeat("x", hookd.MaxEventIDLength+1) + `"}`, hookd.EINVALID},
		{"unknown field", "application/json", `{"type":"A.b","data":{},"colour":"red"}`, hookd.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodePublish(tt.contentType, []byte(tt.body))
			if got := hookd.ErrorCode(err); got != tt.code {
				t.Errorf("decodePublish(%q) = %v (code %q), want code %q", tt.body, err, got, tt.code)
			}
		})
	}
	if _, err := decodePublish("application/json; charset=utf-8", []byte(`{"type":"A.b","data":{"x":1},"id":"e1"}`)); err != nil {
		t.Errorf("a valid body: %v", err)
	}
}
