package live

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// NewPostgresPinging is NewPostgres with the listening connection checked
// after every of silence, and given timeout to answer.
func NewPostgresPinging(ctx context.Context, db *sql.DB, url string, log *slog.Logger, every, timeout time.Duration) (*Hub, error) {
	return newPostgres(ctx, db, url, log, ping{every: every, timeout: timeout})
}
