package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// The bridge's own secrets, generated once and kept in the database: every
// replica and every restart uses the same one, and replacing it invalidates
// whatever it signed. A secret is 32 random bytes, stored hex-encoded.

// sessionSecretName names the secret that keys the dashboard's sessions and
// CSRF tokens.
const sessionSecretName = "dashboard_session"

// SessionSecret returns the secret that keys the dashboard's sessions and
// CSRF tokens, creating it the first time. Replicas that create it at once
// all get the one that was stored first.
func (s *Store) SessionSecret(ctx context.Context) ([]byte, error) {
	return s.secret(ctx, sessionSecretName)
}

// RotateSessionSecret replaces the session secret with a new random one:
// every dashboard session and sign-in form signed with the old one is
// refused from then on.
func (s *Store) RotateSessionSecret(ctx context.Context) error {
	fresh, err := newSecret()
	if err != nil {
		return err
	}
	err = s.writeTx(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at`,
			sessionSecretName, fresh, s.now()).Error
	})
	return translate("store: rotate session secret", err)
}

func (s *Store) secret(ctx context.Context, name string) ([]byte, error) {
	op := "store: secret " + name
	var value string
	if err := s.read.WithContext(ctx).Raw(`SELECT value FROM secrets WHERE name = ?`, name).Scan(&value).Error; err != nil {
		return nil, translate(op, err)
	}
	if value == "" {
		fresh, err := newSecret()
		if err != nil {
			return nil, err
		}
		err = s.writeTx(ctx, func(tx *gorm.DB) error {
			if err := tx.Exec(`INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
				name, fresh, s.now()).Error; err != nil {
				return err
			}
			return tx.Raw(`SELECT value FROM secrets WHERE name = ?`, name).Scan(&value).Error
		})
		if err != nil {
			return nil, translate(op, err)
		}
	}
	b, err := hex.DecodeString(value)
	if err != nil || len(b) < 32 {
		return nil, fmt.Errorf("%s: the stored value is not 32 hex-encoded bytes: %w", op, errors.Join(ErrUnavailable, err))
	}
	return b, nil
}

func newSecret() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("store: new secret: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
