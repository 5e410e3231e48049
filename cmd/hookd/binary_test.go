package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/postgres/pgtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// hookdBinary builds the real binary once per test run, with the test
// binary's own settings so that the build cache serves it.
func hookdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "hookd-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "hookd")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		cmd := exec.Command("go", append(args, ".")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build hookd: %v\n%s", buildErr, binPath)
	}
	return binPath
}

// process is the real binary running `hookd serve`.
type process struct {
	cmd    *exec.Cmd
	base   string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{}
}

// startProcess runs `hookd serve` on a free port with the given data dir
// and extra flags and waits until it listens. It is killed when the test ends.
func startProcess(t *testing.T, dataDir string, extra ...string) *process {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dataDir}, extra...)
	p := &process{cmd: exec.Command(hookdBinary(t), args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listenRE.FindStringSubmatch(p.stderr.String()); m != nil {
			p.base = "http://" + m[1]
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("hookd exited before listening:\n%s", p.stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("hookd did not listen within 30s:\n%s", p.stderr.String())
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// keys returns the live and test keys printed on the first start.
func (p *process) keys(t *testing.T) (live, test string) {
	t.Helper()
	for _, m := range keyRE.FindAllStringSubmatch(p.stdout.String(), -1) {
		if m[1] == "live" {
			live = m[2]
		} else {
			test = m[2]
		}
	}
	if live == "" || test == "" {
		t.Fatalf("no keys printed: %q", p.stdout.String())
	}
	return live, test
}
