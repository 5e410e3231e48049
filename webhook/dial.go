package webhook

import (
	"net"
	"net/netip"
	"syscall"
	"time"

	"github.com/hookd/hookd"
)

// BlockedError is the dial error when the policy refuses the resolved
// address. It reaches Send wrapped in *net.OpError and *url.Error; Send finds
// it with errors.As and classifies the attempt destination_blocked.
type BlockedError struct {
	Address string // what the dialer was about to connect to, "ip:port"
}

func (e *BlockedError) Error() string {
	return "destination " + e.Address + " is a private or reserved address that hookd does not deliver to"
}

// newDialer checks every address at connect time, after DNS resolution, so
// that a name resolving to a private address (or re-resolving to one later)
// is refused too. Happy Eyeballs and multi-address fallbacks dial each
// address through the same hook.
func newDialer(connectTimeout time.Duration, policy hookd.NetPolicy) *net.Dialer {
	return &net.Dialer{
		Timeout:   connectTimeout,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !policy.Permits(ap.Addr()) {
				return &BlockedError{Address: address}
			}
			return nil
		},
	}
}
