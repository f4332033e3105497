package store

import (
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// SQLite's built-in lower() folds only ASCII letters, while PostgreSQL's, like
// Go's strings.ToLower, folds every letter. Replacing it on every SQLite
// connection makes title search case-insensitive beyond ASCII ("øya" finds
// "ØYA Festival") with the same SQL on both databases.
func init() {
	err := sqlite.RegisterDeterministicScalarFunction("lower", 1,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			switch v := args[0].(type) {
			case string:
				return strings.ToLower(v), nil
			case []byte:
				return strings.ToLower(string(v)), nil
			default:
				return v, nil
			}
		})
	if err != nil {
		panic("register lower(): " + err.Error())
	}
}
