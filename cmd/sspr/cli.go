package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"

	"github.com/spf13/cobra"
)

// version is the release, set when building:
// go build -ldflags "-X main.version=v1.2.3" ./cmd/sspr
var version string

// commit is the commit the binary was built from, set the same way by
// scripts/package.sh; without it, the build info's vcs.revision.
var commit string

// configEnv names the config file when --config is not given.
const configEnv = "SSPR_CONFIG"

// cli is what every command shares: the streams and the persistent flags.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	configPath     string
	plain          bool
}

// usageError is a command line that cannot run as written: a wrong flag, a
// wrong number of arguments. Its exit status is 2.
type usageError struct{ error }

func (usageError) As(target any) bool {
	if p, ok := target.(*exitError); ok {
		*p = 2
		return true
	}
	return false
}

// run parses args and runs the command they name. It starts nothing, and
// reads no config, for --help, help, --version, version and completion.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	root := c.root()
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteC()
	var usage usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(stderr, "sspr: %v\nRun '%s --help' for usage.\n", usage.error, cmd.CommandPath())
	}
	return err
}

// usageArgs checks the arguments with check (cobra.NoArgs, ExactArgs...)
// and makes a refusal a usage error, with msg instead of cobra's words
// when msg is not empty.
func usageArgs(check cobra.PositionalArgs, msg string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		err := check(cmd, args)
		switch {
		case err == nil:
			return nil
		case msg != "":
			return usageError{errors.New(msg)}
		}
		return usageError{err}
	}
}

// config loads the file named by --config, or by SSPR_CONFIG when the
// flag is not given; none at all is the demo.
func (c *cli) config(cmd *cobra.Command) (*Config, error) {
	path := c.configPath
	if !cmd.Flags().Changed("config") {
		path = os.Getenv(configEnv)
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	cfg.UI.Plain = cfg.UI.Plain || c.plain
	return cfg, nil
}

// withConfig is a RunE that loads the config, then calls f.
func (c *cli) withConfig(f func(cmd *cobra.Command, cfg *Config, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cfg, err := c.config(cmd)
		if err != nil {
			return err
		}
		return f(cmd, cfg, args)
	}
}

// withEmbedded is withConfig for the commands that act on the embedded
// directory only: they refuse directory.ldap (embeddedUsers).
func (c *cli) withEmbedded(what string, f func(path string, opts []embedded.Option, args []string) error) func(*cobra.Command, []string) error {
	return c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
		path, opts, err := embeddedUsers(cfg, what)
		if err != nil {
			return err
		}
		return f(path, opts, args)
	})
}

func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "sspr",
		Short: "Self-service password reset in the terminal",
		Long: `sspr is a self-service password reset wizard for the terminal: run
locally, served over SSH, or on a kiosk.

Without --config (or ` + configEnv + `), sspr runs the demo: sample users and an
in-terminal phone, nothing to install.`,
		Version:           versionLine(),
		Args:              usageArgs(cobra.NoArgs, ""),
		SilenceErrors:     true,
		SilenceUsage:      true,
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
		RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, _ []string) error {
			return runLocal(cfg, c.stderr, flow.TaskReset)
		}),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&c.configPath, "config", "", "YAML config `FILE` (default $"+configEnv+"; none: the demo)")
	pf.BoolVar(&c.plain, "plain", false, "plain screens for screen readers: no colour, no boxes, no animation (also ui.plain)")
	_ = root.MarkPersistentFlagFilename("config", "yaml", "yml")

	root.AddCommand(
		&cobra.Command{
			Use:   "run",
			Short: "The reset wizard in this terminal (the default)",
			Args:  usageArgs(cobra.NoArgs, ""),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, _ []string) error {
				return runLocal(cfg, c.stderr, flow.TaskReset)
			}),
		},
		&cobra.Command{
			Use:   "change",
			Short: "Change a password you know, even an expired one, in this terminal",
			Args:  usageArgs(cobra.NoArgs, ""),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, _ []string) error {
				return runLocal(cfg, c.stderr, flow.TaskChange)
			}),
		},
		&cobra.Command{
			Use:   "info",
			Short: "Update your security info (the ways to verify you) in this terminal",
			Long: `Update your security info in this terminal: sign in with the current
password, prove a method, then add, change or remove methods (see
docs/SECURITY-INFO.md).`,
			Args: usageArgs(cobra.NoArgs, ""),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, _ []string) error {
				return runLocal(cfg, c.stderr, flow.TaskInfo)
			}),
		},
		&cobra.Command{
			Use:   "serve",
			Short: "The reset wizard over SSH (ssh.listen)",
			Args:  usageArgs(cobra.NoArgs, ""),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, _ []string) error {
				return serve(cfg, c.stderr)
			}),
		},
		&cobra.Command{
			Use:   "kiosk",
			Short: "The reset wizard on this terminal, as a kiosk that cannot be left",
			Long: `The reset wizard on this terminal, as a kiosk that cannot be left
(kiosk.name, kiosk.idle, kiosk.exit_keys; see docs/KIOSK.md).`,
			Args: usageArgs(cobra.NoArgs, ""),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, _ []string) error {
				return kiosk(cfg, c.stdout, c.stderr)
			}),
		},
		c.usersCmd(),
		c.suspensionsCmd(),
		c.helpdeskCmd(),
		&cobra.Command{
			Use:   "check [LOGIN]",
			Short: "Validate the config and the files it names",
			Long: `Validate the config and the files it names, one line per step, and say
which field is wrong. With directory.ldap: connect, bind, and look LOGIN up.`,
			Args: usageArgs(cobra.MaximumNArgs(1), "check: give at most one LOGIN"),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
				login := ""
				if len(args) == 1 {
					login = args[0]
				}
				return check(cfg, c.stdout, login)
			}),
		},
		c.auditCmd(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version, the commit and the Go version",
			Args:  usageArgs(cobra.NoArgs, ""),
			Run: func(*cobra.Command, []string) {
				fmt.Fprintln(c.stdout, versionLine())
			},
		},
		c.completionCmd(root),
		c.genManCmd(root),
	)
	return root
}

func (c *cli) usersCmd() *cobra.Command {
	users := &cobra.Command{
		Use:   "users",
		Short: "Manage the people of the embedded directory",
		Long: `Manage the people of the embedded directory (directory.embedded.path):
add, change (set), disable, enable and remove an account, reset its
password (passwd), check one (verify), list them. Each change is written
atomically, keeping the file's mode, owner and group, and recorded in the
audit trail (step admin_<command>). With directory.ldap, only totp,
ntfy-topic and unlock apply: manage people in the directory itself.`,
		Args: usageArgs(cobra.NoArgs, ""),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("users: name a command: add, set, disable, enable, remove, unlock, passwd, verify, list, totp, encrypt-totp or ntfy-topic")}
		},
	}

	var add usersAddOptions
	addCmd := &cobra.Command{
		Use:   "add LOGIN",
		Short: "Add a person; the password is read from stdin",
		Long: `Add a person to the embedded directory. The password is read from standard
input when it is not a terminal, and asked for twice without echo when it is;
it must meet the password policy. Phone numbers need their country code.`,
		Args: usageArgs(cobra.ExactArgs(1), "users add: give one LOGIN; the password is read from stdin"),
		RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
			path, opts, err := embeddedUsers(cfg, "users add")
			if err != nil {
				return err
			}
			return usersAdd(cfg, path, opts, args[0], add, c.stdin, c.stdout, c.stderr)
		}),
	}
	f := addCmd.Flags()
	f.StringVar(&add.name, "name", "", "display `NAME`")
	f.StringVar(&add.email, "email", "", "alternate email `ADDRESS`")
	f.StringVar(&add.mobile, "mobile", "", "mobile phone `NUMBER`, with country code (+1 212 555 0100)")
	f.StringVar(&add.office, "office", "", "office phone `NUMBER`, with country code")
	f.BoolVar(&add.totp, "totp", false, "enrol an authenticator app: print its QR code")

	var set usersSetOptions
	setCmd := &cobra.Command{
		Use:   "set LOGIN",
		Short: "Change the name, email, phone numbers or SSH keys of a person",
		Long: `Change only the fields given of LOGIN's entry; --clear-X empties field X.
Phone numbers need their country code.`,
		Args: usageArgs(cobra.ExactArgs(1), "users set: give one LOGIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			change, fields, err := set.change(cmd.Flags())
			if err != nil {
				return err
			}
			return c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
				return usersSet(cfg, args[0], change, fields, c.stdout, c.stderr)
			})(cmd, args)
		},
	}
	f = setCmd.Flags()
	f.StringVar(&set.name, "name", "", "display `NAME`")
	f.StringVar(&set.email, "email", "", "alternate email `ADDRESS`")
	f.StringVar(&set.mobile, "mobile", "", "mobile phone `NUMBER`, with country code (+1 212 555 0100)")
	f.StringVar(&set.office, "office", "", "office phone `NUMBER`, with country code")
	f.BoolVar(&set.clearName, "clear-name", false, "remove the display name")
	f.BoolVar(&set.clearEmail, "clear-email", false, "remove the alternate email")
	f.BoolVar(&set.clearMobile, "clear-mobile", false, "remove the mobile phone")
	f.BoolVar(&set.clearOffice, "clear-office", false, "remove the office phone")
	f.StringArrayVar(&set.sshKeys, "ssh-key", nil, "add an SSH public `KEY` (an authorized_keys line, e.g. \"$(cat id_ed25519.pub)\"); may be repeated")
	f.BoolVar(&set.clearSSHKeys, "clear-ssh-keys", false, "remove every SSH public key (before the --ssh-key ones are added)")

	var yes bool
	removeCmd := &cobra.Command{
		Use:   "remove LOGIN",
		Short: "Remove a person, after asking (--yes: without asking)",
		Long: `Remove LOGIN's entry. On a terminal, sspr asks first; when standard input
is not a terminal, --yes is required.`,
		Args: usageArgs(cobra.ExactArgs(1), "users remove: give one LOGIN"),
		RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
			return usersRemove(cfg, args[0], yes, c.stdin, c.stdout, c.stderr)
		}),
	}
	removeCmd.Flags().BoolVarP(&yes, "yes", "y", false, "remove without asking")

	users.AddCommand(
		addCmd,
		setCmd,
		&cobra.Command{
			Use:   "disable LOGIN",
			Short: "Disable a person: no self-service reset until enabled",
			Args:  usageArgs(cobra.ExactArgs(1), "users disable: give one LOGIN"),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
				return usersEnable(cfg, args[0], false, c.stdout, c.stderr)
			}),
		},
		&cobra.Command{
			Use:   "enable LOGIN",
			Short: "Enable a disabled person again",
			Args:  usageArgs(cobra.ExactArgs(1), "users enable: give one LOGIN"),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
				return usersEnable(cfg, args[0], true, c.stdout, c.stderr)
			}),
		},
		removeCmd,
		&cobra.Command{
			Use:   "unlock LOGIN",
			Short: "Lift the directory's lockout of a person (directory.ldap); the password stays",
			Long: `Lift the lockout the directory put on LOGIN after failed sign-ins, keeping
the password: pwdAccountLockedTime on OpenLDAP (ppolicy), lockoutTime on
Active Directory. The embedded directory never locks an account, so it has
nothing to unlock. A paused self-service reset is another thing: see
sspr suspensions lift.`,
			Args: usageArgs(cobra.ExactArgs(1), "users unlock: give one LOGIN"),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
				return usersUnlock(cfg, args[0], c.stdout, c.stderr)
			}),
		},
		&cobra.Command{
			Use:   "passwd LOGIN",
			Short: "Set a person's password (an administrator's reset); read from stdin",
			Long: `Set LOGIN's password, as an administrator. The password is read from
standard input when it is not a terminal, and asked for twice without echo
when it is; it must meet the password policy.`,
			Args: usageArgs(cobra.ExactArgs(1), "users passwd: give one LOGIN; the password is read from stdin"),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
				return usersPasswd(cfg, args[0], c.stdin, c.stdout, c.stderr)
			}),
		},
		&cobra.Command{
			Use:   "verify LOGIN",
			Short: "Read a password on stdin; exit 0 if it matches, 1 if not",
			Args:  usageArgs(cobra.ExactArgs(1), "users verify: give one LOGIN; the password is read from stdin"),
			RunE: c.withEmbedded("users verify", func(path string, opts []embedded.Option, args []string) error {
				return usersVerify(path, opts, args[0], c.stdin, c.stderr)
			}),
		},
		&cobra.Command{
			Use:   "list",
			Short: "List the people of the embedded directory",
			Args:  usageArgs(cobra.NoArgs, ""),
			RunE: c.withEmbedded("users list", func(path string, opts []embedded.Option, _ []string) error {
				return usersList(path, opts, c.stdout)
			}),
		},
		&cobra.Command{
			Use:   "totp LOGIN",
			Short: "Enrol or replace an authenticator app (in directory.ldap when set)",
			Long: `Enrol or replace LOGIN's authenticator app, in directory.ldap when it is set:
show its QR code, and save it once a code from the app (read from stdin)
matches.`,
			Args: usageArgs(cobra.ExactArgs(1), "users totp: give one LOGIN; a code from the app is then read from stdin"),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
				return usersTOTP(cfg, args[0], c.stdin, c.stdout, c.stderr)
			}),
		},
		&cobra.Command{
			Use:   "encrypt-totp",
			Short: "Encrypt the authenticator secrets still in plain text",
			Long: `Encrypt the authenticator secrets still stored in plain text, with the key
of directory.embedded.totp_key_file or ` + totpKeyEnv + `.`,
			Args: usageArgs(cobra.NoArgs, ""),
			RunE: c.withEmbedded("users encrypt-totp", func(path string, opts []embedded.Option, _ []string) error {
				return usersEncryptTOTP(path, opts, c.stdout)
			}),
		},
		&cobra.Command{
			Use:   "ntfy-topic LOGIN",
			Short: "Print the ntfy topic LOGIN's app subscribes to",
			Args:  usageArgs(cobra.ExactArgs(1), "usage: sspr users ntfy-topic LOGIN"),
			RunE: c.withConfig(func(_ *cobra.Command, cfg *Config, args []string) error {
				if _, err := prepareEmbedded(cfg); err != nil {
					return err
				}
				return usersNtfyTopic(cfg, args, c.stdout)
			}),
		},
	)
	return users
}

func (c *cli) auditCmd() *cobra.Command {
	var o auditOptions
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "A readable, filterable view of the audit trail",
		Long: `Show the audit trail (audit.path, or --file), one line per event, oldest
first. Times are UTC; control characters and the like are shown escaped.

Several files (one per instance, or rotated ones) are merged by time when
--file is repeated or is a quoted glob; a FILE column (in JSON, an
"audit_file" field) then says where each line came from.`,
		Args: usageArgs(func(cmd *cobra.Command, args []string) error {
			// An argument is most likely a glob the shell expanded.
			if err := cobra.NoArgs(cmd, args); err != nil {
				return fmt.Errorf("%w: name files with --file, and quote a glob (--file '/var/log/sspr/*/audit.log')", err)
			}
			return nil
		}, ""),
		RunE: c.withConfig(func(cmd *cobra.Command, cfg *Config, _ []string) error {
			o.fileSet = cmd.Flags().Changed("file")
			return auditView(cfg, o, c.stdin, c.stdout, c.stderr)
		}),
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.files, "file", nil, "read `FILE` instead of audit.path (\"-\": standard input); repeat it,\nor give a quoted glob, to merge several files by time")
	f.StringVar(&o.sid, "sid", "", "only the session whose id (or support code) starts with `S`")
	f.StringVar(&o.login, "login", "", "only events of `LOGIN` (case and spaces ignored)")
	f.StringVar(&o.result, "result", "", "only events with `RESULT` (ok, refused, decoy, error...)")
	f.StringVar(&o.since, "since", "", "only events since `T`: a duration back from now (90m, 2h, 7d)\nor a time (2026-01-02, 2026-01-02T15:04:05Z)")
	f.BoolVar(&o.json, "json", false, "print the matching events as JSON lines")
	return cmd
}

// completionCmd writes cobra's completion script for a shell.
func (c *cli) completionCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `Print the shell completion script for bash, zsh or fish. For example:

  sspr completion bash > /etc/bash_completion.d/sspr
  sspr completion zsh > "${fpath[1]}/_sspr"
  sspr completion fish > ~/.config/fish/completions/sspr.fish`,
		ValidArgs: []string{"bash", "zsh", "fish"},
		Args:      usageArgs(cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs), "completion: name one shell: bash, zsh or fish"),
		RunE: func(_ *cobra.Command, args []string) error {
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(c.stdout, true)
			case "zsh":
				return root.GenZshCompletion(c.stdout)
			default:
				return root.GenFishCompletion(c.stdout, true)
			}
		},
	}
}

// versionLine names the release (main.version, else the module version,
// else "devel"), the commit it was built from and the Go release.
func versionLine() string {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(version, commit, bi)
}

// versionOf is versionLine for a given main.version, main.commit and build
// info (nil when the binary has none).
func versionOf(version, stamped string, bi *debug.BuildInfo) string {
	v, commit, goVersion := versionParts(version, stamped, bi)
	return fmt.Sprintf("sspr %s (commit %s, %s %s/%s)", v, commit, goVersion, runtime.GOOS, runtime.GOARCH)
}

// versionParts are the release, the commit and the Go release of
// versionOf, also the labels of sspr_build_info.
func versionParts(version, stamped string, bi *debug.BuildInfo) (v, commit, goVersion string) {
	v, commit, goVersion = version, "unknown", runtime.Version()
	if bi != nil {
		goVersion = bi.GoVersion
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && commit != "unknown" {
			commit += "-dirty"
		}
	}
	if stamped != "" {
		commit = stamped
	}
	if v == "" {
		v = "devel"
	}
	return strings.TrimSpace(v), commit, goVersion
}
