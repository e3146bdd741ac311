package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/sqldb"
)

// pgTx is a pgx transaction as sqldb's: the domain packages see rows and
// errors of their own, pgx's no-rows included.
type pgTx struct{ tx pgx.Tx }

func (t pgTx) Exec(ctx context.Context, sql string, args ...any) (sqldb.Result, error) {
	return t.tx.Exec(ctx, sql, args...)
}

func (t pgTx) Query(ctx context.Context, sql string, args ...any) (sqldb.Rows, error) {
	rows, err := t.tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (t pgTx) QueryRow(ctx context.Context, sql string, args ...any) sqldb.Row {
	return pgRow{t.tx.QueryRow(ctx, sql, args...)}
}

type pgRow struct{ row pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqldb.ErrNoRows
	}
	return err
}

// Wrap gives a transaction opened with pgx directly (a tool's or a test's
// own connection) to the domain packages.
func Wrap(tx pgx.Tx) sqldb.Tx { return pgTx{tx} }
