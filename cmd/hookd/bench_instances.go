package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// instances is issue 16's "several instances": for each count in
// --instances (default 1, 2, 3) it starts that many `hookd serve`
// processes (--hookd-binary, default this one) on a fresh database of the
// --database-url PostgreSQL, each pinned with taskset (when installed) to
// its share of the cores, as fair a share as whole cores allow (cpuShare). The
// --publishers publish at full speed for --duration, publisher i to
// instance i mod n, and the bench then waits for every delivery. It checks
// that none is lost and none arrives twice (nothing fails here), and
// reports per count the aggregate published/s and delivered/s, p99, each
// instance's CPU, and that of the database's backends when the server runs
// on this machine. CPU is in cores: CPU seconds over the time from the
// first publish to the last receipt. The bench's publishers and receivers and PostgreSQL
// run unpinned beside them.
func (b *bencher) instances(ctx context.Context) (ms []metric, err error) {
	if b.cfg.Target != "" || b.cfg.DatabaseURL == "" {
		fmt.Fprintln(b.log, "    skipped: instances runs hookd processes on a PostgreSQL: give --database-url")
		return nil, nil
	}
	bin := b.cfg.HookdBinary
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("instances: the hookd binary: %w", err)
		}
	}
	s, err := b.sinks(b.cfg.Webhooks)
	if err != nil {
		return nil, err
	}
	defer s.close()
	var seq atomic.Int64
	for _, n := range b.cfg.Instances {
		m, err := b.instancesRun(ctx, bin, s, n, &seq)
		if err != nil {
			return nil, fmt.Errorf("instances: %d: %w", n, err)
		}
		ms = append(ms, m...)
	}
	return ms, nil
}

// instancesRun measures n instances on a fresh database.
func (b *bencher) instancesRun(ctx context.Context, bin string, s *sinks, n int, seq *atomic.Int64) (ms []metric, err error) {
	db, drop, err := freshDatabase(ctx, b.cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, drop()) }()
	key, err := newTenantKey(ctx, db)
	if err != nil {
		return nil, err
	}
	procs := make([]*hookdProcess, 0, n)
	defer func() {
		for _, p := range procs {
			err = errors.Join(err, p.stop())
		}
	}()
	targets := make([]*target, n)
	for i := range n {
		cpus := cpuShare(i, n, runtime.NumCPU())
		p, err := startHookdProcess(ctx, bin, cpus, append([]string{"--data-dir", b.dataDir(), "--database-url", db}, b.serveFlags()...))
		if err != nil {
			return nil, err
		}
		procs = append(procs, p)
		targets[i] = &target{base: p.base, key: key, hc: newBenchClient(512)}
		where := "unpinned"
		if p.pinned {
			where = "on CPUs " + cpus
		}
		fmt.Fprintf(b.log, "    instance %d of %d: pid %d, %s\n", i+1, n, p.cmd.Process.Pid, where)
	}
	if _, err := targets[0].createWebhooks(ctx, sinkURLs(s)); err != nil {
		return nil, err
	}

	label := fmt.Sprintf("%d instances: ", n)
	if n == 1 {
		label = "1 instance: "
	}
	cpu0 := make([]time.Duration, n)
	for i, p := range procs {
		cpu0[i] = p.cpu()
	}
	server, err := startServerCPU(ctx, db)
	if err != nil {
		return nil, err
	}
	bench0 := cpuTime()
	var accepted atomic.Int64
	first, received0, dupes0 := seq.Load(), s.received.Load(), s.dupes.Load()
	s.latencies.reset()
	s.window.Store(true)
	stopProgress := progressLine(b.log, "instances", func() string {
		return fmt.Sprintf("%d instances: published %d, delivered %d", n, accepted.Load(), s.received.Load()-received0)
	})
	start := time.Now()
	ferr := b.flood(ctx, targets, start.Add(b.cfg.Duration), seq, &accepted)
	elapsed := time.Since(start)
	delivered := s.received.Load() - received0
	if ferr != nil {
		stopProgress()
		return nil, ferr
	}
	events := seq.Load()
	werr := awaitAll(ctx, s, seqIDs(s.n), int(events), b.drainTimeout((events-first)*int64(s.n)))
	drained := time.Since(start)
	stopProgress()
	s.window.Store(false)
	if werr != nil {
		return nil, fmt.Errorf("lost: %w", werr)
	}
	if d := s.dupes.Load() - dupes0; d > 0 {
		return nil, fmt.Errorf("%d deliveries arrived twice without a fault", d)
	}
	ms = []metric{
		{Scenario: "instances", Name: label + "published/s", Value: float64(accepted.Load()) / elapsed.Seconds(), Unit: "events/s"},
		{Scenario: "instances", Name: label + "delivered/s", Value: float64(delivered) / elapsed.Seconds(), Unit: "deliveries/s"},
		{Scenario: "instances", Name: label + "end-to-end delivered/s", Value: float64(s.received.Load()-received0) / drained.Seconds(), Unit: "deliveries/s"},
		{Scenario: "instances", Name: label + "latency p99", Value: millis(s.latencies.quantile(0.99)), Unit: "ms"},
		{Scenario: "instances", Name: label + "lost or duplicated", Value: 0, Unit: "deliveries"},
	}
	for i, p := range procs {
		used := p.cpu() - cpu0[i]
		ms = append(ms, metric{Scenario: "instances", Name: fmt.Sprintf("%sinstance %d cpu", label, i+1),
			Value: used.Seconds() / drained.Seconds(), Unit: "cores"})
	}
	ms = append(ms, metric{Scenario: "instances", Name: label + "bench (publishers, receivers) cpu",
		Value: (cpuTime() - bench0).Seconds() / drained.Seconds(), Unit: "cores"})
	if len(server.pids) > 0 {
		ms = append(ms, metric{Scenario: "instances", Name: label + "database backends cpu",
			Value: server.used().Seconds() / drained.Seconds(), Unit: "cores"})
	}
	return ms, nil
}

// cpuShare is the CPUs (a taskset list) of instance i of n on cpus cores:
// with n ≤ cpus each gets its own cores; with more instances than cores,
// each gets the cores its n-th of the machine overlaps (3 on 2 cores: 0,
// 0-1, 1).
func cpuShare(i, n, cpus int) string {
	lo, hi := i*cpus/n, ((i+1)*cpus-1)/n
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}

// hookdProcess is a `hookd serve` the bench started.
type hookdProcess struct {
	cmd    *exec.Cmd
	base   string
	pinned bool
	errw   *lineWatch
	exited chan struct{}
}

// startHookdProcess runs bin serve on 127.0.0.1:0 with args, under taskset
// on cpus when taskset is installed, and returns once it listens.
func startHookdProcess(ctx context.Context, bin, cpus string, args []string) (*hookdProcess, error) {
	argv := append([]string{bin, "serve", "--addr", "127.0.0.1:0", "--allow-private-networks", "--log-level", "info",
		"--shutdown-grace", "2s"}, args...)
	p := &hookdProcess{errw: newLineWatch(), exited: make(chan struct{})}
	if ts, err := exec.LookPath("taskset"); err == nil {
		argv = append([]string{ts, "-c", cpus}, argv...)
		p.pinned = true
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stderr = p.errw
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	select {
	case addr := <-p.errw.addr:
		p.base = "http://" + addr
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("hookd serve exited before listening:\n%s", p.errw.String())
	case <-ctx.Done():
		return nil, errors.Join(ctx.Err(), p.stop())
	case <-time.After(60 * time.Second):
		return nil, errors.Join(fmt.Errorf("hookd serve did not listen within 60s:\n%s", p.errw.String()), p.stop())
	}
}

// cpu is the process's CPU time so far (user + system).
func (p *hookdProcess) cpu() time.Duration { return pidCPU(p.cmd.Process.Pid) }

// pidCPU is a process's CPU time so far (user + system), from /proc; 0 if
// it is gone.
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ, 100 on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// serverCPU is the CPU time of the PostgreSQL backends connected to the
// database at dbURL, when the server runs on this machine (else cpu
// reports 0): the instances' pooled connections, which do the database's
// side of publish, claim and complete.
type serverCPU struct {
	pids []int
	cpu0 time.Duration
}

func startServerCPU(ctx context.Context, dbURL string) (*serverCPU, error) {
	conn, err := connectPG(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, _ := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("the database's backends: %w", err)
	}
	c := &serverCPU{}
	for _, pid := range pids {
		if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			c.pids = append(c.pids, pid)
			c.cpu0 += pidCPU(pid)
		}
	}
	return c, nil
}

// used is the CPU time the backends used since start (a backend that
// ended meanwhile counts nothing).
func (c *serverCPU) used() time.Duration {
	var now time.Duration
	for _, pid := range c.pids {
		now += pidCPU(pid)
	}
	return max(now-c.cpu0, 0)
}

// stop sends SIGTERM and waits for the process to exit (SIGKILL after 30 s).
func (p *hookdProcess) stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("hookd serve (pid %d) exited with %d:\n%s", p.cmd.Process.Pid, code, p.errw.String())
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("hookd serve (pid %d) did not stop within 30s of SIGTERM", p.cmd.Process.Pid)
	}
}
