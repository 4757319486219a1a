package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Secret is a password, token or key given one of three ways: inline
// (`password: ...`), in a file (`password_file: /etc/sspr/redis.pw`) or
// in an environment variable (`password_env: SSPR_REDIS_PASSWORD`), and
// exactly one of them. The decoder maps the three keys to one Secret
// field tagged with the plain name. Every source follows the same rules:
// the value is one line, trimmed, and not empty; a file that its group or
// others may read is refused. Its String never shows the value.
type Secret struct {
	Inline string
	File   string
	Env    string

	// given records which keys the file set (inline, file, env); value is
	// the resolved secret.
	given    [3]bool
	resolved bool
	value    string
}

// Inline returns a Secret given inline, for code and tests.
func InlineSecret(v string) Secret {
	return Secret{Inline: v, given: [3]bool{true}, resolved: true, value: strings.TrimSpace(v)}
}

// IsSet reports whether any of the three keys was given.
func (s *Secret) IsSet() bool { return s.inline() || s.File != "" || s.Env != "" }

func (s *Secret) inline() bool { return s.given[0] || s.Inline != "" }

// Value is the secret, once resolved (Load resolves every Secret).
func (s *Secret) Value() string { return s.value }

// String hides the value.
func (s Secret) String() string {
	switch {
	case s.File != "":
		return "(from file " + s.File + ")"
	case s.Env != "":
		return "(from $" + s.Env + ")"
	case s.IsSet():
		return "(inline, hidden)"
	}
	return "(none)"
}

// GoString hides the value from %#v too.
func (s Secret) GoString() string { return "config.Secret" + s.String() }

// MarshalText hides the value from encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Resolve reads the secret from where it was given; key names the field
// (without _file or _env) for the messages. A Secret none of whose keys
// was given resolves to "" without error: whether one is required is the
// owning package's rule.
func (s *Secret) Resolve(key string) error {
	n := 0
	for _, v := range []bool{s.inline(), s.given[1] || s.File != "", s.given[2] || s.Env != ""} {
		if v {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("given more than once: use one of %s, %s_file, %s_env", key, key, key)
	}
	var v string
	switch {
	case s.File != "":
		b, err := ReadPrivateFile(s.File)
		if err != nil {
			return err
		}
		v = string(b)
	case s.Env != "":
		if strings.ContainsAny(s.Env, "= \t\n") {
			return fmt.Errorf("%q is not the name of an environment variable", s.Env)
		}
		e, ok := os.LookupEnv(s.Env)
		if !ok {
			return fmt.Errorf("the environment variable %s is not set", s.Env)
		}
		v = e
	case s.inline():
		v = s.Inline
	default:
		s.resolved, s.value = true, ""
		return nil
	}
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return errors.New("is empty")
	case strings.ContainsAny(v, "\r\n"):
		return errors.New("holds more than one line; a secret is one line")
	}
	s.resolved, s.value = true, v
	return nil
}

// FileSecretMode is what Secret files and other private files may be:
// readable and writable by their owner only.
const privateBits fs.FileMode = 0o077

// CheckPrivate refuses a file that its group or others may read or write,
// naming the path and the mode.
func CheckPrivate(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if m := fi.Mode().Perm(); m&privateBits != 0 {
		return fmt.Errorf("%s is mode %04o: its group or others may read it; chmod 600 %s", path, m, path)
	}
	return nil
}

// ReadPrivateFile reads a file that only its owner may read.
func ReadPrivateFile(path string) ([]byte, error) {
	if err := CheckPrivate(path); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// Readable checks that path is a file this process can open, and says
// why not in a few words (the path itself is the caller's to name).
func Readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("it is a directory")
	}
	return nil
}
