package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"recauda-bridge/config"
)

// healthcheck asks the server on this machine (LISTEN_ADDR's port on
// loopback) for /readyz: exit 0 when it answers 200. It lets an image with
// no shell and no curl have a HEALTHCHECK.
func healthcheck(ctx context.Context, env config.Lookup, stdout io.Writer) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(cfg.ListenAddr)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("LISTEN_ADDR %q: %w", cfg.ListenAddr, err)}
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s: %w", url, err)}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return &exitError{code: 1, err: fmt.Errorf("%s answered %s", url, resp.Status)}
	}
	fmt.Fprintf(stdout, "%s: ready\n", url)
	return nil
}
