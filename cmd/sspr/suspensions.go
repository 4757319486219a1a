package main

// `sspr suspensions show` and `lift`: the pause of self-service reset that
// failed verifications put on an account. With store.redis the commands
// act on Redis directly; with the in-process store, through the admin
// socket of the running sspr serve.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr-project/sspr/flow"
)

func (c *cli) suspensionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suspensions",
		Short: "Show or lift the suspension of an account's self-service reset",
		Long: `Show or lift the suspension that failed verifications put on an account's
self-service reset (limits.failures, limits.suspension). With store.redis,
the commands act on Redis; with the in-process store, on the running
sspr serve through its admin socket (admin.socket), as root or the
server's user. Lifting also forgets the account's failure counts and is
recorded in the audit trail (step lift_suspension, with the agent).

The store names accounts by keyed hashes only, so it cannot list who is
suspended: the audit trail does (step suspend, result held).`,
		Args: usageArgs(cobra.NoArgs, ""),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("suspensions: name a command: show or lift")}
		},
	}
	var agent string
	lift := &cobra.Command{
		Use:   "lift LOGIN",
		Short: "Lift LOGIN's suspension and forget its failure counts",
		Args:  usageArgs(cobra.ExactArgs(1), "suspensions lift: give one LOGIN"),
		RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
			return suspensionsLift(cfg, args[0], agentName(agent), c.stdout)
		}),
	}
	lift.Flags().StringVar(&agent, "agent", "", "who lifts it, for the audit trail (`NAME`; the Unix user is recorded too)")
	cmd.AddCommand(lift, &cobra.Command{
		Use:   "show LOGIN",
		Short: "Say whether LOGIN's self-service reset is suspended, and for how long",
		Args:  usageArgs(cobra.ExactArgs(1), "suspensions show: give one LOGIN"),
		RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
			return suspensionsShow(cfg, args[0], c.stdout)
		}),
	})
	return cmd
}

// unixUser is who runs the command: the user sudo was run by, when it was.
func unixUser() string {
	by := "uid " + strconv.Itoa(os.Getuid())
	if u, err := user.Current(); err == nil {
		by = u.Username
	}
	if s := os.Getenv("SUDO_USER"); s != "" && os.Geteuid() == 0 {
		by = flow.Sanitize(s, 64) + " (sudo)"
	}
	return by
}

// agentName is the agent recorded in the audit trail: --agent with the
// Unix user, or the Unix user alone.
func agentName(flag string) string {
	if flag = flow.Sanitize(flag, 64); flag != "" {
		return flag + " (" + unixUser() + ")"
	}
	return unixUser()
}

func suspensionsLift(cfg *Config, login, agent string, stdout io.Writer) error {
	return withAdmin(cfg, "suspensions lift", func(ctx context.Context, k adminEngine) error {
		lifted, err := k.LiftSuspension(ctx, login, agent)
		if err != nil {
			return err
		}
		if lifted {
			fmt.Fprintf(stdout, "lifted the suspension of %s; its failure counts are forgotten\n", flow.Sanitize(login, 64))
		} else {
			fmt.Fprintf(stdout, "%s was not suspended; its failure counts are forgotten\n", flow.Sanitize(login, 64))
		}
		return nil
	})
}

func suspensionsShow(cfg *Config, login string, stdout io.Writer) error {
	return withAdmin(cfg, "suspensions show", func(ctx context.Context, k adminEngine) error {
		left, err := k.Suspended(ctx, login)
		if err != nil {
			return err
		}
		if left <= 0 {
			fmt.Fprintf(stdout, "%s is not suspended\n", flow.Sanitize(login, 64))
			return nil
		}
		fmt.Fprintf(stdout, "%s is suspended for %s more (until %s)\n", flow.Sanitize(login, 64),
			left.Round(time.Second), time.Now().Add(left).UTC().Format("2006-01-02 15:04 MST"))
		return nil
	})
}
