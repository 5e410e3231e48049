package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookd/hookd/verify"
)

// runListen receives deliveries on a local port and prints them, checking
// their signature when given the webhook's secret: a receiver for
// development, and a reference for writing one.
func runListen(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hookd listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9000", "address to receive deliveries on")
	secret := fs.String("secret", "", "the webhook's secret (whsec_…, or the one chosen through a compatibility API); when set, unsigned or badly signed requests are answered 401, and X-CallFire-Signature is checked when present")
	status := fs.Int("status", http.StatusNoContent, "status code to answer")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	// HOOKD_ADDR is the address of `hookd serve`: a receiver started beside
	// it must not take it.
	if err := applyEnv(fs, slices.DeleteFunc(slices.Clone(env), func(kv string) bool { return strings.HasPrefix(kv, "HOOKD_ADDR=") })); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *status < 200 || *status > 599 {
		return usageErr("--status must be an HTTP status code, got %d", *status)
	}
	var v *verify.Verifier
	if *secret != "" {
		var err error
		if v, err = verify.New(*secret); err != nil {
			return usageErr("--secret: %v", err)
		}
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	fmt.Fprintf(stdout, "listening for deliveries on http://%s\n", ln.Addr())
	var mu sync.Mutex // one delivery printed at a time
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		verdict, code := "not checked (no --secret)", *status
		if v != nil {
			if err := v.Verify(r.Header, body); err != nil {
				verdict, code = "INVALID: "+err.Error(), http.StatusUnauthorized
			} else {
				verdict = "valid"
			}
		}
		// Deliveries of webhooks made through the CallFire API carry
		// CallFire's own signature too; check it as CallFire's verifiers do.
		if r.Header.Get("X-CallFire-Signature") != "" && *secret != "" {
			if err := verify.VerifyCallFire(*secret, r.Header, body); err != nil {
				verdict, code = verdict+"; X-CallFire-Signature INVALID: "+err.Error(), http.StatusUnauthorized
			} else {
				verdict += "; X-CallFire-Signature valid"
			}
		}
		var pretty bytes.Buffer
		if json.Indent(&pretty, body, "  ", "  ") != nil {
			pretty.Reset()
			pretty.Write(body)
		}
		mu.Lock()
		fmt.Fprintf(stdout, "%s %s %s\n  webhook-id: %s\n  signature: %s\n  answered: %d\n  %s\n\n",
			time.Now().Format(time.TimeOnly), r.Method, r.URL.Path, r.Header.Get("webhook-id"), verdict, code, pretty.String())
		mu.Unlock()
		w.WriteHeader(code)
	})}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
