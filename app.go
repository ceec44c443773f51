package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"recauda-bridge/config"
	"recauda-bridge/erp"
	"recauda-bridge/erp/sources"
	"recauda-bridge/handlers/throttle"
	"recauda-bridge/logging"
	"recauda-bridge/metrics"
	"recauda-bridge/recauda"
	"recauda-bridge/report"
	"recauda-bridge/server"
	"recauda-bridge/store"
	"recauda-bridge/validation"
)

// buildVersion is set at link time: -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// app is what serve and preview share: configuration, logger, store, source
// and the use cases.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	store   *store.Store
	source  erp.Source
	service *recauda.Service
	// metrics is the bridge's own Prometheus registry, passed to whatever
	// exports metrics.
	metrics *prometheus.Registry
	closers []func() error
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil {
			a.log.Warn("closing", "error", err)
		}
	}
}

// newApp builds the pieces from the configuration, the store opened for
// use.
func newApp(ctx context.Context, env config.Lookup, stderr io.Writer, use storeUse) (*app, error) {
	cfg, err := loadConfig(env)
	if err != nil {
		return nil, err
	}
	return newAppFrom(ctx, cfg, stderr, use)
}

// loadConfig reads the configuration; a bad one exits 1 naming each problem.
func loadConfig(env config.Lookup) (config.Config, error) {
	cfg, err := config.Load(env, sources.Config())
	if err != nil {
		return config.Config{}, &exitError{code: 1, err: fmt.Errorf("invalid configuration:\n%w", err)}
	}
	return cfg, nil
}

// newAppFrom is newApp with the configuration already read.
func newAppFrom(ctx context.Context, cfg config.Config, stderr io.Writer, use storeUse) (*app, error) {
	log := logging.New(stderr, cfg.LogFormat, cfg.LogLevel)
	a := &app{cfg: cfg, log: log, metrics: prometheus.NewRegistry()}
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	now := time.Now

	st, err := openStore(ctx, cfg, log, use)
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, st.Close)
	a.store = st
	a.metrics.MustRegister(metrics.NewSyncCollector(st))

	src, closeSource, err := sources.Open(ctx, cfg, sources.Deps{Log: log, Now: now, Store: st}, a.metrics)
	if err != nil {
		a.close()
		return nil, &exitError{code: 1, err: fmt.Errorf("ERP_SOURCE=%s: %w", cfg.ERPSource, err)}
	}
	if closeSource != nil {
		a.closers = append(a.closers, closeSource)
	}
	a.source = src
	a.service = recauda.New(src, st, validation.New(now), recauda.Config{
		ResendAfter: cfg.ResendAfter, WebhookURL: cfg.WebhookURL(), TestMode: cfg.TestMode,
		OverduePolicy: cfg.OverduePolicy,
	}, now, log)
	return a, nil
}

func serve(ctx context.Context, env config.Lookup, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	// Before anything is opened: an open lookup is refused, not warned about.
	if err := cfg.CheckLookupProtected(); err != nil {
		return &exitError{code: 1, err: err}
	}
	a, err := newAppFrom(ctx, cfg, stderr, readWriteMigrate)
	if err != nil {
		return err
	}
	defer a.close()
	log := a.log
	if cfg.PublicURL == "" {
		log.Warn("PUBLIC_URL is not set: items carry no result_urls.webhook; set it so Efipay knows where to POST payments")
	}
	if cfg.WebhookToken == "" {
		log.Warn("EFIPAY_WEBHOOK_TOKEN is not set: POST /webhooks/efipay refuses every webhook (503) until it is")
	}
	if cfg.AdminToken == "" {
		log.Warn("ADMIN_TOKEN is not set: the admin API is off (503)")
	}
	if cfg.TestMode {
		log.Warn("EFIPAY_TEST_MODE is on: Efipay test payments (production=false) mark charges paid")
	}
	if cfg.LookupOpen() {
		// Only the demo source or LOOKUP_PUBLIC=true get here.
		log.Warn("!!! the lookup is open to anyone: whoever guesses an ID number sees that person's name and debts. "+
			"Set LOOKUP_TOKEN (and configure https://HOST/get-recaudas/<LOOKUP_TOKEN> in Efipay) and/or LOOKUP_ALLOW_CIDRS !!!",
			"rate_limit", cfg.LookupRate.String(), "lookup_public", cfg.LookupPublic, "see", config.LookupSecuringDoc)
	}
	if cfg.MetricsToken == "" {
		log.Warn("METRICS_TOKEN is not set: GET /metrics answers anyone who can reach the server")
	}
	ready := func(ctx context.Context) error {
		if err := a.store.Ping(ctx); err != nil {
			return err
		}
		if hc, ok := a.source.(erp.HealthChecker); ok {
			if err := hc.Check(ctx); err != nil && !errors.Is(err, erp.ErrUnsupported) {
				return err
			}
		}
		return nil
	}
	a.metrics.MustRegister(metrics.NewReadyCollector(ready, 2*time.Second))
	e := server.New(server.Config{
		Recauda: a.service, Logger: log, EmptyStatus: cfg.EmptyStatus,
		WebhookToken: []byte(cfg.WebhookToken), AdminToken: cfg.AdminToken, SessionSecret: a.store.SessionSecret,
		LookupToken: cfg.LookupToken, LookupAllowCIDRs: cfg.LookupAllowCIDRs, TrustedProxies: cfg.TrustedProxies,
		LookupRate: throttle.Rate(cfg.LookupRate), IPv6Prefix: cfg.RateIPv6Prefix, Metrics: a.metrics, MetricsToken: cfg.MetricsToken,
		WritebackStats: a.store,
		Ready:          ready,
		Report:         report.New(a.store, time.Now, reportSettings(cfg)),
	})
	srv := &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      cfg.ERPTimeout + 15*time.Second,
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.ListenAddr, err)
	}
	log.Info("recauda-bridge listening", "addr", ln.Addr().String(), "version", version(),
		"erp_source", cfg.ERPSource, "database", cfg.Database.Dialect)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			_ = srv.Close()
			return err
		}
		defer stopDebug()
	}

	// The write-back worker stops between jobs when ctx is cancelled.
	workerCtx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	if rec, ok := a.source.(erp.PaymentRecorder); ok && erp.CanRecord(a.source) {
		w := recauda.NewWorker(a.store, rec, recauda.WorkerConfig{}, time.Now, log)
		a.service.OnWriteback(w.Kick)
		go func() { workerDone <- w.Run(workerCtx) }()
	} else {
		log.Info("the ERP source cannot record payments: no write-back")
		workerDone <- nil
	}

	select {
	case err := <-serveErr:
		stopWorker()
		<-workerDone
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	stopWorker()
	if err := <-workerDone; err != nil {
		log.Warn("write-back worker", "error", err)
	}
	if shutdownErr != nil {
		return fmt.Errorf("shutdown: %w", shutdownErr)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

// serveDebug serves Go's profiler on addr (config allows only loopback),
// apart from the public handler so that nothing there can reach it.
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	// Sample contended locks too: /debug/pprof/mutex.
	runtime.SetMutexProfileFraction(100)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("DEBUG_ADDR: listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("profiler listening", "addr", ln.Addr().String(), "path", "/debug/pprof/")
	return func() { _ = srv.Close() }, nil
}

// rotateSessionSecret replaces the secret the dashboard's sessions and CSRF
// tokens are keyed by: every session ends, on every replica once it reads
// the secret again.
func rotateSessionSecret(ctx context.Context, env config.Lookup, stdout io.Writer) error {
	cfg, err := loadConfig(env)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, nil, readWrite)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RotateSessionSecret(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "session secret replaced: every dashboard session is signed out (running servers within 10 s); sign in again with ADMIN_TOKEN")
	return nil
}

// storeUse is what a command does with the tracking database, and so what
// it does about a schema that is not this binary's.
type storeUse int

const (
	// readOnly reads (preview, report): the schema must be this binary's;
	// nothing is migrated.
	readOnly storeUse = iota
	// readWrite writes rows, not the schema (rotate-session-secret): the
	// schema must be this binary's; nothing is migrated.
	readWrite
	// readWriteMigrate brings the schema up to date first (serve, import).
	readWriteMigrate
	// asFound takes the schema as it is: migrate, which says what it applies
	// before applying it; backup, which copies any version.
	asFound
)

// openStore is the one place a command opens the tracking database, for
// one use. log may be nil.
func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, use storeUse) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.Database.Dialect, cfg.Database.DSN, store.Options{Logger: log,
		MaxOpenConns: cfg.DBMaxOpenConns, MaxIdleConns: cfg.DBMaxIdleConns, ConnMaxLifetime: cfg.DBConnMaxLifetime})
	if err != nil {
		return nil, err
	}
	switch use {
	case readOnly, readWrite:
		err = schemaHint(st.CheckSchema(ctx))
	case readWriteMigrate:
		var applied []int
		if applied, err = st.Migrate(ctx); err == nil && len(applied) > 0 && log != nil {
			log.Info("database migrated", "versions", applied, "dialect", st.Dialect())
		}
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// schemaHint says what to do about an out-of-date schema; a newer one
// carries its own advice.
func schemaHint(err error) error {
	if errors.Is(err, store.ErrSchemaOutdated) {
		return fmt.Errorf("%w (run `recauda-bridge migrate`)", err)
	}
	return err
}

// migrate says which steps are pending, then applies them unless dryRun.
func migrate(ctx context.Context, env config.Lookup, dryRun bool, stdout, stderr io.Writer) error {
	cfg, err := config.Load(env, sources.Config())
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("invalid configuration:\n%w", err)}
	}
	st, err := openStore(ctx, cfg, nil, asFound)
	if err != nil {
		return err
	}
	defer st.Close()
	pending, err := st.Pending(ctx)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		fmt.Fprintf(stdout, "database is up to date (version %d)\n", store.LatestVersion())
		return nil
	}
	verb := "applying"
	if dryRun {
		verb = "would apply"
	}
	for _, p := range pending {
		fmt.Fprintf(stdout, "%s migration %d: %s\n", verb, p.Version, p.Name)
	}
	if dryRun {
		return nil
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied migrations %v; database is at version %d\n", applied, store.LatestVersion())
	return nil
}
