package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/renkei/renkei/delivery"
	"github.com/renkei/renkei/store"
	"github.com/renkei/renkei/webhook"
	"github.com/schollz/progressbar/v3"
)

// runDeliveries is `renkei deliveries replay`: queue failed deliveries
// again, straight on the database, for an operator after an outage.
func runDeliveries(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const usage = "usage: renkei deliveries replay --since TIME [--service rsv_…] [--data DIR] [--db DSN]"
	if len(args) > 0 && isHelp(args[0]) {
		fmt.Fprintln(stdout, usage)
		return nil
	}
	if len(args) == 0 || args[0] != "replay" {
		return errors.New(usage)
	}
	m := NewMain(stdout, stderr)
	fs := flag.NewFlagSet("renkei deliveries replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&m.DataDir, "data", envOr("RENKEI_DATA", m.DataDir), "data folder (env RENKEI_DATA)")
	fs.StringVar(&m.DSN, "db", envOr("RENKEI_DB", ""), "database (env RENKEI_DB)")
	fs.StringVar(&m.MasterKey, "master-key", envOr("RENKEI_MASTER_KEY", ""), "master key (env RENKEI_MASTER_KEY)")
	since := fs.String("since", "", "replay deliveries that failed and were created at or after this time (RFC 3339, or a duration like 2h)")
	service := fs.String("service", "", "only this related service")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var from time.Time
	if d, err := time.ParseDuration(*since); err == nil {
		from = time.Now().Add(-d)
	} else if t, err := time.Parse(time.RFC3339, *since); err == nil {
		from = t
	} else {
		return fmt.Errorf("--since %q is neither an RFC 3339 time nor a duration", *since)
	}
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// Insert jobs only: the running servers' workers send them.
	eng, err := delivery.Open(ctx, st, delivery.Config{Policy: webhook.Policy{}, Work: false,
		Log: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		return err
	}
	defer eng.Stop(context.Background())
	bar := progressbar.NewOptions(-1, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("replaying"),
		progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	n, err := st.Replay(ctx, store.ReplayFilter{ServiceID: *service, Since: from}, func(done int) { bar.Set(done) })
	bar.Finish()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "renkei: %d failed deliveries queued again (since %s)\n", n, from.UTC().Format(time.RFC3339))
	return nil
}
