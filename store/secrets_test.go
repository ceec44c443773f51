package store

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"recauda-bridge/models"
)

// TestSessionSecret: created once, random, the same after a restart and
// for every replica, and a new one after a rotation.
func TestSessionSecret(t *testing.T) {
	eachDialect(t, func(t *testing.T, db testDB) {
		ctx := context.Background()
		clk := newClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
		dsn := db.dsn(t)
		open := func() *Store {
			t.Helper()
			s, err := Open(ctx, db.name, dsn, Options{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			return s
		}
		a := open()
		first, err := a.SessionSecret(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(first) != 32 || bytes.Equal(first, make([]byte, 32)) {
			t.Fatalf("got a secret of %d bytes %x, want 32 random bytes", len(first), first)
		}
		if again, err := a.SessionSecret(ctx); err != nil || !bytes.Equal(again, first) {
			t.Fatalf("second read = %x, %v; want the same secret", again, err)
		}
		a.Close()

		// A restart reads the same secret.
		b := open()
		defer b.Close()
		if got, err := b.SessionSecret(ctx); err != nil || !bytes.Equal(got, first) {
			t.Fatalf("after a restart = %x, %v; want %x", got, err, first)
		}

		if err := b.RotateSessionSecret(ctx); err != nil {
			t.Fatal(err)
		}
		rotated, err := b.SessionSecret(ctx)
		if err != nil || len(rotated) != 32 || bytes.Equal(rotated, first) {
			t.Fatalf("after a rotation = %x, %v; want a new 32-byte secret", rotated, err)
		}
		if db.name != models.DialectPostgres {
			return
		}
		// Another replica on the same database sees the rotated secret.
		c := open()
		defer c.Close()
		if got, err := c.SessionSecret(ctx); err != nil || !bytes.Equal(got, rotated) {
			t.Fatalf("another replica = %x, %v; want %x", got, err, rotated)
		}
	})
}

// TestSessionSecretCreatedOnceByConcurrentReplicas: replicas starting at
// once on a new PostgreSQL database all end up with the same secret.
func TestSessionSecretCreatedOnceByConcurrentReplicas(t *testing.T) {
	db := testDBs[1]
	ctx := context.Background()
	dsn := db.dsn(t)
	first, err := Open(ctx, db.name, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const replicas = 6
	stores := []*Store{first}
	for range replicas - 1 {
		s, err := Open(ctx, db.name, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	got := make([][]byte, replicas)
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if got[i], err = s.SessionSecret(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range got {
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("replica %d got %x, replica 0 %x; want one secret", i, got[i], got[0])
		}
	}
}
