package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/internal/loopback"
	"recauda-bridge/logging"
	"recauda-bridge/sandbox"
	"recauda-bridge/validation"
	"recauda-bridge/web"
)

// sandboxUsage is the command's own help, shown with a usage error.
const sandboxUsage = `recauda-bridge sandbox [--lookup URL] [--webhook URL] [--allow-remote]

Serves a local stand-in for Efipay's collection portal on SANDBOX_ADDR
(default 127.0.0.1:8090), in Spanish (English with ?lang=en): type an ID
number, see the charges as the customer would with the verdict of every
Efipay rule, and pay them (in full, an advance, rejected, pending then
approved, a reversal) with webhooks signed with EFIPAY_WEBHOOK_TOKEN.

  --lookup URL     the lookup to call (default: this bridge on LISTEN_ADDR,
                   with LOOKUP_TOKEN in the path when set)
  --webhook URL    post every webhook here instead of the item's
                   result_urls.webhook
  --allow-remote   allow hosts other than this machine (loopback only by
                   default), and a SANDBOX_ADDR that is not loopback
`

type sandboxArgs struct {
	lookup, webhook string
	allowRemote     bool
}

func parseSandboxArgs(args []string) (sandboxArgs, error) {
	var a sandboxArgs
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.lookup, "lookup", "", "")
	fs.StringVar(&a.webhook, "webhook", "", "")
	fs.BoolVar(&a.allowRemote, "allow-remote", false, "")
	if err := fs.Parse(args); err != nil {
		return a, err
	}
	if fs.NArg() > 0 {
		return a, fmt.Errorf("sandbox takes no arguments, got %q", fs.Arg(0))
	}
	return a, nil
}

// checkTarget refuses a URL that is not absolute http(s), or not this
// machine without --allow-remote.
func checkTarget(what, raw string, allowRemote bool) (remote bool, err error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return false, fmt.Errorf("%s must be an absolute http(s) URL, got %q", what, raw)
	}
	if loopback.IsLocal(u) {
		return false, nil
	}
	if !allowRemote {
		return true, fmt.Errorf("%s %s is not this machine: pass --allow-remote", what, u.Host)
	}
	return true, nil
}

// runSandbox serves the sandbox until ctx ends.
func runSandbox(ctx context.Context, args []string, env config.Lookup, stdout, stderr io.Writer) error {
	a, err := parseSandboxArgs(args)
	if err != nil {
		return usageError(stderr, "%v\n\n%s", err, sandboxUsage)
	}
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	lookupURL, shown := a.lookup, a.lookup
	if lookupURL == "" {
		if lookupURL, err = sandbox.DefaultLookupURL(cfg.ListenAddr, cfg.LookupToken); err != nil {
			return err
		}
		shown = sandbox.ShownLookupURL(lookupURL, cfg.LookupToken)
	}
	var loud []string
	if remote, err := checkTarget("the lookup URL", lookupURL, a.allowRemote); err != nil {
		return usageError(stderr, "%v\n\n%s", err, sandboxUsage)
	} else if remote {
		loud = append(loud, "WARNING: --allow-remote: looking customers up at "+shown)
	}
	if a.webhook != "" {
		if remote, err := checkTarget("the webhook URL", a.webhook, a.allowRemote); err != nil {
			return usageError(stderr, "%v\n\n%s", err, sandboxUsage)
		} else if remote {
			loud = append(loud, "WARNING: --allow-remote: posting signed webhooks to "+a.webhook)
		}
	} else if a.allowRemote {
		loud = append(loud, "WARNING: --allow-remote: posting signed webhooks to whatever result_urls.webhook the items name, on any host")
	}
	if host, _, _ := net.SplitHostPort(cfg.Sandbox.Addr); !a.allowRemote && !loopback.IsLocalHost(host) {
		return usageError(stderr, "SANDBOX_ADDR %s is not a loopback address: anyone who reaches it could post signed payments; pass --allow-remote\n\n%s", cfg.Sandbox.Addr, sandboxUsage)
	}
	if cfg.WebhookToken == "" {
		loud = append(loud, "WARNING: EFIPAY_WEBHOOK_TOKEN is not set: the webhooks go unsigned and the bridge refuses them (401)")
	}

	log := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	sb, err := sandbox.New(sandbox.Options{
		LookupURL: lookupURL, WebhookURL: a.webhook, WebhookToken: []byte(cfg.WebhookToken), AllowRemote: a.allowRemote,
		RetryDelays: cfg.Sandbox.RetryDelays, Validator: validation.New(nil),
	})
	if err != nil {
		return err
	}
	defer sb.Close()
	pages, err := web.NewSandbox()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Sandbox.Addr)
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	srv := &http.Server{
		Handler:           sandbox.NewHandler(sb, pages, sandbox.Site{LookupURL: shown, WebhookURL: a.webhook, Remote: a.allowRemote}, log),
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 90 * time.Second,
		MaxHeaderBytes: 64 << 10,
	}
	for _, l := range loud {
		fmt.Fprintln(stderr, l)
	}
	fmt.Fprintf(stdout, "sandbox: http://%s (lookup %s; retries after %v)\n", ln.Addr(), shown, cfg.Sandbox.RetryDelays)

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("sandbox: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("sandbox: shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}
