//go:build unix && !aix

package webhook

import "syscall"

// peekClosed looks at a socket without blocking and without taking what it
// finds: it reports whether the peer closed it (end of stream), reset it
// (an error), or sent something unasked (a byte is waiting). All three make
// a kept-alive connection unfit for the next request.
func peekClosed(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	switch err {
	case syscall.EAGAIN, syscall.EINTR: // nothing to read: open and quiet
		return false
	}
	return true
}
