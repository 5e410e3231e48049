package main

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// sinks are the bench's loopback receivers: `servers` net/http servers, each
// answering for the webhooks (sinks) routed to it by path /s/{sink}. A sink
// is what a webhook points at, so that 10,000 webhooks need not mean 10,000
// listening sockets. They record, per sink, which events arrived (a bitset
// over the event's seq, so a million receipts cost 125 KB, not a map) and the
// publish-to-receipt latency of every receipt in the measured window.
type sinks struct {
	servers []*http.Server
	addrs   []string
	n       int // sinks

	// failShare of the events fail their first attempt with a 500 at each
	// sink; slowShare of the requests wait slowDelay before answering.
	failShare, slowShare float64
	slowDelay            time.Duration
	// hung sinks hold every request until the client gives up.
	hung map[int]bool
	// delay holds, per sink, how long it takes to answer every request.
	delay map[int]time.Duration
	// untimed sinks' receipts are not in latencies.
	untimed map[int]bool

	sets      []sinkSet
	received  atomic.Int64 // unique 2xx receipts
	dupes     atomic.Int64 // receipts of an event already received at that sink
	failed    atomic.Int64 // requests answered 500 on purpose
	requests  atomic.Int64 // every request, hung ones included
	window    atomic.Bool  // recording latencies
	inWindow  atomic.Int64 // unique receipts while window was on
	latencies histogram
	// Receipts of events due before warmUntil (Unix ns) go to warming, not
	// latencies: a scenario's first second, measured apart.
	warmUntil atomic.Int64
	warming   histogram
	// slow, when set, places the measured receipts' tail in time.
	slow *slowSeconds

	bufs sync.Pool
}

// sinkSet is the receipts of one sink.
type sinkSet struct {
	mu    sync.Mutex
	got   []uint64 // bit seq: answered 2xx
	tried []uint64 // bit seq: seen once (for first-attempt failures)
	count int64
}

func setBit(b *[]uint64, i int) (was bool) {
	w := i >> 6
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b)+len(*b)/2)...)
	}
	m := uint64(1) << (i & 63)
	was = (*b)[w]&m != 0
	(*b)[w] |= m
	return was
}

type sinkOptions struct {
	servers              int
	sinks                int
	failShare, slowShare float64
	slowDelay            time.Duration
	hung                 []int
	delay                map[int]time.Duration
	untimed              []int
}

func startSinks(o sinkOptions) (*sinks, error) {
	s := &sinks{
		n: o.sinks, failShare: o.failShare, slowShare: o.slowShare, slowDelay: o.slowDelay,
		hung: map[int]bool{}, sets: make([]sinkSet, o.sinks), delay: o.delay, untimed: map[int]bool{},
	}
	for _, h := range o.hung {
		s.hung[h] = true
	}
	for _, u := range o.untimed {
		s.untimed[u] = true
	}
	s.bufs.New = func() any { b := make([]byte, 0, 4096); return &b }
	for range o.servers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.close()
			return nil, fmt.Errorf("receiver: %w", err)
		}
		srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}
		s.servers = append(s.servers, srv)
		s.addrs = append(s.addrs, ln.Addr().String())
		go func() { _ = srv.Serve(ln) }()
	}
	return s, nil
}

// url is where sink i receives: sinks are spread over the servers.
func (s *sinks) url(i int) string {
	return "http://" + s.addrs[i%len(s.addrs)] + "/s/" + strconv.Itoa(i)
}

// close closes the listeners and every connection at once: Shutdown would
// wait five seconds for the connections a client opened but never used.
func (s *sinks) close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
}

// ServeHTTP receives one delivery.
func (s *sinks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	s.requests.Add(1)
	sink, err := strconv.Atoi(r.URL.Path[min(len(r.URL.Path), 3):])
	if err != nil || sink < 0 || sink >= s.n {
		http.Error(w, "no such sink", http.StatusNotFound)
		return
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := bytes.NewBuffer((*bp)[:0])
	_, err = buf.ReadFrom(r.Body)
	*bp = buf.Bytes()[:0]
	if err != nil {
		return
	}
	if s.hung[sink] {
		<-r.Context().Done()
		return
	}
	body := buf.Bytes()
	seq, ok1 := intField(body, `"seq":`)
	sent, ok2 := intField(body, `"sent_ns":`)
	if !ok1 || !ok2 || seq < 0 {
		http.Error(w, "body without seq and sent_ns", http.StatusBadRequest)
		return
	}
	if s.slowShare > 0 && share(seq, sink, 1) < s.slowShare {
		time.Sleep(s.slowDelay)
		now = time.Now()
	}
	if d := s.delay[sink]; d > 0 {
		time.Sleep(d)
		now = time.Now()
	}
	set := &s.sets[sink]
	set.mu.Lock()
	if s.failShare > 0 && !setBit(&set.tried, int(seq)) && share(seq, sink, 2) < s.failShare {
		set.mu.Unlock()
		s.failed.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	dup := setBit(&set.got, int(seq))
	if !dup {
		set.count++
	}
	set.mu.Unlock()
	if dup {
		s.dupes.Add(1)
	} else {
		s.received.Add(1)
		if s.window.Load() && !s.untimed[sink] {
			s.inWindow.Add(1)
			if sent < s.warmUntil.Load() {
				s.warming.record(now.Sub(time.Unix(0, sent)))
			} else {
				s.latencies.record(now.Sub(time.Unix(0, sent)))
				s.slow.record(time.Unix(0, sent), now.Sub(time.Unix(0, sent)))
			}
		}
	}
	w.WriteHeader(http.StatusOK)
}

// share maps (seq, sink) to [0, 1) deterministically, so that which requests
// fail or are slow does not depend on timing.
func share(seq int64, sink, salt int) float64 {
	h := uint64(seq)*0x9e3779b97f4a7c15 ^ uint64(sink)*0xbf58476d1ce4e5b9 ^ uint64(salt)*0x94d049bb133111eb
	h ^= h >> 31
	h *= 0xd6e8feb86659fd3b
	h ^= h >> 32
	return float64(h>>11) / (1 << 53)
}

// intField reads the integer after key in a JSON body without decoding it:
// the receivers share the CPU with hookd and must stay cheap.
func intField(body []byte, key string) (int64, bool) {
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := body[i+len(key):]
	j := 0
	for j < len(rest) && (rest[j] == '-' || '0' <= rest[j] && rest[j] <= '9') {
		j++
	}
	v, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return v, err == nil
}

// missing counts the events in [0, events) that sink has not received, over
// the given sinks.
func (s *sinks) missing(sinkIDs []int, events int) int {
	n := 0
	for _, i := range sinkIDs {
		set := &s.sets[i]
		set.mu.Lock()
		n += events - int(set.count)
		set.mu.Unlock()
	}
	return n
}

// countOf returns how many unique events the given sinks received.
func (s *sinks) countOf(sinkIDs []int) int64 {
	var n int64
	for _, i := range sinkIDs {
		set := &s.sets[i]
		set.mu.Lock()
		n += set.count
		set.mu.Unlock()
	}
	return n
}

// histogram is a log-linear latency histogram (256 sub-buckets per power of
// two: under 0.4 % error), safe for concurrent use without locks.
type histogram struct {
	counts [40 * 256]atomic.Int64
	max    atomic.Int64
}

const histSubBits = 8

func histBucket(v uint64) int {
	e := bits.Len64(v) - histSubBits - 1
	if e < 0 {
		e = 0
	}
	return e<<histSubBits + int(v>>e)
}

// histValue is the lower bound of bucket i.
func histValue(i int) int64 {
	if i < 2<<histSubBits {
		return int64(i)
	}
	e := i>>histSubBits - 1
	return int64(i-e<<histSubBits) << e
}

// reset forgets every value; nothing may record meanwhile.
func (h *histogram) reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.max.Store(0)
}

func (h *histogram) record(d time.Duration) {
	v := max(int64(d), 0)
	i := min(histBucket(uint64(v)), len(h.counts)-1)
	h.counts[i].Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// quantile returns the q-quantile (0 < q <= 1), or 0 with no samples.
func (h *histogram) quantile(q float64) time.Duration {
	var total int64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	if total == 0 {
		return 0
	}
	rank := int64(q*float64(total) + 0.5)
	rank = min(max(rank, 1), total)
	var seen int64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return time.Duration(histValue(i))
		}
	}
	return time.Duration(h.max.Load())
}

// drain reads and discards a response body so that the connection is reused.
func drain(r io.ReadCloser) {
	_, _ = io.Copy(io.Discard, r)
	r.Close()
}

// slowSeconds counts, by the wall-clock second their events were due,
// the latencies over a threshold and the largest of them: where in a run
// its tail was, to set beside the server's and the system's logs.
type slowSeconds struct {
	over time.Duration
	mu   sync.Mutex
	secs map[int64]*slowSecond
}

type slowSecond struct {
	n   int64
	max time.Duration
}

func newSlowSeconds(over time.Duration) *slowSeconds {
	return &slowSeconds{over: over, secs: map[int64]*slowSecond{}}
}

// record notes d, the latency of an event due at due, if it is over the
// threshold; a nil slowSeconds records nothing.
func (s *slowSeconds) record(due time.Time, d time.Duration) {
	if s == nil || d <= s.over {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sec := s.secs[due.Unix()]
	if sec == nil {
		sec = &slowSecond{}
		s.secs[due.Unix()] = sec
	}
	sec.n++
	sec.max = max(sec.max, d)
}

// seconds is how many seconds had a latency over the threshold.
func (s *slowSeconds) seconds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.secs)
}

// String lists the seconds in order, "15:04:05 n (max m ms)", at most
// the limit with the most latencies over the threshold.
func (s *slowSeconds) String() string {
	const limit = 12
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]int64, 0, len(s.secs))
	for k := range s.secs {
		keys = append(keys, k)
	}
	if len(keys) > limit {
		slices.SortFunc(keys, func(a, b int64) int { return cmp.Compare(s.secs[b].n, s.secs[a].n) })
		keys = keys[:limit]
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		sec := s.secs[k]
		parts[i] = fmt.Sprintf("%s %d (max %.0f ms)", time.Unix(k, 0).UTC().Format("15:04:05"), sec.n, millis(sec.max))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
