package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/push"
)

// Push block: delivery.ntfy and delivery.duo, the two services that carry
// "approve a notification on my authenticator app" (methods.push).

// NtfyConfig is delivery.ntfy.*: pushes through a self-hosted ntfy server.
// The buttons of each push call back http.public_url + /hooks/ntfy/.
type NtfyConfig struct {
	// Server is the ntfy server's base URL, e.g. https://ntfy.example.com.
	Server string `yaml:"server"`
	// The access token (tk_...) that may publish to the sspr_ topics: one
	// of token, token_file (its first line) and token_env; none publishes
	// anonymously.
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	TokenEnv  string `yaml:"token_env"`
	// The key (32 bytes or more) the topic names and the callback MACs are
	// derived from: key_file (the whole file) or key_env; neither means
	// secret_key_file. Changing it changes every person's topic.
	KeyFile string `yaml:"key_file"`
	KeyEnv  string `yaml:"key_env"`
	// TopicPrefix starts every topic (default sspr_), for the ntfy ACL.
	TopicPrefix string `yaml:"topic_prefix"`
	// Title heads the notification (default "Password reset").
	Title string `yaml:"title"`
	// Priority is ntfy's 1 to 5 (default 4, high).
	Priority int `yaml:"priority"`
	// Timeout bounds one publish (default 5s).
	Timeout Duration `yaml:"timeout"`
}

// DuoConfig is delivery.duo.*: Duo Push through a Duo Auth API application.
type DuoConfig struct {
	// Host is the API hostname, e.g. api-1234abcd.duosecurity.com.
	Host string `yaml:"host"`
	// IKey is the integration key.
	IKey string `yaml:"ikey"`
	// The secret key: one of skey, skey_file (its first line), skey_env.
	SKey     string `yaml:"skey"`
	SKeyFile string `yaml:"skey_file"`
	SKeyEnv  string `yaml:"skey_env"`
	// Type replaces "Login request" in Duo Mobile (default "Password reset").
	Type string `yaml:"type"`
	// Timeout bounds starting one push (default 5s).
	Timeout Duration `yaml:"timeout"`
}

var (
	topicPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	duoHostRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	duoIKeyRE     = regexp.MustCompile(`^[A-Z0-9]{20}$`)
)

// validatePush checks delivery.ntfy and delivery.duo: the one methods.push
// names must be there, and any that is there must be right.
func (c *Config) validatePush(bad func(field string, v any, allowed string) error) error {
	if c.Methods.Push == providerNtfy && c.Delivery.Ntfy == nil {
		return bad("delivery.ntfy", "missing", "server (and token, key): methods.push names ntfy")
	}
	if c.Methods.Push == providerDuo && c.Delivery.Duo == nil {
		return bad("delivery.duo", "missing", "host, ikey and skey: methods.push names duo")
	}
	if n := c.Delivery.Ntfy; n != nil {
		if err := n.validate(bad); err != nil {
			return err
		}
	}
	if d := c.Delivery.Duo; d != nil {
		if err := d.validate(bad); err != nil {
			return err
		}
	}
	return nil
}

func (n *NtfyConfig) validate(bad func(field string, v any, allowed string) error) error {
	if u, err := url.Parse(n.Server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return bad("delivery.ntfy.server", fmt.Sprintf("%q", flow.Sanitize(n.Server, 200)), "the ntfy server's http:// or https:// base URL, e.g. https://ntfy.example.com")
	}
	switch {
	case countSet(n.Token, n.TokenFile, n.TokenEnv) > 1:
		return bad("delivery.ntfy.token", "given more than once", "one of token, token_file, token_env")
	case n.Token != "" && !strings.HasPrefix(n.Token, "tk_"):
		return bad("delivery.ntfy.token", "not an access token", "an ntfy access token, tk_ followed by 29 characters (ntfy token add)")
	case countSet(n.KeyFile, n.KeyEnv) > 1:
		return bad("delivery.ntfy.key_file", "given with key_env", "one of key_file, key_env (or neither: secret_key_file)")
	case n.TopicPrefix != "" && !topicPrefixRE.MatchString(n.TopicPrefix):
		return bad("delivery.ntfy.topic_prefix", fmt.Sprintf("%q", flow.Sanitize(n.TopicPrefix, 64)), "1 to 32 letters, digits, - and _")
	case n.Priority < 0 || n.Priority > 5:
		return bad("delivery.ntfy.priority", n.Priority, "1 (min) to 5 (max); 0 or none: 4")
	case len(n.Title) > 100 || n.Title != flow.Sanitize(n.Title, 100):
		return bad("delivery.ntfy.title", fmt.Sprintf("%q", flow.Sanitize(n.Title, 100)), "up to 100 printable characters")
	case n.Timeout.Duration != 0 && (n.Timeout.Duration < time.Second || n.Timeout.Duration > 30*time.Second):
		return bad("delivery.ntfy.timeout", n.Timeout.Duration, "1s to 30s (default 5s)")
	}
	return nil
}

func (d *DuoConfig) validate(bad func(field string, v any, allowed string) error) error {
	n := countSet(d.SKey, d.SKeyFile, d.SKeyEnv)
	switch {
	case !duoHostRE.MatchString(d.Host):
		return bad("delivery.duo.host", fmt.Sprintf("%q", flow.Sanitize(d.Host, 200)), "the API hostname alone, e.g. api-1234abcd.duosecurity.com")
	case !duoIKeyRE.MatchString(d.IKey):
		return bad("delivery.duo.ikey", fmt.Sprintf("%q", flow.Sanitize(d.IKey, 40)), "the integration key: 20 capital letters and digits, e.g. DIWJ8X6AEYOR5OMC6TQ1")
	case n != 1:
		return bad("delivery.duo.skey", fmt.Sprintf("given %d times", n), "exactly one of skey, skey_file, skey_env")
	case d.SKey != "" && len(d.SKey) != 40:
		return bad("delivery.duo.skey", fmt.Sprintf("%d characters", len(d.SKey)), "the 40-character secret key")
	case len(d.Type) > 64 || d.Type != flow.Sanitize(d.Type, 64):
		return bad("delivery.duo.type", fmt.Sprintf("%q", flow.Sanitize(d.Type, 64)), "up to 64 printable characters")
	case d.Timeout.Duration != 0 && (d.Timeout.Duration < time.Second || d.Timeout.Duration > 30*time.Second):
		return bad("delivery.duo.timeout", d.Timeout.Duration, "1s to 30s (default 5s)")
	}
	return nil
}

// ntfyKey reads delivery.ntfy's key: key_file, key_env, or the secret key.
func ntfyKey(cfg *Config) ([]byte, error) {
	n := cfg.Delivery.Ntfy
	var key []byte
	switch {
	case n.KeyFile != "":
		b, err := os.ReadFile(n.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("delivery.ntfy.key_file: %w", err)
		}
		key = []byte(strings.TrimRight(string(b), "\r\n"))
	case n.KeyEnv != "":
		v, ok := os.LookupEnv(n.KeyEnv)
		if !ok {
			return nil, fmt.Errorf("delivery.ntfy.key_env: %s is not set", n.KeyEnv)
		}
		key = []byte(v)
	default:
		return secretKey(cfg.SecretKeyFile)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("delivery.ntfy.key: has %d bytes, want at least 32", len(key))
	}
	return key, nil
}

// ntfyPushConfig is the provider's config for delivery.ntfy; log and
// observe may be nil.
func ntfyPushConfig(cfg *Config, log *slog.Logger, observe func(string)) (push.NtfyConfig, error) {
	n := cfg.Delivery.Ntfy
	token, err := secretFrom("delivery.ntfy.token", n.Token, n.TokenFile, n.TokenEnv)
	if err != nil {
		return push.NtfyConfig{}, err
	}
	key, err := ntfyKey(cfg)
	if err != nil {
		return push.NtfyConfig{}, err
	}
	return push.NtfyConfig{
		Server: n.Server, Token: token, PublicURL: cfg.HTTP.PublicURL, Key: key,
		TopicPrefix: n.TopicPrefix, Title: n.Title, Priority: n.Priority, Timeout: n.Timeout.Duration,
		Log: log, Observe: observe,
	}, nil
}

// newNtfyPush builds the sender of methods.push: ntfy, with its check and
// its webhook (POST /hooks/ntfy/{token}).
func newNtfyPush(cfg *Config, w *deliveryWiring) (flow.Sender, error) {
	pc, err := ntfyPushConfig(cfg, slog.New(w.log).With("provider", providerNtfy),
		func(event string) { w.metrics.Callback(providerNtfy, event) })
	if err != nil {
		return nil, err
	}
	n, err := push.NewNtfy(pc)
	if err != nil {
		return nil, fmt.Errorf("delivery.ntfy: %w", err)
	}
	w.checks = append(w.checks, providerCheck{"delivery.ntfy (server " + cfg.Delivery.Ntfy.Server + ")", n.Check})
	w.mounts = append(w.mounts, hookMount{"POST " + push.NtfyHookPath + "{token}", func(a *lateApprover) http.Handler {
		return n.CallbackHandler(a.Approve)
	}})
	return n, nil
}

// duoPushConfig is the provider's config for delivery.duo.
func duoPushConfig(cfg *Config, approve func(ctx context.Context, token, answer string) error, log *slog.Logger, observe func(string)) (push.DuoConfig, error) {
	d := cfg.Delivery.Duo
	skey, err := secretFrom("delivery.duo.skey", d.SKey, d.SKeyFile, d.SKeyEnv)
	if err != nil {
		return push.DuoConfig{}, err
	}
	return push.DuoConfig{
		Host: d.Host, IKey: d.IKey, SKey: skey, Type: d.Type, Timeout: d.Timeout.Duration,
		Approve: approve, Log: log, Observe: observe,
	}, nil
}

// newDuoPush builds the sender of methods.push: duo, with its check; its
// poller stops when the delivery closes.
func newDuoPush(cfg *Config, w *deliveryWiring) (flow.Sender, error) {
	pc, err := duoPushConfig(cfg, w.approver.Approve, slog.New(w.log).With("provider", providerDuo),
		func(event string) { w.metrics.Callback(providerDuo, event) })
	if err != nil {
		return nil, err
	}
	d, err := push.NewDuo(pc)
	if err != nil {
		return nil, fmt.Errorf("delivery.duo: %w", err)
	}
	w.checks = append(w.checks, providerCheck{"delivery.duo (host " + cfg.Delivery.Duo.Host + ")", d.Check})
	w.closers = append(w.closers, d)
	return d, nil
}

// pushDestination is what flow hands a push sender as Delivery.To for u.
// It must match flow's Session.destination for flow.PushApp.
func pushDestination(u flow.User) string { return u.Login }

// usersNtfyTopic prints the ntfy topic a person subscribes their ntfy app
// to: `sspr users ntfy-topic LOGIN`.
func usersNtfyTopic(cfg *Config, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: sspr users ntfy-topic LOGIN")
	}
	if cfg.Delivery.Ntfy == nil {
		return fmt.Errorf("delivery.ntfy is not configured")
	}
	key, err := ntfyKey(cfg)
	if err != nil {
		return err
	}
	emb, err := openEmbedded(cfg)
	if err != nil {
		return err
	}
	dir, closer, err := chooseDirectory(cfg, emb, io.Discard)
	if err != nil {
		return err
	}
	if closer != nil {
		defer closer.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := dir.LookupUser(ctx, args[0])
	if err != nil {
		return fmt.Errorf("%s: %w", flow.Sanitize(args[0], 64), err)
	}
	fmt.Fprintf(stdout, "%s\n", push.NtfyTopic(key, cfg.Delivery.Ntfy.TopicPrefix, pushDestination(u)))
	return nil
}
