package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
)

func runMigrate(ctx context.Context, args, env []string, stderr io.Writer) error {
	c := defaultConfig()
	if _, err := parseFlags("migrate", args, env, stderr, &c, storeFlags); err != nil {
		return err
	}
	log := newLogger(c, stderr)
	if c.DatabaseURL != "" {
		if err := postgres.Migrate(ctx, c.DatabaseURL); err != nil {
			return fmt.Errorf("migrate postgres: %w", err)
		}
		log.Info("migrations applied", "database", "postgres")
		return nil
	}
	st, err := openStore(ctx, c, log) // opening SQLite applies its migrations
	if err != nil {
		return err
	}
	log.Info("migrations applied", "database", describeDatabase(c))
	return st.Close()
}

// withStore parses the flags of an admin command and runs fn on the store.
func withStore(ctx context.Context, name string, args, env []string, stderr io.Writer, extra func(*flag.FlagSet), fn func(st hookd.TenantService, args []string) error) error {
	c := defaultConfig()
	pos, err := parseFlags(name, args, env, stderr, &c, func(fs *flag.FlagSet, c *config) {
		storeFlags(fs, c)
		if extra != nil {
			extra(fs)
		}
	})
	if err != nil {
		return err
	}
	return onStore(ctx, c, stderr, func(st store) error { return fn(tenantsOf(st), pos) })
}

// withAdmin is withStore for the tenant and key commands, which also work
// over a running hookd's operator API with --url and --key.
func withAdmin(ctx context.Context, name string, args, env []string, stderr io.Writer, extra func(*flag.FlagSet), fn func(a tenantAdmin, args []string) error) error {
	c := defaultConfig()
	var base, key string
	pos, err := parseFlags(name, args, env, stderr, &c, func(fs *flag.FlagSet, c *config) {
		storeFlags(fs, c)
		fs.StringVar(&base, "url", "", "a running hookd (http://host:port): work through its API instead of the database")
		fs.StringVar(&key, "key", "", "an operator key (opk_…), with --url")
		if extra != nil {
			extra(fs)
		}
	})
	if err != nil {
		return err
	}
	if base != "" {
		r, err := newRemoteAdmin(base, key)
		if err != nil {
			return err
		}
		return fn(r, pos)
	}
	return onStore(ctx, c, stderr, func(st store) error { return fn(tenantsOf(st), pos) })
}

// onStore opens the store that c names, runs fn on it, and closes it.
func onStore(ctx context.Context, c config, stderr io.Writer, fn func(st store) error) error {
	st, err := openStore(ctx, c, newLogger(c, stderr))
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(st)
}

func runTenant(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("hookd tenant create NAME | hookd tenant list")
	}
	switch args[0] {
	case "create":
		return withAdmin(ctx, "tenant create", args[1:], env, stderr, nil, func(st tenantAdmin, args []string) error {
			if len(args) != 1 {
				return usageErr("hookd tenant create NAME")
			}
			t, err := st.CreateTenant(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created tenant %s (%s)\n", t.Name, t.ID)
			return nil
		})
	case "list":
		return withAdmin(ctx, "tenant list", args[1:], env, stderr, nil, func(st tenantAdmin, _ []string) error {
			ts, err := st.ListTenants(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.UTC().Format(time.RFC3339))
			}
			return tw.Flush()
		})
	}
	return usageErr("unknown tenant command %q (create, list)", args[0])
}

func runKey(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("hookd key create|list|revoke")
	}
	var tenant, mode string
	tenantFlag := func(fs *flag.FlagSet) { fs.StringVar(&tenant, "tenant", "", "tenant name") }
	switch args[0] {
	case "create":
		return withAdmin(ctx, "key create", args[1:], env, stderr, func(fs *flag.FlagSet) {
			tenantFlag(fs)
			fs.StringVar(&mode, "mode", "live", "live or test")
		}, func(st tenantAdmin, _ []string) error {
			if tenant == "" {
				return usageErr("--tenant is required")
			}
			m, err := hookd.ParseMode(mode)
			if err != nil {
				return usageErr("%s", hookd.ErrorMessage(err))
			}
			t, err := st.FindTenantByName(ctx, tenant)
			if err != nil {
				return err
			}
			k, plain, err := st.CreateAPIKey(ctx, t.ID, m)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created %s key %s for tenant %s; it is shown once:\n%s\n", k.Mode, k.ID, t.Name, plain)
			return nil
		})
	case "list":
		return withAdmin(ctx, "key list", args[1:], env, stderr, tenantFlag, func(st tenantAdmin, _ []string) error {
			names, tenantID, err := tenantNames(ctx, st, tenant)
			if err != nil {
				return err
			}
			keys, err := st.ListAPIKeys(ctx, tenantID)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTENANT\tMODE\tPREFIX\tCREATED\tLAST USED\tREVOKED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, names[k.TenantID], k.Mode, k.Prefix, k.CreatedAt.UTC().Format(time.RFC3339),
					timeOrDash(k.LastUsedAt), timeOrDash(k.RevokedAt))
			}
			return tw.Flush()
		})
	case "revoke":
		return withAdmin(ctx, "key revoke", args[1:], env, stderr, tenantFlag, func(st tenantAdmin, args []string) error {
			if len(args) != 1 {
				return usageErr("hookd key revoke [--tenant NAME] KEY_ID")
			}
			revoke := st.RevokeAPIKey
			if tenant != "" {
				t, err := st.FindTenantByName(ctx, tenant)
				if err != nil {
					return err
				}
				revoke = func(ctx context.Context, id string) error { return st.RevokeTenantAPIKey(ctx, t.ID, id) }
			}
			if err := revoke(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "revoked %s\n", args[0])
			return nil
		})
	}
	return usageErr("unknown key command %q (create, list, revoke)", args[0])
}

func runOperatorKey(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageErr("hookd operator-key create|list|revoke")
	}
	var name string
	switch args[0] {
	case "create":
		return withStore(ctx, "operator-key create", args[1:], env, stderr, func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "what the key is for")
		}, func(st hookd.TenantService, _ []string) error {
			k, plain, err := st.CreateOperatorKey(ctx, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "created operator key %s; it is shown once:\n%s\n", k.ID, plain)
			return nil
		})
	case "list":
		return withStore(ctx, "operator-key list", args[1:], env, stderr, nil, func(st hookd.TenantService, _ []string) error {
			keys, err := st.ListOperatorKeys(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tCREATED\tLAST USED\tREVOKED")
			for _, k := range keys {
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, k.CreatedAt.UTC().Format(time.RFC3339),
					timeOrDash(k.LastUsedAt), timeOrDash(k.RevokedAt))
			}
			return tw.Flush()
		})
	case "revoke":
		return withStore(ctx, "operator-key revoke", args[1:], env, stderr, nil, func(st hookd.TenantService, args []string) error {
			if len(args) != 1 {
				return usageErr("hookd operator-key revoke KEY_ID")
			}
			if err := st.RevokeOperatorKey(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "revoked %s\n", args[0])
			return nil
		})
	}
	return usageErr("unknown operator-key command %q (create, list, revoke)", args[0])
}

// timeOrDash is t in RFC 3339, or "-".
func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// tenantNames maps tenant ids to names, and resolves name to an id ("" = all).
func tenantNames(ctx context.Context, st tenantAdmin, name string) (map[string]string, string, error) {
	ts, err := st.ListTenants(ctx)
	if err != nil {
		return nil, "", err
	}
	names := map[string]string{}
	id := ""
	for _, t := range ts {
		names[t.ID] = t.Name
		if t.Name == name {
			id = t.ID
		}
	}
	if name != "" && id == "" {
		return nil, "", hookd.Errorf(hookd.ENOTFOUND, "tenant %q not found", name)
	}
	return names, id, nil
}
