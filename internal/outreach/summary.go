package outreach

import (
	"context"

	"github.com/koto-portal/portal/internal/sqldb"
)

// History is what the client's summary shows of outreach, read inside the
// summary's transaction (the reader checked, the view logged there): the
// enrolled phones and the client's answers.
func History(ctx context.Context, tx sqldb.Tx, clientID int64) (Exported, error) {
	v, err := exportClient(ctx, tx, clientID)
	if err != nil {
		return Exported{}, err
	}
	return v.(Exported), nil
}
