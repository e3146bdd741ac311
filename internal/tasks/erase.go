package tasks

import (
	"context"

	"github.com/koto-portal/portal/internal/sqldb"
)

// EraseClient removes the personal data of a client's tasks inside the
// caller's transaction (the client's erasure for a data subject's
// request): titles, details, facts and the comments of their history go;
// the tasks stay, with their kinds, times and who did what, so the counts
// and the history of the work remain.
func EraseClient(ctx context.Context, tx sqldb.Tx, clientID int64) error {
	if _, err := tx.Exec(ctx, `UPDATE task_events SET comment = '' WHERE comment <> ''
		AND task_id IN (SELECT id FROM tasks WHERE client_id = $1)`, clientID); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE tasks SET title = '', details = '', facts = '{}' WHERE client_id = $1`, clientID)
	return err
}
