// Package pgtest gives tests a real PostgreSQL: the server named by
// HOOKD_TEST_DATABASE_URL, or else a throwaway server started from Debian's
// binaries (/usr/lib/postgresql/*/bin) once per test binary. Every caller of
// NewDatabase gets its own fresh database, so tests can run in parallel.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.NewDatabase(t) // skips, or fails when CI=true, if no server is available
//		...
//	}
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the variable that points the tests at an existing server.
// Its role must be allowed to create databases.
const EnvURL = "HOOKD_TEST_DATABASE_URL"

// harness is the state of one test binary: at most one server, started on
// first use and stopped by Main.
type harness struct {
	once    sync.Once
	mainRan bool

	baseURL string // a URL of the server; NewDatabase swaps the database name
	admin   *pgxpool.Pool
	err     error // why no server is available

	server *server // nil when EnvURL was used
	// locale is what NewDatabase adds to CREATE DATABASE: ICU's "en" where
	// the server has it, else nothing (the server's defaults).
	locale string
}

var h harness // one per test binary: the server is shared by every test in it

// icuLocale is the locale NewDatabase's databases have where the server
// supports it.
const icuLocale = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en'"

// Main runs the tests, then stops the throwaway server (if one was started)
// and removes its directory. It calls os.Exit with the tests' result.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain with cleanup of its own: it runs the tests,
// stops the throwaway server and returns the exit code.
func Run(m *testing.M) int {
	h.mainRan = true
	code := m.Run()
	h.shutdown()
	return code
}

// NewDatabase creates an empty database for this test (dropped when it ends)
// and returns its URL. When no server is available it fails the test if
// CI=true and skips it otherwise, saying how to enable it.
//
// The database compares text with ICU's "en" collation (on PostgreSQL 15
// and later built with ICU, as Debian's is), as a database made with a
// locale such as en_US.UTF-8 does by default, not as the throwaway
// server's "C": hookd must work on the databases people have, where
// ordering and comparing text follow a language's rules (tables' keys are
// "C" by hookd's own choice, migration 00020).
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	if !h.mainRan {
		tb.Fatal("pgtest: call pgtest.Main(m) from TestMain, so that the server is stopped after the tests")
	}
	h.once.Do(h.start)
	if h.err != nil {
		unavailable(tb, h.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	name := "t_" + randomHex(8)
	if _, err := h.admin.Exec(ctx, "CREATE DATABASE "+name+" "+h.locale); err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends connections a test leaked; the drop is what matters.
		if _, err := h.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(h.baseURL)
	if err != nil {
		tb.Fatalf("pgtest: parse server URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// Available reports whether NewDatabase can work, and why not. It starts the
// server if needed.
func Available() error {
	if !h.mainRan {
		return errors.New("pgtest.Main was not called from TestMain")
	}
	h.once.Do(h.start)
	return h.err
}

func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("PostgreSQL is required in CI but unavailable: %v", err)
	}
	tb.Skipf("PostgreSQL unavailable, test skipped: %v (set %s=postgres://… or install Debian's postgresql package)", err, EnvURL)
}

func (h *harness) start() {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if u := os.Getenv(EnvURL); u != "" {
		h.baseURL = u
	} else {
		s, err := startServer(ctx)
		if err != nil {
			h.err = err
			return
		}
		h.server = s
		h.baseURL = s.url("postgres")
	}
	cfg, err := pgxpool.ParseConfig(h.baseURL)
	if err != nil {
		h.err = fmt.Errorf("parse %s: %w", EnvURL, err)
		return
	}
	cfg.MaxConns = 4
	h.admin, err = pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		err = h.admin.Ping(ctx)
	}
	if err != nil {
		h.err = fmt.Errorf("connect to %s: %w", redact(h.baseURL), err)
		return
	}
	// LOCALE_PROVIDER is PostgreSQL 15's; ICU is optional at build time.
	var icu bool
	err = h.admin.QueryRow(ctx, `SELECT current_setting('server_version_num')::int >= 150000
		AND EXISTS (SELECT 1 FROM pg_collation WHERE collprovider = 'i')`).Scan(&icu)
	if err != nil {
		h.err = fmt.Errorf("read the server's version: %w", err)
		return
	}
	if icu {
		h.locale = icuLocale
	}
}

func (h *harness) shutdown() {
	if h.admin != nil {
		h.admin.Close()
	}
	if h.server != nil {
		if err := h.server.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
}

// server is a throwaway PostgreSQL in a temporary directory.
type server struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *os.File
}

func (s *server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// binDir finds the newest /usr/lib/postgresql/<version>/bin with initdb.
func binDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	var ok []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			ok = append(ok, d)
		}
	}
	if len(ok) == 0 {
		return "", errors.New("no /usr/lib/postgresql/*/bin/initdb (apt-get install -y postgresql)")
	}
	sort.Slice(ok, func(i, j int) bool { return version(ok[i]) > version(ok[j]) })
	return ok[0], nil
}

func version(bin string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(bin)))
	return v
}

// credential returns who runs the server: the postgres user when we are
// root (initdb refuses root), else nil for ourselves.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and there is no postgres user to run initdb as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func startServer(ctx context.Context) (*server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "hookd-pgtest-")
	if err != nil {
		return nil, fmt.Errorf("make temporary directory: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("give %s to the postgres user: %w", dir, err)
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// A free port can be taken between our probe and the server's bind:
	// try a few.
	for try := 0; ; try++ {
		s, err := launch(ctx, bin, dir, cred)
		if err == nil {
			return s, nil
		}
		if try == 2 || ctx.Err() != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

func launch(ctx context.Context, bin, dir string, cred *syscall.Credential) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, fmt.Errorf("create server log: %w", err)
	}
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", filepath.Join(dir, "data"),
		"-k", dir, // the unix socket stays inside our directory
		"-h", "127.0.0.1",
		"-p", strconv.Itoa(port),
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=300",
		"-c", "shared_buffers=64MB",
	)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Pdeathsig: a test binary killed outright takes its server with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	s := &server{dir: dir, port: port, cmd: cmd, done: make(chan struct{}), log: logf}
	go func() { cmd.Wait(); close(s.done) }()

	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(cctx, s.url("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			return s, nil
		}
		select {
		case <-s.done:
			logf.Close()
			out, _ := os.ReadFile(logf.Name())
			return nil, fmt.Errorf("postgres exited at start: %s", out)
		case <-ctx.Done():
			s.kill()
			return nil, fmt.Errorf("postgres did not accept connections: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *server) kill() {
	s.cmd.Process.Signal(syscall.SIGQUIT)
	<-s.done
	s.log.Close()
}

// stop shuts the server down fast (SIGINT: abort transactions, no
// checkpoint wait beyond the minimum) and removes its directory.
func (s *server) stop() error {
	s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.log.Close()
	if err := os.RemoveAll(s.dir); err != nil {
		return fmt.Errorf("remove %s: %w", s.dir, err)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// redact hides a password in a URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the database URL"
	}
	return u.Redacted()
}
