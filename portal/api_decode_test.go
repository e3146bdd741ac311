package portal

import (
	"errors"
	"net/http"
	"testing"

	"github.com/koto-portal/portal/portal/apiv1"
)

// checkDecoded holds every body to what the API promises: either it
// decodes, or the answer is a 4xx problem with a stable code; never a
// panic, never a server fault.
func checkDecoded(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var p *apiProblem
	if !errors.As(err, &p) || p.Status < 400 || p.Status >= 500 || p.Code == "" {
		t.Fatalf("a body gave %v, want a 4xx problem", err)
	}
	if p.Status == http.StatusUnprocessableEntity && len(p.Fields) == 0 {
		t.Fatalf("a 422 names no field: %+v", p)
	}
}

func FuzzDecodeClientTransfer(f *testing.F) {
	f.Add("application/json", []byte(`{"clients":[{"external_id":"A-1","service_point_id":1,"language":"fi"}]}`))
	f.Add("application/json", []byte(`{"clients":[{"external_id":5}]}`))
	f.Add("application/json; charset=utf-8", []byte(`{"clients":[],"extra":true}`))
	f.Add("text/plain", []byte(`{}`))
	f.Add("application/json", []byte(`{"clients":[{"birth_date":"1990-02-31"}]} {}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		_, err := decodeJSON[apiv1.ClientTransfer](contentType, body)
		checkDecoded(t, err)
	})
}

func FuzzDecodeWebhook(f *testing.F) {
	f.Add("application/json", []byte(`{"url":"https://example.org/h","events":["client.created"]}`))
	f.Add("application/json", []byte(`{"url":"https://example.org/h","events":"client.created"}`))
	f.Add("application/json", []byte(`{"active":null,"description":7}`))
	f.Add("application/json", []byte("\x00\xff"))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		_, err := decodeJSON[apiv1.WebhookCreate](contentType, body)
		checkDecoded(t, err)
		_, err = decodeJSON[apiv1.WebhookUpdate](contentType, body)
		checkDecoded(t, err)
	})
}
