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

// ClientTask is one of a client's tasks with its history, as the data
// subject's export carries it.
type ClientTask struct {
	Task
	History []Event `json:"history"`
}

// ExportClient reads every task about a client, with its history, inside
// the caller's transaction (the data subject's export). Register it, with
// EraseClient, as the client register's part "tasks".
func ExportClient(ctx context.Context, tx sqldb.Tx, clientID int64) (any, error) {
	rows, err := tx.Query(ctx, `SELECT `+taskCols+` FROM tasks t`+taskJoins+` WHERE t.client_id = $1 ORDER BY t.id`, clientID)
	if err != nil {
		return nil, err
	}
	list, err := sqldb.CollectRows(rows, scanTask)
	if err != nil {
		return nil, err
	}
	out := make([]ClientTask, 0, len(list))
	for _, t := range list {
		h, err := history(ctx, tx, t.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, ClientTask{Task: t, History: h})
	}
	return out, nil
}
