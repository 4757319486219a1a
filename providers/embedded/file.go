package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"unicode"

	"go.yaml.in/yaml/v3"

	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/totp"
)

// record is one entry of the users file as it is stored.
type record struct {
	Login       string `yaml:"login"`
	DisplayName string `yaml:"display_name,omitempty"`
	Email       string `yaml:"email,omitempty"`
	Mobile      string `yaml:"mobile,omitempty"`
	Office      string `yaml:"office,omitempty"`
	TOTPSecret  string `yaml:"totp_secret,omitempty"`
	// Password is an argon2id PHC string; empty means no password is set.
	Password string `yaml:"password,omitempty"`
	Disabled bool   `yaml:"disabled,omitempty"`
	// Groups are the groups the user belongs to, for the policy on
	// privileged accounts.
	Groups []string `yaml:"groups,omitempty"`
	// SSHKeys are the user's public keys, authorized_keys lines, for the
	// SSH-key method (policy.ssh_key).
	SSHKeys []string `yaml:"ssh_keys,omitempty"`

	// secret is the usable base32 secret: TOTPSecret, decrypted when it is
	// sealed. Only Dir.load sets it; it is never written.
	secret string
}

type usersFile struct {
	Users []record `yaml:"users"`
}

// parseUsers decodes and checks a users file. Unknown fields are refused,
// so that a misspelt field is an error rather than a silent blank.
func parseUsers(data []byte) ([]record, error) {
	var f usersFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for i, r := range f.Users {
		if err := r.validate(); err != nil {
			return nil, fmt.Errorf("users[%d] (%q): %w", i, flow.Sanitize(r.Login, 64), err)
		}
	}
	return f.Users, nil
}

// validate names the first field of r that cannot be used.
func (r record) validate() error {
	if err := checkName(r.Login); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if r.Email != "" {
		if err := checkName(r.Email); err != nil {
			return fmt.Errorf("email: %w", err)
		}
		if at := strings.LastIndexByte(r.Email, '@'); at < 1 || at == len(r.Email)-1 {
			return errors.New("email: want local@domain")
		}
	}
	if r.DisplayName != flow.Sanitize(r.DisplayName, 256) {
		return errors.New("display_name: control characters or more than 256 characters")
	}
	for _, ph := range []struct{ field, number string }{{"mobile", r.Mobile}, {"office", r.Office}} {
		// A number flow cannot read could never be confirmed.
		if ph.number != "" && !flow.SamePhone(ph.number, ph.number, flow.DefaultRegion) {
			return fmt.Errorf("%s: %q is not a phone number; write it with its country code, e.g. +1 212 555 0100", ph.field, flow.Sanitize(ph.number, 32))
		}
	}
	if totp.IsSealed(r.TOTPSecret) {
		if err := totp.CheckSealed(r.TOTPSecret); err != nil {
			return fmt.Errorf("totp_secret: %w", err)
		}
	} else if r.TOTPSecret != "" {
		if err := totp.CheckSecret(r.TOTPSecret); err != nil {
			return fmt.Errorf("totp_secret: %w", err)
		}
	}
	if r.Password != "" {
		if _, _, _, err := parsePHC(r.Password); err != nil {
			return fmt.Errorf("password: %w", err)
		}
	}
	for i, g := range r.Groups {
		if strings.TrimSpace(g) == "" || g != flow.Sanitize(g, 256) {
			return fmt.Errorf("groups[%d]: empty, control characters or more than 256 characters", i)
		}
	}
	if len(r.SSHKeys) > flow.MaxSSHKeys {
		return fmt.Errorf("ssh_keys: %d keys, at most %d are allowed", len(r.SSHKeys), flow.MaxSSHKeys)
	}
	for i, k := range r.SSHKeys {
		if _, err := flow.ValidSSHKey(k); err != nil {
			return fmt.Errorf("ssh_keys[%d]: %w", i, err)
		}
	}
	return nil
}

// same reports whether r and o hold the same values.
func (r record) same(o record) bool {
	if len(r.Groups) == 0 && len(o.Groups) == 0 {
		r.Groups, o.Groups = nil, nil
	}
	if len(r.SSHKeys) == 0 && len(o.SSHKeys) == 0 {
		r.SSHKeys, o.SSHKeys = nil, nil
	}
	return reflect.DeepEqual(r, o)
}

// checkName accepts a login or an email: not empty, no spaces or control
// characters, at most flow.MaxLoginLen characters.
func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > flow.MaxLoginLen:
		return fmt.Errorf("longer than %d bytes", flow.MaxLoginLen)
	case strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		return errors.New("contains a space or a control character")
	case flow.Sanitize(s, flow.MaxLoginLen) != s:
		return errors.New("contains characters that cannot be typed or shown")
	}
	return nil
}

// same compares logins and emails in flow's canonical form, the form the
// decoys and the limits are keyed by: a lookup that matched otherwise would
// tell real logins from unknown ones.
func same(a, b string) bool {
	return a != "" && flow.CanonicalLogin(a) == flow.CanonicalLogin(b)
}

// encodeUsers renders records as a new users file.
func encodeUsers(header string, users []record) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if users == nil {
		users = []record{}
	}
	if err := enc.Encode(usersFile{Users: users}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// editUsers applies change to the users of data and renders the result,
// keeping the file's comments and layout where it can: change edits the
// records, and the YAML tree is patched to match. A file whose shape is
// not the usual one is rendered afresh.
func editUsers(data []byte, change func([]record) ([]record, error)) ([]byte, error) {
	users, err := parseUsers(data)
	if err != nil {
		return nil, err
	}
	old := append([]record(nil), users...)
	users, err = change(users)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	seq := (*yaml.Node)(nil)
	if yaml.Unmarshal(data, &doc) == nil {
		seq = usersSeq(&doc)
	}
	if seq != nil && len(seq.Content) == len(old) && len(users) == len(old)-1 {
		if k := removed(old, users); k >= 0 {
			// One entry went: drop its node, and the others keep
			// their comments.
			seq.Content = append(seq.Content[:k:k], seq.Content[k+1:]...)
			old = append(old[:k:k], old[k+1:]...)
		}
	}
	if seq == nil || len(seq.Content) != len(old) || len(users) < len(old) {
		return encodeUsers("", users)
	}
	for i := range old {
		if !old[i].same(users[i]) {
			var n yaml.Node
			if err := n.Encode(users[i]); err != nil {
				return nil, err
			}
			patchMapping(seq.Content[i], &n)
		}
	}
	for _, u := range users[len(old):] {
		var n yaml.Node
		if err := n.Encode(u); err != nil {
			return nil, err
		}
		seq.Content = append(seq.Content, &n)
	}
	seq.Style &^= yaml.FlowStyle
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// removed returns the index of the one entry of old that users lacks when
// users is old without it, else -1.
func removed(old, users []record) int {
	k := 0
	for k < len(users) && old[k].same(users[k]) {
		k++
	}
	for i := k; i < len(users); i++ {
		if !old[i+1].same(users[i]) {
			return -1
		}
	}
	return k
}

// usersSeq finds the sequence under the top-level "users" key.
func usersSeq(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "users" && m.Content[i+1].Kind == yaml.SequenceNode {
			return m.Content[i+1]
		}
	}
	return nil
}

// patchMapping makes the mapping dst hold the values of src: changed
// values are replaced in place (their comments stay), new keys appended,
// keys src no longer has removed.
func patchMapping(dst, src *yaml.Node) {
	want := map[string]*yaml.Node{}
	var order []string
	for i := 0; i+1 < len(src.Content); i += 2 {
		want[src.Content[i].Value] = src.Content[i+1]
		order = append(order, src.Content[i].Value)
	}
	var kept []*yaml.Node
	have := map[string]bool{}
	for i := 0; i+1 < len(dst.Content); i += 2 {
		k, v := dst.Content[i], dst.Content[i+1]
		nv, ok := want[k.Value]
		if !ok {
			continue
		}
		have[k.Value] = true
		if v.Kind != nv.Kind || v.Value != nv.Value || v.Kind != yaml.ScalarNode {
			nv.HeadComment, nv.LineComment, nv.FootComment = v.HeadComment, v.LineComment, v.FootComment
			v = nv
		}
		kept = append(kept, k, v)
	}
	for _, k := range order {
		if !have[k] {
			kept = append(kept, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, want[k])
		}
	}
	dst.Content = kept
}

// writeAtomic replaces path with data so that a reader, or a crash at any
// moment, sees either the old file or the new one, never a mix: a temporary
// file in the same directory is written, flushed, renamed over path, and the
// directory is flushed so the rename itself is durable. The new file takes
// the permission bits, owner and group of the one it replaces (see
// keepAttrs); a new file is 0600. lost says what of those could not be kept,
// empty when all were. hook, when set, runs between the flush and the rename
// (tests use it to fail there).
func writeAtomic(path string, data []byte, hook func(tmp string) error) (lost string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	old, err := os.Stat(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("stat %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// The attributes are set before anything is written, so the
	// temporary file is never more open than the file it replaces.
	if lost, err = keepAttrs(tmp, old); err != nil {
		return "", err
	}
	if _, err = tmp.Write(data); err != nil {
		return "", fmt.Errorf("write temporary file: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return "", fmt.Errorf("flush temporary file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return "", fmt.Errorf("close temporary file: %w", err)
	}
	if hook != nil {
		if err = hook(tmp.Name()); err != nil {
			return "", err
		}
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("replace %s: %w", path, err)
	}
	return lost, syncDir(dir)
}

// fchown changes the owner and group of f; tests replace it to play an
// unprivileged process.
var fchown = (*os.File).Chown

// keepAttrs gives f, the file about to replace old, the owner, group and
// permission bits the administrator gave old, so that a rewrite does not
// undo a "chgrp sspr-admins users.yaml; chmod 0640 users.yaml". old nil
// (no file yet) means 0600 and the process's own owner and group.
//
// Two exceptions, both towards less access:
//   - the bits for others are dropped: the file holds password hashes and
//     authenticator secrets, and a rewrite never leaves it readable by
//     everyone, whatever it was before;
//   - a process that may not give the file its owner (not root, and the
//     file belonged to someone else) keeps the group if it is a member of
//     it; if not even the group can be kept, the group bits are dropped too,
//     rather than handed to a group the administrator never chose.
//
// In those cases the write still goes through and lost says what changed.
// That is what an administrator wants: the person at the keyboard, halfway
// through a reset, is not refused over a file attribute; the service
// account gains nothing by owning the file, since it can already replace it
// (it writes the directory); and the log line tells the administrator to
// chown the file back or run sspr as its owner. Any other failure to set
// the attributes fails the write: the new file would not be what it
// claims to be.
func keepAttrs(f *os.File, old os.FileInfo) (lost string, err error) {
	mode := os.FileMode(0o600)
	if old != nil {
		mode = old.Mode().Perm() &^ 0o007
	}
	want, ok := ownerOf(old)
	if ok {
		have, _ := f.Stat()
		if got, _ := ownerOf(have); got != want {
			if err := fchown(f, want.uid, want.gid); errors.Is(err, os.ErrPermission) {
				// Not privileged: keep the group at least, which a
				// member of it may set.
				err = fchown(f, -1, want.gid)
				if errors.Is(err, os.ErrPermission) {
					err = nil
				}
			}
			if err != nil {
				return "", fmt.Errorf("chown temporary file: %w", err)
			}
			have, err := f.Stat()
			if err != nil {
				return "", fmt.Errorf("stat temporary file: %w", err)
			}
			got, _ := ownerOf(have)
			switch {
			case got.gid != want.gid:
				mode &^= 0o070
				lost = fmt.Sprintf("owner %d:%d is now %d:%d (not permitted to keep it), and the group bits are dropped", want.uid, want.gid, got.uid, got.gid)
			case got.uid != want.uid:
				lost = fmt.Sprintf("owner %d is now %d (not permitted to keep it); group and mode kept", want.uid, got.uid)
			}
		}
	}
	// Chmod after chown: a chown may clear bits a chmod set.
	if err := f.Chmod(mode); err != nil {
		return "", fmt.Errorf("chmod temporary file: %w", err)
	}
	return lost, nil
}

// owner is the numeric owner and group of a file.
type owner struct{ uid, gid int }

// ownerOf reads the owner of fi; false when fi is nil or the system does
// not tell.
func ownerOf(fi os.FileInfo) (owner, bool) {
	if fi == nil {
		return owner{}, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return owner{}, false
	}
	return owner{int(st.Uid), int(st.Gid)}, true
}

// syncDir flushes a directory, making a rename or a link in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("flush directory %s: %w", dir, err)
	}
	return nil
}
