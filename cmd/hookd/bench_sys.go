package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// resourceUse measures this process over a scenario: CPU seconds (user + system,
// from getrusage) and peak RSS. The peak is VmHWM after resetting it through
// /proc/self/clear_refs, or else the highest VmRSS sampled every 50 ms.
type resourceUse struct {
	cpu0    time.Duration
	hwmOK   bool
	mu      sync.Mutex
	sampled int64
	stop    chan struct{}
	done    chan struct{}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startUsage frees what earlier scenarios left on the heap, resets the peak
// and starts sampling.
func startUsage() *resourceUse {
	runtime.GC()
	debug.FreeOSMemory()
	u := &resourceUse{cpu0: cpuTime(), stop: make(chan struct{}), done: make(chan struct{})}
	u.hwmOK = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	go func() {
		defer close(u.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if rss, ok := procStatus("VmRSS"); ok {
				u.mu.Lock()
				u.sampled = max(u.sampled, rss)
				u.mu.Unlock()
			}
			select {
			case <-u.stop:
				return
			case <-t.C:
			}
		}
	}()
	return u
}

// end returns the CPU seconds used since start and the peak RSS in bytes.
func (u *resourceUse) end() (cpu time.Duration, peak int64) {
	close(u.stop)
	<-u.done
	cpu = cpuTime() - u.cpu0
	u.mu.Lock()
	peak = u.sampled
	u.mu.Unlock()
	if u.hwmOK {
		if hwm, ok := procStatus("VmHWM"); ok {
			peak = max(peak, hwm)
		}
	}
	return cpu, peak
}

// procStatus reads a "kB" field of /proc/self/status, in bytes.
func procStatus(field string) (int64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		return n << 10, err == nil
	}
	return 0, false
}

// progressLine prints status() every half second while a scenario runs: on
// one rewritten line at a terminal, else once every five seconds.
func progressLine(w io.Writer, name string, status func() string) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	start := time.Now()
	go func() {
		defer close(done)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		n := 0
		for {
			select {
			case <-ctx.Done():
				if tty {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-t.C:
			}
			n++
			line := fmt.Sprintf("[%s %5.1fs] %s", name, time.Since(start).Seconds(), status())
			switch {
			case tty:
				fmt.Fprint(w, "\r\033[K"+line)
			case n%10 == 0:
				fmt.Fprintln(w, line)
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
