package main

import (
	"flag"
	"strings"
)

// portalFlags are serve's flags for the customer portal and the dashboard.
func portalFlags(fs *flag.FlagSet, c *config) {
	fs.Func("portal-frame-ancestors", "comma-separated origins allowed to embed the customer portal in a frame, e.g. https://app.example.com (repeatable; default: none but hookd's own)", func(s string) error {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				c.PortalFrameAncestors = append(c.PortalFrameAncestors, part)
			}
		}
		return nil
	})
	fs.DurationVar(&c.PortalSessionTTL, "portal-session-ttl", c.PortalSessionTTL, "how long a portal or dashboard session lasts (1m to 24h)")
}
