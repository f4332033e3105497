package store

import (
	"context"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// NewWithoutJobInserts returns a Store whose River client goes through all of
// its insert work except the INSERT statement itself, so that a benchmark can
// tell what River's insert adds to a transaction.
func NewWithoutJobInserts(db *DB, opts ...Option) (*Store, error) {
	return newStore(db, &river.Config{Middleware: []rivertype.Middleware{&skipInsert{}}}, opts...)
}

// skipInsert answers River's insert with made-up job rows instead of
// inserting them.
type skipInsert struct{ river.MiddlewareDefaults }

func (*skipInsert) InsertMany(_ context.Context, params []*rivertype.JobInsertParams, _ func(context.Context) ([]*rivertype.JobInsertResult, error)) ([]*rivertype.JobInsertResult, error) {
	results := make([]*rivertype.JobInsertResult, len(params))
	for i, p := range params {
		results[i] = &rivertype.JobInsertResult{Job: &rivertype.JobRow{Kind: p.Kind, EncodedArgs: p.EncodedArgs}}
	}
	return results, nil
}
