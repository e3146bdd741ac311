// Package events names what happens in the register that a municipality's
// other systems may hear of, and carries it from the domain services to
// whoever records it (the API's webhooks) without the services depending
// on the API.
package events

import (
	"context"

	"github.com/koto-portal/portal/internal/sqldb"
)

// The events. Data carries ids only (client_id, task_id, …): a receiver
// fetches the details with its own key, so every read of personal data
// goes through the API's scopes and the access log.
const (
	ClientCreated        = "client.created"
	ClientUpdated        = "client.updated"
	AppointmentCheckedIn = "appointment.checked_in"
	TaskCreated          = "task.created"
	TaskDone             = "task.done"
	ClientAnswered       = "client.answer_received"
)

// All lists the events, in the order the webhook screens show them.
var All = []string{ClientCreated, ClientUpdated, AppointmentCheckedIn, TaskCreated, TaskDone, ClientAnswered}

// Data is an event's ids by name; a zero id is left out.
type Data map[string]int64

// Sink records an event inside the caller's transaction, which is scoped
// to the municipality: the event exists exactly when the change that
// caused it commits.
// Several events of one kind go in one call (a bulk change), so the sink
// looks up who hears of them once.
type Sink interface {
	Emit(ctx context.Context, tx sqldb.Tx, event string, data ...Data) error
}

// Hook is a domain service's way to its Sink. The zero Hook records
// nothing, which is what a service used on its own (a package's tests)
// wants.
type Hook struct{ sink Sink }

// Use sets where events go; call it while wiring, before serving.
func (h *Hook) Use(s Sink) { h.sink = s }

// Emit records the events through the Sink, if there is one.
func (h Hook) Emit(ctx context.Context, tx sqldb.Tx, event string, data ...Data) error {
	if h.sink == nil || len(data) == 0 {
		return nil
	}
	for _, d := range data {
		for k, v := range d {
			if v == 0 {
				delete(d, k)
			}
		}
	}
	return h.sink.Emit(ctx, tx, event, data...)
}
