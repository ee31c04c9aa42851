// Command renkei runs the Renkei payment server and its tools.
//
//	renkei                the demo: the server with demo data and partners
//	renkei serve          run the server, production defaults (no demo)
//	renkei migrate        bring the database schema up to date and exit
//	renkei deliveries replay --since 2h   queue failed deliveries again
//	renkei bench payments drive the HTTP API and print payments/s
//	renkei version        print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // --time-zone and users' zones work on hosts without a zone database: the binary is the whole install
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return // -h or --help: the flags were printed, which is success
		}
		fmt.Fprintln(os.Stderr, "renkei:", err)
		os.Exit(1)
	}
}

// run dispatches a subcommand; tests call it with their own arguments.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := ""
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "", "serve":
		m := newServeMain(cmd, stdout, stderr)
		if err := m.ParseFlags(args); err != nil {
			return err
		}
		if err := m.Run(ctx); err != nil {
			m.Close()
			return err
		}
		<-ctx.Done()
		fmt.Fprintln(stdout, "renkei: shutting down")
		return m.Close()
	case "migrate":
		m := NewMain(stdout, stderr)
		if err := m.ParseFlags(args); err != nil {
			return err
		}
		s, err := m.openStore(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "renkei: %s schema is up to date\n", s.Engine())
		return s.Close()
	case "demo":
		return runDemo(ctx, args, stdout, stderr)
	case "partner":
		return runPartner(ctx, args, stdout, stderr)
	case "deliveries":
		return runDeliveries(ctx, args, stdout, stderr)
	case "bench":
		return runBench(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "renkei", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

// newServeMain is the Main of `renkei` and `renkei serve`. Without a
// command it is the one-command demo (go run ./cmd/renkei); `renkei serve`
// starts with production defaults: no demo data, no self top-ups, no
// webhooks to loopback, the daily statement feed.
func newServeMain(cmd string, stdout, stderr io.Writer) *Main {
	m := NewMain(stdout, stderr)
	m.Demo = cmd == ""
	return m
}

const usage = `usage: renkei [command] [flags]

commands:
  (none)           the demo: the server with demo users, shops and partners (renkei serve --demo)
  serve            run the payment server; production defaults, no demo data
  migrate          bring the database schema up to date and exit
  deliveries replay --since T   queue failed deliveries again
  partner kakeibo|points        run a demo related service on its own
  demo             run the tour scripted in the terminal; exits 0 only if every step worked
  bench payments|deliveries   load tests (see BENCHMARKS.md)
  version          print the version

Run "renkei serve -h" for the server's flags.`
