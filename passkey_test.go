package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

func TestPassSigningKeyConfig(t *testing.T) {
	t.Parallel()
	public, private, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	seed := private.Seed()
	for name, v := range map[string]string{
		"seed":                    base64.StdEncoding.EncodeToString(seed),
		"seed, URL alphabet":      base64.RawURLEncoding.EncodeToString(seed),
		"private key":             base64.StdEncoding.EncodeToString(private),
		"private key, no padding": base64.RawStdEncoding.EncodeToString(private),
		"with spaces":             " " + base64.StdEncoding.EncodeToString(seed) + "\n",
	} {
		cfg, err := loadConfig(mapEnv(map[string]string{"PASS_SIGNING_KEY": v}))
		require.NoError(t, err, name)
		require.Equal(t, private, cfg.PassSigningKey, name)
		require.Equal(t, public, cfg.PassSigningKey.Public(), name)
	}

	cfg, err := loadConfig(mapEnv(nil))
	require.NoError(t, err)
	require.Nil(t, cfg.PassSigningKey, "the database's key unless one is supplied")

	mismatched := append(append([]byte(nil), seed...), make([]byte, 32)...)
	for name, v := range map[string]string{
		"not base64":      "not base64!",
		"too short":       base64.StdEncoding.EncodeToString(seed[:31]),
		"too long":        base64.StdEncoding.EncodeToString(append(private, 0)),
		"halves disagree": base64.StdEncoding.EncodeToString(mismatched),
	} {
		_, err := loadConfig(mapEnv(map[string]string{"PASS_SIGNING_KEY": v}))
		require.ErrorContains(t, err, "PASS_SIGNING_KEY", name)
		require.NotContains(t, err.Error(), v, "%s: the secret is not repeated", name)
	}
}

// TestPassSigningKeyAtStartUp starts the app on a database that keeps a pass
// key: the same key supplied is accepted, another refuses to start.
func TestPassSigningKeyAtStartUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbPath := filepath.Join(t.TempDir(), "eventhive.db")
	_, kept, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	db, err := openMigrated(ctx, dbPath)
	require.NoError(t, err)
	st, err := store.New(db)
	require.NoError(t, err)
	require.NoError(t, st.LoadPassKey(ctx, kept), "no key yet: the supplied one is kept")
	require.NoError(t, db.Close())

	_, other, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	env := map[string]string{"DATABASE_URL": dbPath, "PASS_SIGNING_KEY": base64.StdEncoding.EncodeToString(other.Seed())}
	err = run(ctx, nil, mapEnv(env), io.Discard)
	require.ErrorIs(t, err, store.ErrPassKeyMismatch)
	require.ErrorContains(t, err, "PASS_SIGNING_KEY", "says what to change")

	a := startApp(t, dbPath, time.Minute, "PASS_SIGNING_KEY="+base64.StdEncoding.EncodeToString(kept.Seed()))
	res, err := http.Get(a.url + "/.well-known/eventhive-pass-key")
	require.NoError(t, err)
	var doc struct{ Key string }
	require.NoError(t, json.NewDecoder(res.Body).Decode(&doc))
	res.Body.Close()
	require.Equal(t, base64.RawURLEncoding.EncodeToString(kept.Public().(ed25519.PublicKey)), doc.Key)
}
