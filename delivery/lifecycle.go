package delivery

import (
	"context"
	"sync"

	"github.com/hookd/hookd"
)

// lifecycle gives the background services their shared shape: Start once,
// Stop safe twice, before Start, and from several goroutines (later callers
// wait for the first one to finish).
type lifecycle struct {
	mu      sync.Mutex
	started bool
	stopped bool
	once    sync.Once
}

func (l *lifecycle) start(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return hookd.Errorf(hookd.EUNAVAILABLE, "%s was stopped and cannot start again", name)
	}
	if l.started {
		return hookd.Errorf(hookd.ECONFLICT, "%s is already started", name)
	}
	l.started = true
	return nil
}

// stop runs shutdown once, only if the service was started.
func (l *lifecycle) stop(shutdown func()) {
	l.once.Do(func() {
		l.mu.Lock()
		l.stopped = true
		running := l.started
		l.mu.Unlock()
		if running {
			shutdown()
		}
	})
}

// loopService is a lifecycle whose work is one goroutine that runs until
// its context ends: Stop cancels it and waits.
type loopService struct {
	life   lifecycle
	cancel context.CancelFunc
	done   chan struct{}
}

// run starts loop in its own goroutine, once.
func (s *loopService) run(ctx context.Context, name string, loop func(ctx context.Context)) error {
	if err := s.life.start(name); err != nil {
		return err
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		loop(ctx)
	}()
	return nil
}

// Stop ends the loop and waits for it; safe before Start and twice.
func (s *loopService) Stop() {
	s.life.stop(func() {
		s.cancel()
		<-s.done
	})
}
