package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/sspr-project/sspr/config"

	"golang.org/x/term"
)

// LogConfig is the operational log of `sspr serve`: starts, stops, failed
// deliveries, refused connections. The audit trail (audit.path) is
// separate.
type LogConfig struct {
	// File is appended to (created 0600) and reopened on SIGHUP, for
	// logrotate; empty means standard error.
	File string `yaml:"file" default:"none: standard error" doc:"the server log of sspr serve, appended to (created 0600) and reopened on SIGHUP (docs/OPERATIONS.md)"`
	// Format is text or json. Empty: text when the log goes to a
	// terminal, where a person reads it, and json otherwise (a file, the
	// journal, a pipe), where a program usually reads it first.
	Format string `yaml:"format" default:"text on a terminal, json otherwise" doc:"text or json"`
}

// Validate names the key that is wrong.
func (c LogConfig) Validate() error {
	switch c.Format {
	case "", "text", "json":
		return nil
	}
	return &config.Error{Path: "format", Msg: fmt.Sprintf("%q is not allowed (text or json)", c.Format)}
}

// openLog builds the server log from c: to c.File when set, else to
// stderr. file is the reopenable log file, nil for stderr.
func openLog(c LogConfig, stderr io.Writer) (log *slog.Logger, file *reopenFile, err error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	w := stderr
	if c.File != "" {
		if file, err = openReopenable(c.File); err != nil {
			return nil, nil, fmt.Errorf("log.file: %w", err)
		}
		w = file
	}
	format := c.Format
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	return newLogger(w, format), file, nil
}

// newLogger is a slog logger writing format ("text" or "json") to w.
func newLogger(w io.Writer, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// reopenFile is a file appended to that can be opened again at the same
// path, so that once logrotate has renamed it, the writes go to a new file
// at the old name. It is safe for concurrent use; writes never see a
// closed file during a reopen.
type reopenFile struct {
	path string
	mu   sync.RWMutex // a write holds it shared, the swap exclusive
	f    *os.File
}

func openReopenable(path string) (*reopenFile, error) {
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	return &reopenFile{path: path, f: f}, nil
}

func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
}

// Path is the name the file is (re)opened at.
func (r *reopenFile) Path() string { return r.path }

func (r *reopenFile) Write(p []byte) (int, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	return r.f.Write(p)
}

// Reopen opens the path again and sends the next writes there; the old
// file is closed once no write uses it. When the path cannot be opened,
// the writes keep going to the old file and the error says why.
func (r *reopenFile) Reopen() error {
	f, err := openAppend(r.path)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	r.mu.Lock()
	old := r.f
	if old == nil { // closed meanwhile
		r.mu.Unlock()
		f.Close()
		return os.ErrClosed
	}
	r.f = f
	r.mu.Unlock()
	return old.Close()
}

func (r *reopenFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return os.ErrClosed
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// reopener is a log that SIGHUP opens again.
type reopener interface {
	Reopen() error
	Path() string
}

// namedLog is a log file and the config key that names it.
type namedLog struct {
	key  string
	file reopener
}

// reopenLogs opens every log file again after a rotation (SIGHUP) and
// logs log_reopened: what was reopened, or why not. A file that could not
// be reopened keeps being written to. Put the server log first, so that
// the line itself lands in the new file.
func reopenLogs(log *slog.Logger, files []namedLog) {
	var reopened []string
	var errs []error
	for _, f := range files {
		if err := f.file.Reopen(); err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w", f.key, f.file.Path(), err))
			continue
		}
		reopened = append(reopened, f.key+"="+f.file.Path())
	}
	what := strings.Join(reopened, " ")
	if len(reopened) == 0 {
		what = "none"
	}
	if len(errs) > 0 {
		log.Error("log_reopened", "reopened", what, "error", errors.Join(errs...).Error())
		return
	}
	log.Info("log_reopened", "reopened", what)
}
