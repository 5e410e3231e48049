package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/hookd/hookd"
)

// lockFile creates path if needed and takes an exclusive advisory lock on
// it without waiting. The kernel drops the lock when the process ends,
// however it ends, so a crash leaves nothing to clean up.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, hookd.Errorf(hookd.ECONFLICT, "another process serves this database (it holds %s)", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// unlockFile releases a lock taken by lockFile; nil is no lock.
func unlockFile(f *os.File) error {
	if f == nil {
		return nil
	}
	return f.Close() // closing the descriptor releases the flock
}
