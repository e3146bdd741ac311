package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// OwnerTx runs fn in a transaction on a connection of its own, logged in
// as the schema owner: past row-level security, for the deployment-level
// acts no municipality's staff may do (starting a municipality). The pool
// never holds the owner's rights; this connection closes when fn returns.
func OwnerTx(ctx context.Context, ownerURL string, fn func(pgx.Tx) error) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return pgx.BeginFunc(ctx, conn, fn)
}
