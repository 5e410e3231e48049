package delivery

import (
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
