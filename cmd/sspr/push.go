package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sspr-project/sspr/config"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/push"
)

// Push block: delivery.ntfy and delivery.duo, the two services that carry
// "approve a notification on my authenticator app" (methods.push).

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
	key, err := ntfyKey(cfg)
	if err != nil {
		return push.NtfyConfig{}, err
	}
	n := *cfg.Delivery.Ntfy
	n.PublicURL, n.Key, n.Log, n.Observe = cfg.HTTP.PublicURL, key, log, observe
	return n, nil
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
	d := *cfg.Delivery.Duo
	d.Approve, d.Log, d.Observe = approve, log, observe
	return d, nil
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
