package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/sspr-project/sspr/config"
	"github.com/sspr-project/sspr/flow"
	"github.com/sspr-project/sspr/providers/embedded"
	"github.com/sspr-project/sspr/providers/redisstore"
)

// check validates the config (done by loading it) and what it names: the
// files, the directory, the delivery providers, Redis and the listen
// addresses. Every step runs whatever failed before it, one line each
// ("ok    ", "WARN  ", "FAIL  what: why"), so one run shows everything to
// fix; the exit status is 1 when any step failed (warnings do not). An LDAP
// directory looks login up, when it is not empty.
func check(cfg *Config, stdout io.Writer, login string) error {
	c := &checker{w: &failCounter{w: stdout}}
	src := "config"
	if cfg.demo {
		src = "config (none given: the demo)"
	}
	c.ok(src)
	c.step("data_dir "+cfg.DataDir, writableDir(cfg.DataDir))
	key := checkSecretKey(cfg, c)
	c.createdPrivate("ssh.host_key", cfg.SSH.HostKey)
	checkSecretFiles(cfg, c)
	if cfg.Directory.LDAP != nil {
		checkLDAP(cfg, login, c)
	} else {
		checkEmbedded(cfg, c)
	}
	c.step("delivery.demo.outbox "+cfg.Delivery.Demo.Outbox, appendable(cfg.Delivery.Demo.Outbox))
	if path := cfg.Policy.Password.BreachedFile; path != "" {
		b, err := flow.OpenBreachFile(path)
		b.Close()
		c.step("policy.password.breached_file "+path, err)
	}
	if cfg.Audit.Path != "-" {
		c.step("audit.path "+cfg.Audit.Path, appendable(cfg.Audit.Path))
	}
	checkDelivery(cfg, c.step)
	checkSMTP(cfg, c.step)
	checkRedis(cfg, key, c)
	checkListen(c, "ssh.listen "+cfg.SSH.Listen, cfg.SSH.Listen, sshBanner)
	if cfg.HTTP.Listen != "" {
		what := "http.listen " + cfg.HTTP.Listen
		if cfg.HTTP.PublicURL != "" {
			what += " (public URL " + cfg.HTTP.PublicURL + ")"
		}
		checkListen(c, what, cfg.HTTP.Listen, httpHealth)
	}
	if cfg.HTTP.MetricsListen != "" {
		checkListen(c, "http.metrics_listen "+cfg.HTTP.MetricsListen, cfg.HTTP.MetricsListen, httpHealth)
	}
	if n := c.failed(); n > 0 {
		fmt.Fprintf(stdout, "%d %s failed\n", n, plural(n, "step", "steps"))
		return exitError(1)
	}
	return nil
}

// checker writes the lines of `sspr check`. The check functions of the
// providers write theirs to w too, so failures are counted as lines.
type checker struct {
	w *failCounter
}

func (c *checker) ok(what string)   { fmt.Fprintf(c.w, "ok    %s\n", what) }
func (c *checker) warn(what string) { fmt.Fprintf(c.w, "WARN  %s\n", what) }

func (c *checker) fail(what string, err error) {
	fmt.Fprintf(c.w, "FAIL  %s: %v\n", what, err)
}

// failed is the number of FAIL lines so far.
func (c *checker) failed() int { return c.w.fails }

// failCounter passes lines on and counts those that start with "FAIL  ".
type failCounter struct {
	w     io.Writer
	fails int
	line  []byte // the start of the line under way, up to 6 bytes
}

func (f *failCounter) Write(p []byte) (int, error) {
	for _, b := range p {
		if len(f.line) < len("FAIL  ") {
			f.line = append(f.line, b)
			if string(f.line) == "FAIL  " {
				f.fails++
			}
		}
		if b == '\n' {
			f.line = f.line[:0]
		}
	}
	return f.w.Write(p)
}

// step is ok or fail by err. It returns nil either way, so that the check
// functions written to stop at the first failure go on to the next step.
func (c *checker) step(what string, err error) error {
	if err != nil {
		c.fail(what, err)
	} else {
		c.ok(what)
	}
	return nil
}

// private reports a file that only its owner may read (config.CheckPrivate)
// with its mode, and tells whether it exists.
func (c *checker) private(key, path string) bool {
	fi, err := os.Stat(path)
	if err != nil {
		c.fail(key+" "+path, err)
		return false
	}
	if err := config.CheckPrivate(path); err != nil {
		c.fail(key+" "+path, trimPath(err, path))
		return true
	}
	c.ok(fmt.Sprintf("%s %s (mode %04o)", key, path, fi.Mode().Perm()))
	return true
}

// createdPrivate is private for a file the first start creates (0600) when
// it is missing: missing is no failure.
func (c *checker) createdPrivate(key, path string) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		c.ok(key + " " + path + " (not there yet: the first start creates it, mode 0600)")
		return
	}
	c.private(key, path)
}

// trimPath drops the path that starts config.CheckPrivate's message: the
// line already names the file.
func trimPath(err error, path string) error {
	if msg, ok := strings.CutPrefix(err.Error(), path+" is "); ok {
		return errors.New(msg)
	}
	return err
}

// checkSecretKey checks secret_key_file as the start will: 32 bytes or
// more that only the owner may read. A missing key is ok, since the first
// start creates it; with Redis, checkRedis then says whether a new key can
// join the instances already there. It returns the key when there is one
// to compare with Redis, whatever its mode.
func checkSecretKey(cfg *Config, c *checker) []byte {
	const name = "secret_key_file"
	path := cfg.SecretKeyFile
	key, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		c.ok(name + " " + path + " (not there yet: the first start creates it, 32 random bytes, mode 0600)")
		return nil
	case err != nil:
		c.fail(name+" "+path, err)
		return nil
	case len(key) < 32:
		c.fail(name+" "+path, fmt.Errorf("has %d bytes, want 32 or more", len(key)))
		return nil
	}
	if err := config.CheckPrivate(path); err != nil {
		c.fail(name+" "+path, fmt.Errorf("%w (whoever reads the key can tell decoys from real accounts offline)", trimPath(err, path)))
		return key
	}
	c.ok(fmt.Sprintf("%s %s (%d bytes, mode 0600)", name, path, len(key)))
	return key
}

// checkSecretFiles lists every secret the config reads from a file, with
// its mode. Loading the config has already refused a file its group or
// others may read; the lines say what was read. The TOTP key files are
// the directory checks'.
func checkSecretFiles(cfg *Config, c *checker) {
	type secret struct {
		key string
		s   *config.Secret
	}
	secrets := []secret{{"store.redis.password", &cfg.Store.Redis.Password}, {"http.metrics_token", &cfg.HTTP.MetricsToken}}
	if l := cfg.Directory.LDAP; l != nil {
		secrets = append(secrets, secret{"directory.ldap.bind_password", &l.BindPassword})
	}
	d := cfg.Delivery
	if d.Twilio != nil {
		secrets = append(secrets, secret{"delivery.twilio.auth_token", &d.Twilio.AuthToken})
	}
	if d.SMTP != nil {
		secrets = append(secrets, secret{"delivery.smtp.password", &d.SMTP.Password})
	}
	if d.Duo != nil {
		secrets = append(secrets, secret{"delivery.duo.skey", &d.Duo.SKey})
	}
	if d.Ntfy != nil {
		secrets = append(secrets, secret{"delivery.ntfy.token", &d.Ntfy.Token})
	}
	for _, s := range secrets {
		if s.s.File != "" {
			c.private(s.key+"_file", s.s.File)
		}
	}
	if d.Ntfy != nil && d.Ntfy.KeyFile != "" {
		c.private("delivery.ntfy.key_file", d.Ntfy.KeyFile)
	}
}

// checkEmbedded opens the embedded directory (writing the demo one first
// in the demo), counts its users and looks at the file's mode: it holds
// password hashes.
func checkEmbedded(cfg *Config, c *checker) {
	path := cfg.Directory.Embedded.Path
	opts, keyErr := embeddedOptions(cfg)
	if keyErr != nil {
		c.fail("TOTP key", keyErr)
	}
	if cfg.demo {
		if _, err := embedded.WriteDemo(path, opts...); err != nil {
			c.fail("directory.embedded.path", err)
			return
		}
	}
	d, err := embedded.Open(path, opts...)
	var list []embedded.UserInfo
	if err == nil {
		list, err = d.List()
	}
	if err != nil {
		c.fail("directory.embedded.path "+path, noUsersFile(err))
		return
	}
	c.ok(fmt.Sprintf("directory.embedded.path %s (%d users)", path, len(list)))
	checkUsersFileMode(path, c)
	if keyErr == nil {
		checkTOTP(cfg, d, c.w, c.step)
	}
}

// checkUsersFileMode: the user file holds argon2id hashes and the phone
// numbers of everyone. Readable by its group is an admin's choice (0640
// with a group of auditors); readable by others is a warning (offline
// guessing of every password); writable by others fails, since whoever
// writes it can set anyone's password.
func checkUsersFileMode(path string, c *checker) {
	fi, err := os.Stat(path)
	if err != nil {
		c.fail("directory.embedded.path "+path, err)
		return
	}
	m := fi.Mode().Perm()
	switch {
	case m&0o002 != 0:
		c.fail("directory.embedded.path "+path, fmt.Errorf("mode %04o lets others write it, and so set anyone's password; chmod o-w %s", m, path))
	case m&0o004 != 0:
		c.warn(fmt.Sprintf("directory.embedded.path %s is mode %04o: others may read its password hashes; chmod o-r %s (0640 with a group is fine)", path, m, path))
	}
}

// checkRedis connects to store.redis as the server does, within
// store.redis.timeout (5s when 0), and compares the secret key's
// fingerprint with the one the instances recorded, without recording one.
func checkRedis(cfg *Config, key []byte, c *checker) {
	r := cfg.Store.Redis
	if len(r.Addrs) == 0 {
		return
	}
	what := fmt.Sprintf("store.redis %s (prefix %s)", strings.Join(r.Addrs, ", "), r.Prefix)
	st, err := redisstore.New(r)
	if err != nil {
		c.fail(what, err)
		return
	}
	defer st.Close()
	redisstore.LogTo(nil)
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := st.Ping(ctx); err != nil {
		c.fail(what, err)
		return
	}
	c.ok(what)
	const fpWhat = "store.redis secret key fingerprint"
	stored, found, err := st.KeyFingerprint(ctx)
	switch {
	case err != nil:
		c.fail(fpWhat, err)
	case !found && key == nil:
		c.ok(fpWhat + ": none recorded (no instance has started yet); the first start records its new key's")
	case !found:
		c.ok(fpWhat + ": none recorded (no instance has started yet); the first start records this key's")
	case key == nil:
		c.fail(fpWhat, fmt.Errorf("the instances on this Redis recorded a key and secret_key_file %s is not there: the first start would make another key and be refused; copy secret_key_file from a running instance", cfg.SecretKeyFile))
	case stored != flow.KeyFingerprint(key):
		c.fail(fpWhat, fmt.Errorf("%w: give every instance sharing this Redis the same secret_key_file", &redisstore.KeyMismatchError{Stored: stored, Ours: flow.KeyFingerprint(key)}))
	default:
		c.ok(fpWhat + ": the same key as the instances on this Redis")
	}
}

// checkListen binds addr and closes it at once. A port below the
// unprivileged start needs a privilege, which the failure names. An
// address already in use is a warning when sspr itself answers there
// (identify says so: `sspr check` on a running server), else a failure;
// a holder gone a moment later (another check binding the same address)
// is tried again.
func checkListen(c *checker, what, addr string, identify func(addr string) (string, bool)) {
	var err error
	for range 3 {
		var l net.Listener
		if l, err = net.Listen("tcp", addr); err == nil {
			l.Close()
			c.ok(what)
			return
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		who, up := identify(addr)
		if !up {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if who != "" {
			c.warn(fmt.Sprintf("%s: already in use by %s: fine when that is this service running; a second sspr cannot listen there", what, who))
			return
		}
		break
	}
	switch {
	case errors.Is(err, syscall.EACCES):
		err = fmt.Errorf("%w: ports below %d need a privilege: run sspr as root, give the binary CAP_NET_BIND_SERVICE (setcap cap_net_bind_service=+ep), or set AmbientCapabilities=CAP_NET_BIND_SERVICE in its systemd unit; or listen on a high port and forward to it", err, unprivilegedPortStart())
	case errors.Is(err, syscall.EADDRINUSE):
		err = fmt.Errorf("%w: another program holds it (it does not answer like sspr); stop it or choose another address", err)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		err = fmt.Errorf("%w: no interface of this host has that address", err)
	}
	c.fail(what, err)
}

// unprivilegedPortStart is the first port a process may bind without
// CAP_NET_BIND_SERVICE (Linux's net.ipv4.ip_unprivileged_port_start).
func unprivilegedPortStart() int {
	n := 1024
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); err == nil {
		fmt.Sscan(string(b), &n)
	}
	return n
}

// probeTimeout bounds the look at who holds a listen address.
const probeTimeout = time.Second

// dialAddr is where to reach a listen address from this host: a wildcard
// host is reached on loopback.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// sshBanner tells whether sspr's SSH server holds addr by its version
// string; up is false when nothing answers any more.
func sshBanner(addr string) (who string, up bool) {
	conn, err := net.DialTimeout("tcp", dialAddr(addr), probeTimeout)
	if err != nil {
		return "", false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(probeTimeout))
	line, _ := bufio.NewReaderSize(io.LimitReader(conn, 256), 256).ReadString('\n')
	line = strings.TrimSpace(line)
	if strings.HasPrefix(line, "SSH-2.0-SSPR") {
		return "sspr (it answers " + line + ")", true
	}
	return "", true
}

// httpHealth tells whether sspr's side listener holds addr by its
// /healthz answer; up is false when nothing answers any more.
func httpHealth(addr string) (who string, up bool) {
	client := &http.Client{Timeout: probeTimeout}
	resp, err := client.Get("http://" + dialAddr(addr) + "/healthz")
	if err != nil {
		var op *net.OpError
		return "", !(errors.As(err, &op) && op.Op == "dial")
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if s := string(b); s == "ok\n" || s == "store unavailable\n" {
		return "sspr (its /healthz answers)", true
	}
	return "", true
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
