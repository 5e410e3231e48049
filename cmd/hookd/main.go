// Command hookd is the hookd webhook service: `hookd serve` runs the API and
// the delivery workers; the other commands manage tenants, keys and the
// database schema.
//
// This package is the only place that reads configuration and wires the
// adapters (sqlite or postgres, httpapi, compat, webhook, delivery) together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/hookd/hookd"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

const usage = `hookd — a self-hosted webhook service

Usage:
  hookd serve [flags]                          run the API and the delivery workers
  hookd migrate [flags]                        apply database migrations and exit
  hookd tenant create NAME [flags]             create a tenant
  hookd tenant list [flags]                    list tenants
  hookd key create --tenant NAME --mode live|test [flags]
                                               create an API key (printed once)
  hookd key list [--tenant NAME] [flags]       list API keys (never their secrets)
  hookd key revoke [--tenant NAME] KEY_ID      revoke an API key
                                               tenant and key commands work on a running hookd
                                               with --url http://host:port --key opk_… (no database access)
  hookd operator-key create [--name NAME]      create an operator key (printed once; docs/tenancy.md)
  hookd operator-key list                      list operator keys
  hookd operator-key revoke KEY_ID             revoke an operator key
  hookd bench [flags]                          measure hookd against a plain client (docs/benchmarks.md)
  hookd listen [--addr 127.0.0.1:9000] [--secret whsec_…]
                                               receive deliveries locally and print them
  hookd version                                print the version

Every flag can also be set as HOOKD_<FLAG> (--data-dir → HOOKD_DATA_DIR).
Run "hookd COMMAND -h" for a command's flags.
`

// Main runs hookd with the given arguments and environment and returns the
// exit code. ctx ends the command (serve shuts down cleanly when it is done).
func Main(ctx context.Context, args, env []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, rest, env, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, rest, env, stderr)
	case "tenant":
		err = runTenant(ctx, rest, env, stdout, stderr)
	case "key":
		err = runKey(ctx, rest, env, stdout, stderr)
	case "operator-key":
		err = runOperatorKey(ctx, rest, env, stdout, stderr)
	case "bench":
		err = runBench(ctx, rest, env, stdout, stderr)
	case "listen":
		err = runListen(ctx, rest, env, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "hookd", hookd.Version)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "hookd: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintln(stderr, "hookd:", err)
		return 2
	}
	fmt.Fprintln(stderr, "hookd:", describeErr(err))
	return 1
}

var errUsage = errors.New("usage")

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// describeErr shows a domain error's message and anything else as it is:
// at a terminal the operator needs the cause.
func describeErr(err error) string {
	var e *hookd.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

// parseFlags parses args with a FlagSet built by define — flags may come
// before or after positional arguments — then fills what was not given from
// the environment, then validates. It returns the positional arguments.
func parseFlags(name string, args, env []string, stderr io.Writer, c *config, define func(*flag.FlagSet, *config)) ([]string, error) {
	fs := flag.NewFlagSet("hookd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	define(fs, c)
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := applyEnv(fs, env); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return positional, nil
}

func newLogger(c config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(c.LogFormat, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
