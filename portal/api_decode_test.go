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

func FuzzDecodeClientWrites(f *testing.F) {
	f.Add("application/json", []byte(`{"service_point_id":1,"first_names":"Amina","last_name":"Warsame","language":"so"}`))
	f.Add("application/json", []byte(`{"phone":"040 1","responsible_staff_id":-1}`))
	f.Add("application/json", []byte(`{"date":"2026-02-31","reason":"moved"}`))
	f.Add("application/json", []byte(`{"date":7}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		_, err := decodeJSON[apiv1.ClientCreate](contentType, body)
		checkDecoded(t, err)
		_, err = decodeJSON[apiv1.ClientUpdate](contentType, body)
		checkDecoded(t, err)
		_, err = decodeJSON[apiv1.ClientshipEnd](contentType, body)
		checkDecoded(t, err)
		_, err = decodeJSON[apiv1.ClientshipContinue](contentType, body)
		checkDecoded(t, err)
	})
}

func FuzzDecodeWork(f *testing.F) {
	f.Add("application/json", []byte(`{"client_id":1,"service_point_id":1,"staff_id":2,"channel":"phone","starts_at":"2026-12-01T10:00:00Z","duration_minutes":30}`))
	f.Add("application/json", []byte(`{"starts_at":"tomorrow"}`))
	f.Add("application/json", []byte(`{"status":"done","comment":null}`))
	f.Add("application/json", []byte(`{"service_point_id":1,"title":"x","due_at":"2026-13-01T00:00:00Z","priority":"urgent"}`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		_, err := decodeJSON[apiv1.AppointmentCreate](contentType, body)
		checkDecoded(t, err)
		_, err = decodeJSON[apiv1.AppointmentUpdate](contentType, body)
		checkDecoded(t, err)
		_, err = decodeJSON[apiv1.TaskCreate](contentType, body)
		checkDecoded(t, err)
		_, err = decodeJSON[apiv1.TaskUpdate](contentType, body)
		checkDecoded(t, err)
	})
}
