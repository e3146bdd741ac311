package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/koto-portal/portal/internal/sqldb"
)

// OwnerTx runs fn in a transaction on a connection of its own, logged in
// as the schema owner: past row-level security, for the deployment-level
// acts no municipality's staff may do (starting a municipality). The pool
// never holds the owner's rights; this connection closes when fn returns.
func OwnerTx(ctx context.Context, ownerURL string, fn func(sqldb.Tx) error) error {
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return fn(newTx(tx)) })
}

// Owner is OwnerTx bound to ownerURL, for a domain call that must run as
// the owner without knowing how to connect.
func Owner(ownerURL string) func(context.Context, func(sqldb.Tx) error) error {
	return func(ctx context.Context, fn func(sqldb.Tx) error) error { return OwnerTx(ctx, ownerURL, fn) }
}
