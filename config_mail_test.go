package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/mail"
)

func TestLoadMailConfig(t *testing.T) {
	t.Parallel()

	cfg, err := loadConfig(mapEnv(map[string]string{
		"SMTP_URL": "smtps://ada:s3cret@mail.example", "MAIL_FROM": "EventHive <tickets@eventhive.example>"}))
	require.NoError(t, err)
	require.Equal(t, &mail.SMTP{Host: "mail.example", Port: 465, Username: "ada", Password: "s3cret", ImplicitTLS: true}, cfg.SMTP)
	require.Equal(t, "EventHive <tickets@eventhive.example>", cfg.MailFrom)

	for _, env := range []map[string]string{
		{"SMTP_URL": "smtp://mail.example"},
		{"MAIL_FROM": "tickets@eventhive.example"},
		{"SMTP_URL": "smtp://ada:s3cret@mail.example:x", "MAIL_FROM": "tickets@eventhive.example"},
		{"SMTP_URL": "https://ada:s3cret@mail.example", "MAIL_FROM": "tickets@eventhive.example"},
		{"SMTP_URL": "smtp://mail.example", "MAIL_FROM": "not an address"},
	} {
		_, err := loadConfig(mapEnv(env))
		require.Error(t, err, "%v", env)
		require.NotContains(t, err.Error(), "s3cret", "the error does not show the password")
	}
}
