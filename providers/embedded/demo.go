package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DemoUser is a sample account of the demo directory, with its password in
// plain text so that the README and the tests can name it.
type DemoUser struct {
	UserRecord
	Password string
}

// DemoUsers are the accounts of the demo directory. Between them they cover
// every verification method. The phone numbers are in the 555-0100 to
// 555-0199 range, which is reserved for fiction, and each ends in different
// digits, so the masked hints tell them apart.
var DemoUsers = []DemoUser{
	{UserRecord{Login: "alice", DisplayName: "Alice Example", Email: "alice@example.com",
		Mobile: "+1 212 555 0101", Office: "+1 212 555 0111", TOTPSecret: "ONZXA4RAMRSW23ZAMFWGSY3FEBVWK6JB"},
		"Maple-Lantern-4821"},
	{UserRecord{Login: "bob", DisplayName: "Bob Example", Mobile: "+1 212 555 0102"},
		"Copper-Violin-3907"},
	{UserRecord{Login: "carol", DisplayName: "Carol Example", Email: "carol@example.com",
		TOTPSecret: "ONZXA4RAMRSW23ZAMNQXE33MEBVWK6JB"},
		"Harbor-Quartz-5163"},
	{UserRecord{Login: "dave", DisplayName: "Dave Example", Email: "dave@example.com", Office: "+1 212 555 0114"},
		"Meadow-Falcon-7240"},
	{UserRecord{Login: "erin", DisplayName: "Erin Example", Email: "erin@example.com",
		Mobile: "+1 212 555 0105", Disabled: true},
		"Silver-Cactus-6318"},
}

const demoHeader = `# sspr demo directory: sample accounts only, never real people.
# Their passwords and authenticator secrets are published in the README.
`

// WriteDemo creates the demo directory at path, with DemoUsers, unless a
// file is already there; created says whether it wrote one. The parent
// directory is made (0700) if needed. Two processes starting at once
// cannot both write: the file appears complete, or not at all.
func WriteDemo(path string, opts ...Option) (created bool, err error) {
	d := &Dir{params: DefaultParams}
	for _, o := range opts {
		o(d)
	}
	if _, err := os.Lstat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("demo directory: %w", err)
	}
	users := make([]record, len(DemoUsers))
	for i, u := range DemoUsers {
		hash, err := Hash(u.Password, d.params)
		if err != nil {
			return false, fmt.Errorf("demo directory: %w", err)
		}
		users[i] = record{Login: u.Login, DisplayName: u.DisplayName, Email: u.Email, Mobile: u.Mobile,
			Office: u.Office, TOTPSecret: u.TOTPSecret, Password: hash, Disabled: u.Disabled}
		if u.TOTPSecret != "" && d.key != nil {
			if users[i].TOTPSecret, err = d.key.Seal(u.Login, u.TOTPSecret); err != nil {
				return false, fmt.Errorf("demo directory: %w", err)
			}
		}
	}
	data, err := encodeUsers(demoHeader, users)
	if err != nil {
		return false, fmt.Errorf("demo directory: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("demo directory: %w", err)
	}
	// Written aside, then linked into place: a link never replaces a file,
	// so a concurrent first run keeps the one that landed first.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return false, fmt.Errorf("demo directory: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("demo directory: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("demo directory: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return false, fmt.Errorf("demo directory: %w", err)
	}
	return true, nil
}
