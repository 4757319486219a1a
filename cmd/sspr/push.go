package main

import (
	"context"
	"fmt"
	"github.com/sspr-project/sspr/config"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/push"
)

// Push block: delivery.ntfy and delivery.duo, the two services that carry
// "approve a notification on my authenticator app" (methods.push).

// NtfyConfig is delivery.ntfy.*: pushes through a self-hosted ntfy server.
// The buttons of each push call back http.public_url + /hooks/ntfy/.
type NtfyConfig struct {
	Server string        `yaml:"server" doc:"the ntfy server's base URL, e.g. https://ntfy.example.com"`
	Token  config.Secret `yaml:"token" default:"none: publish anonymously" doc:"the access token (tk_...) that may publish to the sspr_ topics, inline, in a file or in an environment variable"`
	// The key (32 bytes or more) the topic names and the callback MACs are
	// derived from: key_file (the whole file) or key_env; neither means
	// secret_key_file. Changing it changes every person's topic.
	KeyFile     string        `yaml:"key_file" default:"secret_key_file" doc:"the key (32 bytes or more, the whole file, mode 0600) the topic names and the callback MACs are derived from; changing it changes every person's topic"`
	KeyEnv      string        `yaml:"key_env" doc:"the same key in an environment variable"`
	TopicPrefix string        `yaml:"topic_prefix" default:"sspr_" doc:"starts every topic, for the ntfy ACL (1 to 32 letters, digits, - and _)"`
	Title       string        `yaml:"title" default:"Password reset" doc:"heads the notification (up to 100 printable characters)"`
	Priority    int           `yaml:"priority" default:"4" range:"0..5" doc:"ntfy's priority, 1 (min) to 5 (max); 0: 4"`
	Timeout     time.Duration `yaml:"timeout" default:"5s" range:"0s..30s" doc:"one publish; 0s: 5s"`
}

// DuoConfig is delivery.duo.*: Duo Push through a Duo Auth API application.
type DuoConfig struct {
	Host    string        `yaml:"host" doc:"the API hostname, e.g. api-1234abcd.duosecurity.com"`
	IKey    string        `yaml:"ikey" doc:"the integration key"`
	SKey    config.Secret `yaml:"skey" doc:"the secret key, inline, in a file or in an environment variable (exactly one)"`
	Type    string        `yaml:"type" default:"Password reset" doc:"replaces \"Login request\" in Duo Mobile"`
	Timeout time.Duration `yaml:"timeout" default:"5s" range:"0s..30s" doc:"starting one push; 0s: 5s"`
}

var (
	topicPrefixRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	duoHostRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$`)
	duoIKeyRE     = regexp.MustCompile(`^[A-Z0-9]{20}$`)
)

// Validate checks delivery.ntfy.
func (n *NtfyConfig) Validate() error {
	var es config.Errors
	if u, err := url.Parse(n.Server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		es.Add("server", "%q is not allowed (the ntfy server's http:// or https:// base URL, e.g. https://ntfy.example.com)", flow.Sanitize(n.Server, 200))
	}
	if v := n.Token.Value(); v != "" && !strings.HasPrefix(v, "tk_") {
		es.Add("token", "is not an access token (an ntfy access token, tk_ followed by 29 characters: ntfy token add)")
	}
	if n.KeyFile != "" && n.KeyEnv != "" {
		es.Add("key_file", "is given with key_env (one of key_file, key_env, or neither: secret_key_file)")
	}
	if n.KeyFile != "" {
		if err := config.CheckPrivate(n.KeyFile); err != nil {
			es.Add("key_file", "%v", err)
		}
	}
	if n.TopicPrefix != "" && !topicPrefixRE.MatchString(n.TopicPrefix) {
		es.Add("topic_prefix", "%q is not allowed (1 to 32 letters, digits, - and _)", flow.Sanitize(n.TopicPrefix, 64))
	}
	if len(n.Title) > 100 || n.Title != flow.Sanitize(n.Title, 100) {
		es.Add("title", "%q is not allowed (up to 100 printable characters)", flow.Sanitize(n.Title, 100))
	}
	if n.Timeout != 0 && n.Timeout < time.Second {
		es.Add("timeout", "%s is not allowed (1s to 30s, or 0s for 5s)", config.FormatDuration(n.Timeout))
	}
	return es.Err()
}

// Validate checks delivery.duo.
func (d *DuoConfig) Validate() error {
	var es config.Errors
	if !duoHostRE.MatchString(d.Host) {
		es.Add("host", "%q is not allowed (the API hostname alone, e.g. api-1234abcd.duosecurity.com)", flow.Sanitize(d.Host, 200))
	}
	if !duoIKeyRE.MatchString(d.IKey) {
		es.Add("ikey", "%q is not allowed (the integration key: 20 capital letters and digits, e.g. DIWJ8X6AEYOR5OMC6TQ1)", flow.Sanitize(d.IKey, 40))
	}
	switch {
	case !d.SKey.IsSet():
		es.Add("skey", "is missing (one of skey, skey_file, skey_env)")
	case d.SKey.Value() != "" && len(d.SKey.Value()) != 40:
		es.Add("skey", "has %d characters (the 40-character secret key)", len(d.SKey.Value()))
	}
	if len(d.Type) > 64 || d.Type != flow.Sanitize(d.Type, 64) {
		es.Add("type", "%q is not allowed (up to 64 printable characters)", flow.Sanitize(d.Type, 64))
	}
	if d.Timeout != 0 && d.Timeout < time.Second {
		es.Add("timeout", "%s is not allowed (1s to 30s, or 0s for 5s)", config.FormatDuration(d.Timeout))
	}
	return es.Err()
}

// ntfyKey reads delivery.ntfy's key: key_file, key_env, or the secret key.
func ntfyKey(cfg *Config) ([]byte, error) {
	n := cfg.Delivery.Ntfy
	var key []byte
	switch {
	case n.KeyFile != "":
		b, err := config.ReadPrivateFile(n.KeyFile)
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
	token := n.Token.Value()
	key, err := ntfyKey(cfg)
	if err != nil {
		return push.NtfyConfig{}, err
	}
	return push.NtfyConfig{
		Server: n.Server, Token: token, PublicURL: cfg.HTTP.PublicURL, Key: key,
		TopicPrefix: n.TopicPrefix, Title: n.Title, Priority: n.Priority, Timeout: n.Timeout,
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
	skey, err := d.SKey.Value(), error(nil)
	if err != nil {
		return push.DuoConfig{}, err
	}
	return push.DuoConfig{
		Host: d.Host, IKey: d.IKey, SKey: skey, Type: d.Type, Timeout: d.Timeout,
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
	// The embedded directory is opened only when it is the directory.
	var emb *embedded.Dir
	if cfg.Directory.LDAP == nil {
		if emb, err = openEmbedded(cfg); err != nil {
			return err
		}
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
