package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/koto-portal/portal/internal/sqldb"
)

// Listener returns what opens the live layer's LISTEN sessions on url.
func Listener(url string) sqldb.Connector {
	return func(ctx context.Context, application string) (sqldb.Conn, error) {
		cfg, err := pgx.ParseConfig(url)
		if err != nil {
			return nil, fmt.Errorf("store: listener connection string: %w", err)
		}
		cfg.RuntimeParams["application_name"] = application
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return listenConn{c}, nil
	}
}

type listenConn struct{ c *pgx.Conn }

func (l listenConn) Listen(ctx context.Context, channel string) error {
	_, err := l.c.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize())
	return err
}

func (l listenConn) WaitForNotification(ctx context.Context) (string, error) {
	n, err := l.c.WaitForNotification(ctx)
	if err != nil {
		if pgconn.Timeout(err) {
			return "", fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return "", err
	}
	return n.Payload, nil
}

func (l listenConn) Ping(ctx context.Context) error  { return l.c.Ping(ctx) }
func (l listenConn) Close(ctx context.Context) error { return l.c.Close(ctx) }
