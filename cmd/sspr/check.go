package main

import (
	"fmt"
	"io"
	"os"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
)

// check validates the config (done by loading it) and the files it names,
// reporting each step; the first failure says precisely what is wrong.
// An LDAP directory looks login up, when it is not empty.
func check(cfg *Config, stdout io.Writer, login string) error {
	step := func(what string, err error) error {
		if err != nil {
			fmt.Fprintf(stdout, "FAIL  %s: %v\n", what, err)
			return exitError(1)
		}
		fmt.Fprintf(stdout, "ok    %s\n", what)
		return nil
	}
	src := "config"
	if cfg.demo {
		src = "config (none given: the demo)"
	}
	if err := step(src, nil); err != nil {
		return err
	}
	if err := step("data_dir "+cfg.DataDir, writableDir(cfg.DataDir)); err != nil {
		return err
	}
	if cfg.Directory.LDAP != nil {
		if err := checkLDAP(cfg, login, stdout); err != nil {
			return err
		}
	} else if err := checkEmbedded(cfg, stdout, step); err != nil {
		return err
	}
	if err := step("delivery.demo.outbox "+cfg.Delivery.Demo.Outbox, appendable(cfg.Delivery.Demo.Outbox)); err != nil {
		return err
	}
	if path := cfg.Policy.Password.BreachedFile; path != "" {
		b, err := flow.OpenBreachFile(path)
		b.Close()
		if err := step("policy.password.breached_file "+path, err); err != nil {
			return err
		}
	}
	if cfg.Audit.Path != "-" {
		if err := step("audit.path "+cfg.Audit.Path, appendable(cfg.Audit.Path)); err != nil {
			return err
		}
	}
	if err := checkDelivery(cfg, step); err != nil {
		return err
	}
	if err := checkSMTP(cfg, step); err != nil {
		return err
	}
	if fi, err := os.Stat(cfg.SSH.HostKey); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return step("ssh.host_key "+cfg.SSH.HostKey, fmt.Errorf("mode %v lets others read it; chmod 600", fi.Mode().Perm()))
	}
	return step("ssh.host_key "+cfg.SSH.HostKey, nil)
}

// checkEmbedded opens the embedded directory (writing the demo one first
// in the demo) and counts its users.
func checkEmbedded(cfg *Config, stdout io.Writer, step func(what string, err error) error) error {
	opts, err := embeddedOptions(cfg)
	if err != nil {
		return step("TOTP key", err)
	}
	if cfg.demo {
		if _, err := embedded.WriteDemo(cfg.Directory.Embedded.Path, opts...); err != nil {
			return step("directory.embedded.path", err)
		}
	}
	d, err := embedded.Open(cfg.Directory.Embedded.Path, opts...)
	if err == nil {
		var list []embedded.UserInfo
		if list, err = d.List(); err == nil {
			if err := step(fmt.Sprintf("directory.embedded.path %s (%d users)", cfg.Directory.Embedded.Path, len(list)), nil); err != nil {
				return err
			}
			return checkTOTP(cfg, d, stdout, step)
		}
	}
	return step("directory.embedded.path "+cfg.Directory.Embedded.Path, err)
}

func writableDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

func appendable(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	return f.Close()
}
