package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/sqldb"
)

// pgTx is a pgx transaction as sqldb's: the domain packages see rows and
// errors of their own, pgx's no-rows included. state is shared by the
// copies of one transaction, so the runner learns when Last committed it.
type pgTx struct {
	tx    pgx.Tx
	state *txState
}

// txState says whether Last has ended the transaction.
type txState struct{ committed bool }

func newTx(tx pgx.Tx) pgTx { return pgTx{tx: tx, state: &txState{}} }

func (t pgTx) Exec(ctx context.Context, sql string, args ...any) (sqldb.Result, error) {
	if t.state.committed {
		return nil, errAfterLast
	}
	return t.tx.Exec(ctx, sql, args...)
}

func (t pgTx) Query(ctx context.Context, sql string, args ...any) (sqldb.Rows, error) {
	if t.state.committed {
		return nil, errAfterLast
	}
	rows, err := t.tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (t pgTx) QueryRow(ctx context.Context, sql string, args ...any) sqldb.Row {
	if t.state.committed {
		return errRow{errAfterLast}
	}
	return pgRow{t.tx.QueryRow(ctx, sql, args...)}
}

// Last sends sql and COMMIT together, one round trip: the locks the
// statement takes are held while the database runs it and flushes the
// commit, and not also while the portal reads its answer and sends the
// COMMIT. On a row every request of a service point updates, that round
// trip is what the requests would queue on.
func (t pgTx) Last(ctx context.Context, sql string, args ...any) sqldb.Row {
	if t.state.committed {
		return errRow{errAfterLast}
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	b.Queue("COMMIT")
	return lastRow{br: t.tx.SendBatch(ctx, b), state: t.state}
}

var errAfterLast = errors.New("store: a statement after the transaction's last one")

// lastRow reads Last's answer: the statement's row, then the commit's.
type lastRow struct {
	br    pgx.BatchResults
	state *txState
}

func (r lastRow) Scan(dest ...any) error {
	err := pgRow{r.br.QueryRow()}.Scan(dest...)
	if err == nil {
		var tag string
		ct, cerr := r.br.Exec()
		if tag = ct.String(); cerr == nil && tag != "COMMIT" {
			// An aborted transaction answers COMMIT with ROLLBACK.
			cerr = fmt.Errorf("%w: %s", pgx.ErrTxCommitRollback, tag)
		}
		err = cerr
		// Committed or not, the transaction is over once COMMIT ran.
		r.state.committed = cerr == nil || tag != ""
	}
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type pgRow struct{ row pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return sqldb.ErrNoRows
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// Wrap gives a transaction opened with pgx directly (a tool's or a test's
// own connection) to the domain packages. Its opener commits it: Last is
// not for such a transaction.
func Wrap(tx pgx.Tx) sqldb.Tx { return newTx(tx) }

// run runs fn in a transaction on one of the pool's connections, begun by
// begin (BEGIN, and whatever else the caller sends with it in the same
// round trip), and commits it unless fn failed or ended it with Last.
func (db *DB) run(ctx context.Context, begin string, fn func(pgTx) error) (err error) {
	c, err := db.Pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// A connection given back inside a transaction (a panic, a failed
	// rollback) is closed by the pool, never reused.
	defer c.Release()
	ptx, err := c.BeginTx(ctx, pgx.TxOptions{BeginQuery: begin})
	if err != nil {
		return err
	}
	t := newTx(ptx)
	defer func() {
		if !t.state.committed && err != nil {
			_ = ptx.Rollback(context.WithoutCancel(ctx)) // the cause is err
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	if t.state.committed {
		return nil
	}
	return ptx.Commit(ctx)
}
