package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd"
)

// benchConfig is what `hookd bench` reads from its flags.
type benchConfig struct {
	Scenarios   []string
	Runs        int
	Smoke       bool
	Target      string
	Key         string
	AsOperator  bool
	DatabaseURL string
	Out         string
	CPUProfile  string
	MemProfile  string
	WorkDir     string

	Duration        time.Duration // baseline, throughput, isolation
	Publishers      int
	Webhooks        int
	BodySize        int
	BaselineConns   int
	LatencyRate     int
	LatencyDuration time.Duration
	FanoutWebhooks  int
	BacklogEvents   int
	GrowthIdle      time.Duration
	GrowthRate      int
	GrowthPhase     time.Duration
	GrowthAnalyze   bool
	BatchTenants    int
	CrowdTenants    int
	CrowdWebhooks   int
	CrowdRounds     int
	Instances       []int
	HookdBinary     string
	FailShare       float64
	SlowShare       float64
	SlowDelay       time.Duration
	// neighbours: a big tenant's backlog beside tenants publishing.
	NeighbourBacklog  int
	NeighbourTenants  int
	NeighbourRate     int
	NeighbourDuration time.Duration
	ServeFlags        []string
	API               string // "v1" or "svix": which API throughput and isolation publish through
}

var benchScenarios = []string{"baseline", "throughput", "latency", "fanout", "isolation", "backlog", "growth", "tenants", "neighbours", "crowd", "instances"}

func defaultBenchConfig() benchConfig {
	return benchConfig{
		Scenarios: benchScenarios, Runs: 1,
		Duration: 10 * time.Second, Publishers: 64, Webhooks: 10, BodySize: 1024, BaselineConns: 64,
		LatencyRate: 1000, LatencyDuration: 30 * time.Second, FanoutWebhooks: 10000, BacklogEvents: 100000,
		GrowthIdle: 10 * time.Second, GrowthRate: 100, GrowthPhase: 20 * time.Second, GrowthAnalyze: true,
		SlowDelay: 50 * time.Millisecond, BatchTenants: 1000, API: "v1",
		NeighbourBacklog: 1_000_000, NeighbourTenants: 10, NeighbourRate: 100, NeighbourDuration: 10 * time.Second,
		CrowdTenants: 100000, CrowdWebhooks: 10, CrowdRounds: 3, Instances: []int{1, 2, 3},
	}
}

// smoke shrinks every scenario so that all of them run in a few seconds.
func (c *benchConfig) smoke() {
	c.Duration = 500 * time.Millisecond
	c.Publishers = 8
	c.BaselineConns = 8
	c.LatencyRate = 200
	c.LatencyDuration = time.Second
	c.FanoutWebhooks = 100
	c.BacklogEvents = 500
	c.GrowthIdle = 200 * time.Millisecond
	c.GrowthPhase = 500 * time.Millisecond
	c.BatchTenants = 20
	c.NeighbourBacklog = 5000
	c.NeighbourRate = 20
	c.NeighbourDuration = time.Second
	c.CrowdTenants = 200
	c.CrowdRounds = 1
	c.Runs = 1
}

func (c *benchConfig) validate() error {
	var errs []error
	for _, s := range c.Scenarios {
		if !slices.Contains(benchScenarios, s) {
			errs = append(errs, fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(benchScenarios, ", ")))
		}
	}
	if (c.Target == "") != (c.Key == "") {
		errs = append(errs, errors.New("--target and --key go together"))
	}
	if c.Target != "" && c.DatabaseURL != "" {
		errs = append(errs, errors.New("--database-url is for an in-process hookd; a --target chooses its own database"))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"--runs", c.Runs}, {"--publishers", c.Publishers}, {"--webhooks", c.Webhooks}, {"--baseline-conns", c.BaselineConns},
		{"--latency-rate", c.LatencyRate}, {"--fanout-webhooks", c.FanoutWebhooks}, {"--backlog-events", c.BacklogEvents},
		{"--growth-rate", c.GrowthRate}, {"--neighbour-backlog", c.NeighbourBacklog}, {"--neighbour-tenants", c.NeighbourTenants},
		{"--neighbour-rate", c.NeighbourRate},
		{"--crowd-tenants", c.CrowdTenants}, {"--crowd-webhooks", c.CrowdWebhooks},
		{"--crowd-rounds", c.CrowdRounds}} {
		if f.v < 1 {
			errs = append(errs, fmt.Errorf("%s must be at least 1, got %d", f.name, f.v))
		}
	}
	if len(c.Instances) == 0 {
		errs = append(errs, errors.New("--instances needs at least one count"))
	}
	for _, n := range c.Instances {
		if n < 1 || n > 16 {
			errs = append(errs, fmt.Errorf("--instances: each count must be between 1 and 16, got %d", n))
		}
	}
	if c.Webhooks < 2 && slices.Contains(c.Scenarios, "isolation") {
		errs = append(errs, errors.New("isolation needs --webhooks of at least 2"))
	}
	if !slices.Contains(benchAPIs, c.API) {
		errs = append(errs, fmt.Errorf("--api must be one of %s, got %q", strings.Join(benchAPIs, ", "), c.API))
	}
	for _, s := range c.Scenarios {
		if c.API == "svix" && s != "baseline" && !slices.Contains(svixScenarios, s) {
			errs = append(errs, fmt.Errorf("--api svix measures %s only (and baseline, which no API touches), not %s", strings.Join(svixScenarios, " and "), s))
		}
	}
	if c.API == "svix" && c.AsOperator {
		errs = append(errs, errors.New("--as-operator is for --api v1; --api svix always uses the operator key"))
	}
	if c.Duration <= 0 || c.LatencyDuration <= 0 || c.GrowthPhase <= 0 || c.NeighbourDuration <= 0 {
		errs = append(errs, errors.New("--duration, --latency-duration, --growth-phase and --neighbour-duration must be positive"))
	}
	if c.GrowthIdle < 0 {
		errs = append(errs, errors.New("--growth-idle must not be negative"))
	}
	if c.FailShare < 0 || c.FailShare >= 1 || c.SlowShare < 0 || c.SlowShare > 1 {
		errs = append(errs, errors.New("--fail-share must be in [0, 1) and --slow-share in [0, 1]"))
	}
	if c.BodySize < 128 || c.BodySize > hookd.MaxEventBytes/2 {
		errs = append(errs, fmt.Errorf("--body-size must be between 128 and %d", hookd.MaxEventBytes/2))
	}
	return errors.Join(errs...)
}

func benchFlags(fs *flag.FlagSet, c *benchConfig) {
	fs.Func("scenarios", "comma-separated scenarios to run (default all: "+strings.Join(benchScenarios, ",")+")", func(s string) error {
		c.Scenarios = nil
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.Scenarios = append(c.Scenarios, p)
			}
		}
		return nil
	})
	fs.IntVar(&c.Runs, "runs", c.Runs, "run each scenario this many times and report the median")
	fs.BoolVar(&c.Smoke, "smoke", c.Smoke, "every scenario at tiny sizes (a few seconds); exit 1 if one does not deliver everything")
	fs.StringVar(&c.Target, "target", c.Target, "measure a running hookd at this base URL instead of one started in-process")
	fs.StringVar(&c.Key, "key", c.Key, "a live API key of the --target hookd (an operator key with --api svix)")
	fs.StringVar(&c.API, "api", c.API, "publish and make webhooks through this API: v1, or svix (Svix's API v1, throughput and isolation)")
	fs.BoolVar(&c.AsOperator, "as-operator", c.AsOperator, "in-process hookd: publish and make webhooks with its operator key, acting as its tenant (Hookd-Tenant), not the tenant's own key")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "run the in-process hookd on this PostgreSQL server (postgres://…) instead of SQLite: each scenario on a fresh database it creates and drops (the role needs CREATEDB)")
	fs.StringVar(&c.Out, "out", c.Out, "write the results as JSON to this file")
	fs.StringVar(&c.CPUProfile, "cpuprofile", c.CPUProfile, "write a CPU profile of the whole run (bench and in-process hookd) to this file")
	fs.StringVar(&c.MemProfile, "memprofile", c.MemProfile, "write an allocation profile of the whole run (go tool pprof -sample_index=alloc_space) to this file")
	fs.StringVar(&c.WorkDir, "work-dir", c.WorkDir, "where the in-process hookd's data dirs go (default: a temporary directory)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "how long baseline, throughput and isolation publish")
	fs.IntVar(&c.Publishers, "publishers", c.Publishers, "concurrent publishers (keep-alive connections)")
	fs.IntVar(&c.Webhooks, "webhooks", c.Webhooks, "webhooks (each its own receiver) every event fans out to")
	fs.IntVar(&c.BodySize, "body-size", c.BodySize, "bytes of each published event")
	fs.IntVar(&c.BaselineConns, "baseline-conns", c.BaselineConns, "concurrent requests of the baseline client")
	fs.IntVar(&c.LatencyRate, "latency-rate", c.LatencyRate, "events per second of the latency scenario")
	fs.DurationVar(&c.LatencyDuration, "latency-duration", c.LatencyDuration, "how long the latency scenario publishes")
	fs.IntVar(&c.FanoutWebhooks, "fanout-webhooks", c.FanoutWebhooks, "webhooks of the fanout scenario")
	fs.IntVar(&c.BacklogEvents, "backlog-events", c.BacklogEvents, "events queued by the backlog scenario (times --webhooks deliveries)")
	fs.DurationVar(&c.GrowthIdle, "growth-idle", c.GrowthIdle, "how long growth's fresh hookd idles, the CPUs kept busy, before publishing")
	fs.IntVar(&c.GrowthRate, "growth-rate", c.GrowthRate, "events per second of growth's slow phase")
	fs.DurationVar(&c.GrowthPhase, "growth-phase", c.GrowthPhase, "how long each of growth's phases publishes (slow, then --publishers at full speed)")
	fs.IntVar(&c.BatchTenants, "batch-tenants", c.BatchTenants, "tenants of the tenants scenario, each with one webhook, published for in batches of 100")
	fs.IntVar(&c.CrowdTenants, "crowd-tenants", c.CrowdTenants, "other tenants in the crowd scenario's store")
	fs.IntVar(&c.CrowdWebhooks, "crowd-webhooks", c.CrowdWebhooks, "webhooks of each of the crowd's tenants")
	fs.IntVar(&c.CrowdRounds, "crowd-rounds", c.CrowdRounds, "rounds of the crowd scenario, each publishing to the one-tenant store and to the crowd's")
	fs.Func("instances", "comma-separated counts of `hookd serve` processes the instances scenario runs on one PostgreSQL (default 1,2,3)", func(s string) error {
		c.Instances = nil
		for _, p := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(p))
			if err != nil {
				return fmt.Errorf("not a count: %q", p)
			}
			c.Instances = append(c.Instances, n)
		}
		return nil
	})
	fs.StringVar(&c.HookdBinary, "hookd-binary", c.HookdBinary, "the hookd binary the instances scenario starts (default: this one)")
	fs.BoolVar(&c.GrowthAnalyze, "growth-analyze", c.GrowthAnalyze, "on PostgreSQL, ANALYZE the fresh database halfway through growth's slow phase, as autovacuum may")
	fs.Float64Var(&c.FailShare, "fail-share", c.FailShare, "share of deliveries whose first attempt the receivers answer 500")
	fs.Float64Var(&c.SlowShare, "slow-share", c.SlowShare, "share of requests the receivers answer only after --slow-delay")
	fs.DurationVar(&c.SlowDelay, "slow-delay", c.SlowDelay, "delay of the slow requests")
	fs.IntVar(&c.NeighbourBacklog, "neighbour-backlog", c.NeighbourBacklog, "deliveries queued for neighbours' big tenant, whose receiver answers in --slow-delay")
	fs.IntVar(&c.NeighbourTenants, "neighbour-tenants", c.NeighbourTenants, "tenants of the neighbours scenario publishing beside the big one")
	fs.IntVar(&c.NeighbourRate, "neighbour-rate", c.NeighbourRate, "events per second each of neighbours' tenants publishes")
	fs.DurationVar(&c.NeighbourDuration, "neighbour-duration", c.NeighbourDuration, "how long neighbours measures, with the big tenant idle and then busy")
	fs.Func("serve-flag", "a flag passed to the in-process `hookd serve` (repeatable), e.g. --serve-flag=--concurrency=512", func(s string) error {
		c.ServeFlags = append(c.ServeFlags, s)
		return nil
	})
}

// metric is one measured value. Ratio is its share of the baseline's
// delivered/s, for the rates that compare with it.
type metric struct {
	Scenario string   `json:"scenario"`
	Name     string   `json:"metric"`
	Value    float64  `json:"value"`
	Unit     string   `json:"unit"`
	Ratio    *float64 `json:"ratio_to_baseline,omitempty"`
}

// benchReport is the JSON that --out writes.
type benchReport struct {
	Time      time.Time `json:"time"`
	Version   string    `json:"version"`
	GoVersion string    `json:"go_version"`
	CPUs      int       `json:"cpus"`
	Database  string    `json:"database"`
	Target    string    `json:"target,omitempty"`
	Runs      int       `json:"runs"`
	Config    any       `json:"config"`
	Results   []metric  `json:"results"`
	Failures  []string  `json:"failures,omitempty"`
}

func runBench(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	c := defaultBenchConfig()
	fs := flag.NewFlagSet("hookd bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	benchFlags(fs, &c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return usageErr("bench takes no arguments, got %q", fs.Args())
	}
	if err := applyEnv(fs, env); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.Smoke {
		c.smoke()
	}
	if err := c.validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if c.MemProfile != "" {
		defer func() {
			if err := writeHeapProfile(c.MemProfile); err != nil {
				fmt.Fprintf(stderr, "memory profile: %v\n", err)
			}
		}()
	}
	if c.WorkDir == "" && c.Target == "" {
		dir, err := os.MkdirTemp("", "hookd-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.WorkDir = dir
	}

	b := &bencher{cfg: c, log: stderr}
	order := slices.DeleteFunc(slices.Clone(benchScenarios), func(s string) bool { return !slices.Contains(c.Scenarios, s) })
	all := map[string][][]metric{} // scenario → runs → metrics
	var failures []string
	for run := range c.Runs {
		for _, name := range order {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(stderr, "--- %s (run %d of %d)\n", name, run+1, c.Runs)
			start := time.Now()
			ms, err := b.run(ctx, name)
			if err != nil {
				failures = append(failures, fmt.Sprintf("%s (run %d): %v", name, run+1, err))
				fmt.Fprintf(stderr, "FAIL %s: %v\n", name, err)
				continue
			}
			all[name] = append(all[name], ms)
			fmt.Fprintf(stderr, "    done in %.1fs\n", time.Since(start).Seconds())
		}
	}
	results := medians(order, all)
	results = withRatios(results)

	printTable(stdout, results)
	rep := benchReport{
		Time: time.Now().UTC(), Version: hookd.Version, GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
		Database: "sqlite", Target: c.Target, Runs: c.Runs, Config: c, Results: results, Failures: failures,
	}
	if c.DatabaseURL != "" {
		rep.Database = "postgres"
	}
	if c.Target != "" {
		rep.Database = "target's"
	}
	if c.Out != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(c.Out, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", c.Out, err)
		}
	}
	if len(failures) > 0 {
		return fmt.Errorf("%d scenario run(s) failed:\n  %s", len(failures), strings.Join(failures, "\n  "))
	}
	return nil
}

// medians reduces the runs of each scenario to the median of each metric.
func medians(order []string, all map[string][][]metric) []metric {
	var out []metric
	for _, name := range order {
		runs := all[name]
		if len(runs) == 0 {
			continue
		}
		for i, m := range runs[0] {
			var vs []float64
			for _, r := range runs {
				if i < len(r) && r[i].Name == m.Name {
					vs = append(vs, r[i].Value)
				}
			}
			m.Value = median(vs)
			out = append(out, m)
		}
	}
	return out
}

// withRatios sets each delivery rate's share of the baseline's, and adds
// what the isolation scenario is about: its healthy webhooks' rate and p99
// against the throughput scenario's, per webhook.
func withRatios(ms []metric) []metric {
	find := func(scenario, name string) (float64, bool) {
		for _, m := range ms {
			if m.Scenario == scenario && m.Name == name {
				return m.Value, true
			}
		}
		return 0, false
	}
	if base, ok := find("baseline", "delivered/s"); ok && base > 0 {
		for i := range ms {
			if ms[i].Unit == "deliveries/s" {
				r := ms[i].Value / base
				ms[i].Ratio = &r
			}
		}
	}
	tpRate, ok1 := find("throughput", "delivered/s per webhook")
	isoRate, ok2 := find("isolation", "healthy delivered/s per webhook")
	if ok1 && ok2 && tpRate > 0 {
		ms = append(ms, metric{Scenario: "isolation", Name: "healthy rate vs throughput", Value: 100 * isoRate / tpRate, Unit: "%"})
	}
	tpP99, ok1 := find("throughput", "latency p99")
	isoP99, ok2 := find("isolation", "healthy latency p99")
	if ok1 && ok2 && tpP99 > 0 {
		ms = append(ms, metric{Scenario: "isolation", Name: "healthy p99 vs throughput", Value: 100 * isoP99 / tpP99, Unit: "%"})
	}
	return ms
}

func printTable(w io.Writer, ms []metric) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmetric\tvalue\tunit\tvs baseline\t")
	for _, m := range ms {
		ratio := ""
		if m.Ratio != nil {
			ratio = fmt.Sprintf("%.1f %%", 100**m.Ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", m.Scenario, m.Name, formatValue(m.Value), m.Unit, ratio)
	}
	tw.Flush()
}

func formatValue(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e15:
		return fmt.Sprintf("%d", int64(v))
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

// writeHeapProfile writes the allocations sampled since the process started
// (at the default MemProfileRate) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC() // the profile's in-use figures are as of the last GC
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
