package main

// `sspr helpdesk code`, `list` and `revoke`: one-time codes an
// administrator issues for a person who cannot verify otherwise. With
// store.redis the commands act on Redis directly; with the in-process
// store, through the admin socket of the running sspr serve.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sspr-project/sspr/flow"
)

// helpdeskKeeper is what the helpdesk commands need of the engine.
type helpdeskKeeper interface {
	IssueHelpdeskCode(ctx context.Context, login, agent string, ttl time.Duration, uses int) (string, time.Time, error)
	HelpdeskCodes(ctx context.Context, agent string) ([]flow.HelpdeskCode, error)
	RevokeHelpdeskCode(ctx context.Context, login, agent string) (bool, error)
}

func (c *cli) helpdeskCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "helpdesk",
		Short: "Issue, list or revoke one-time codes from the helpdesk",
		Long: `Issue, list or revoke helpdesk codes: a one-time code that lets a person
who cannot verify with a registered method reset their password ("Enter a
code from the helpdesk"). The code is shown once; the store keeps only its
keyed hash. With store.redis, the commands act on Redis; with the
in-process store, on the running sspr serve through its admin socket
(admin.socket), as root or the server's user. Every command is recorded
in the audit trail with the agent (--agent and the Unix user).`,
		Args: usageArgs(cobra.NoArgs, ""),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("helpdesk: name a command: code, list or revoke")}
		},
	}
	var agent string
	var ttl time.Duration
	var uses int
	code := &cobra.Command{
		Use:   "code LOGIN",
		Short: "Issue a one-time code for LOGIN (printed once, as the last line)",
		Args:  usageArgs(cobra.ExactArgs(1), "helpdesk code: give one LOGIN"),
		RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
			return helpdeskCode(cfg, args[0], agentName(agent), ttl, uses, c.stdout)
		}),
	}
	code.Flags().DurationVar(&ttl, "ttl", 0, "how long the code is valid (`DURATION`; default policy.helpdesk.ttl, at most policy.helpdesk.max_ttl)")
	code.Flags().IntVar(&uses, "uses", 1, "how many resets it allows (`N`, at most policy.helpdesk.max_uses)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the live codes: login, expiry, uses left, agent (never a code)",
		Args:  usageArgs(cobra.NoArgs, "helpdesk list: takes no arguments"),
		RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, _ []string) error {
			return helpdeskList(cfg, agentName(agent), c.stdout)
		}),
	}
	revoke := &cobra.Command{
		Use:   "revoke LOGIN",
		Short: "Void LOGIN's code",
		Args:  usageArgs(cobra.ExactArgs(1), "helpdesk revoke: give one LOGIN"),
		RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
			return helpdeskRevoke(cfg, args[0], agentName(agent), c.stdout)
		}),
	}
	for _, sub := range []*cobra.Command{code, list, revoke} {
		sub.Flags().StringVar(&agent, "agent", "", "who acts, for the audit trail (`NAME`; the Unix user is recorded too)")
	}
	cmd.AddCommand(code, list, revoke)
	return cmd
}

func helpdeskCode(cfg *Config, login, agent string, ttl time.Duration, uses int, stdout io.Writer) error {
	return withAdmin(cfg, "helpdesk code", func(ctx context.Context, k adminEngine) error {
		code, expires, err := k.IssueHelpdeskCode(ctx, login, agent, ttl, uses)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "issued a code for %s, valid until %s for %d %s; it is shown only now:\n%s\n",
			flow.Sanitize(login, 64), expires.UTC().Format("2006-01-02 15:04 MST"), uses, plural(uses, "reset", "resets"), code)
		return nil
	})
}

func helpdeskList(cfg *Config, agent string, stdout io.Writer) error {
	return withAdmin(cfg, "helpdesk list", func(ctx context.Context, k adminEngine) error {
		cs, err := k.HelpdeskCodes(ctx, agent)
		if err != nil {
			return err
		}
		if len(cs) == 0 {
			fmt.Fprintln(stdout, "no live helpdesk codes")
			return nil
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "LOGIN\tEXPIRES\tUSES LEFT\tAGENT")
		for _, c := range cs {
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", flow.Sanitize(c.Login, 64), c.Expires.UTC().Format("2006-01-02 15:04 MST"), c.Uses, flow.Sanitize(c.Agent, 128))
		}
		return w.Flush()
	})
}

func helpdeskRevoke(cfg *Config, login, agent string, stdout io.Writer) error {
	return withAdmin(cfg, "helpdesk revoke", func(ctx context.Context, k adminEngine) error {
		revoked, err := k.RevokeHelpdeskCode(ctx, login, agent)
		if err != nil {
			return err
		}
		if revoked {
			fmt.Fprintf(stdout, "revoked the helpdesk code of %s\n", flow.Sanitize(login, 64))
		} else {
			fmt.Fprintf(stdout, "%s had no helpdesk code\n", flow.Sanitize(login, 64))
		}
		return nil
	})
}

// adminHelpdesk are the helpdesk fields of an admin socket reply.
type adminHelpdesk struct {
	Code    string          `json:"code,omitempty"`
	Expires time.Time       `json:"expires,omitzero"`
	Codes   []adminCodeInfo `json:"codes,omitempty"`
	Revoked bool            `json:"revoked,omitempty"`
}

type adminCodeInfo struct {
	Login   string    `json:"login"`
	Agent   string    `json:"agent"`
	Expires time.Time `json:"expires"`
	Uses    int       `json:"uses"`
}

// helpdeskRoutes serves the helpdesk commands on the admin socket. Every
// route is a POST: each is audited, with the agent the client names and
// the uid the kernel gives.
func helpdeskRoutes(mux *http.ServeMux, eng helpdeskKeeper) {
	fail := func(w http.ResponseWriter, err error) {
		adminReply(w, http.StatusServiceUnavailable, adminAnswer{Error: err.Error()})
	}
	mux.HandleFunc("POST /helpdesk/code", func(w http.ResponseWriter, r *http.Request) {
		ttl, err := time.ParseDuration(r.PostFormValue("ttl"))
		uses, err2 := strconv.Atoi(r.PostFormValue("uses"))
		if err != nil || err2 != nil {
			adminReply(w, http.StatusBadRequest, adminAnswer{Error: "ttl and uses are required"})
			return
		}
		code, expires, err := eng.IssueHelpdeskCode(r.Context(), r.PostFormValue("login"), peerAgent(r), ttl, uses)
		if err != nil {
			fail(w, err)
			return
		}
		adminReply(w, http.StatusOK, adminAnswer{adminHelpdesk: adminHelpdesk{Code: code, Expires: expires}})
	})
	mux.HandleFunc("POST /helpdesk/list", func(w http.ResponseWriter, r *http.Request) {
		cs, err := eng.HelpdeskCodes(r.Context(), peerAgent(r))
		if err != nil {
			fail(w, err)
			return
		}
		var out []adminCodeInfo
		for _, c := range cs {
			out = append(out, adminCodeInfo{Login: c.Login, Agent: c.Agent, Expires: c.Expires, Uses: c.Uses})
		}
		adminReply(w, http.StatusOK, adminAnswer{adminHelpdesk: adminHelpdesk{Codes: out}})
	})
	mux.HandleFunc("POST /helpdesk/revoke", func(w http.ResponseWriter, r *http.Request) {
		revoked, err := eng.RevokeHelpdeskCode(r.Context(), r.PostFormValue("login"), peerAgent(r))
		if err != nil {
			fail(w, err)
			return
		}
		adminReply(w, http.StatusOK, adminAnswer{adminHelpdesk: adminHelpdesk{Revoked: revoked}})
	})
}

func (c *adminClient) post(ctx context.Context, path string, form url.Values) (adminAnswer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://sspr-admin"+path, strings.NewReader(form.Encode()))
	if err != nil {
		return adminAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

func (c *adminClient) IssueHelpdeskCode(ctx context.Context, login, agent string, ttl time.Duration, uses int) (string, time.Time, error) {
	a, err := c.post(ctx, "/helpdesk/code", url.Values{"login": {login}, "agent": {agent}, "ttl": {ttl.String()}, "uses": {strconv.Itoa(uses)}})
	return a.Code, a.Expires, err
}

func (c *adminClient) HelpdeskCodes(ctx context.Context, agent string) ([]flow.HelpdeskCode, error) {
	a, err := c.post(ctx, "/helpdesk/list", url.Values{"agent": {agent}})
	var out []flow.HelpdeskCode
	for _, ci := range a.Codes {
		out = append(out, flow.HelpdeskCode{Login: ci.Login, Agent: ci.Agent, Expires: ci.Expires, Uses: ci.Uses})
	}
	return out, err
}

func (c *adminClient) RevokeHelpdeskCode(ctx context.Context, login, agent string) (bool, error) {
	a, err := c.post(ctx, "/helpdesk/revoke", url.Values{"login": {login}, "agent": {agent}})
	return a.Revoked, err
}
