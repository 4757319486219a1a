package flow

import (
	"context"
	"log/slog"
	"time"
)

// The audit trail of a directory write is not optional. Before each write
// (a new password, an unlock) a record says it is about to happen; when
// that record cannot be written (a full disk, a log file gone), the write
// does not happen and the person is told to try again later. Every record
// that cannot be written is reported on the operational log.

// auditGuard passes each audit record on to next and reports on log, at
// ERROR, every one that could not be written.
type auditGuard struct {
	next slog.Handler
	log  *slog.Logger
}

func (g *auditGuard) Enabled(ctx context.Context, l slog.Level) bool { return g.next.Enabled(ctx, l) }

func (g *auditGuard) Handle(ctx context.Context, r slog.Record) error {
	err := g.next.Handle(ctx, r)
	if err != nil {
		// What the record was, without its login or detail: enough to
		// find the session again.
		attrs := []any{"record", r.Message}
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "sid", "ref", "step", "result", "reason":
				attrs = append(attrs, a.Key, a.Value.String())
			}
			return true
		})
		g.log.Error("audit_write_failed", append(attrs, "error", err.Error())...)
	}
	return err
}

func (g *auditGuard) WithAttrs(as []slog.Attr) slog.Handler {
	return &auditGuard{next: g.next.WithAttrs(as), log: g.log}
}

func (g *auditGuard) WithGroup(name string) slog.Handler {
	return &auditGuard{next: g.next.WithGroup(name), log: g.log}
}

// auditAhead writes the record that the directory write of step is about
// to happen ("result":"started") and returns the error when it could not
// be written: then the write must not happen.
func (s *Session) auditAhead(ctx context.Context, step string) error {
	h := s.e.audit.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return nil
	}
	r := slog.NewRecord(time.Now(), slog.LevelInfo, step, 0)
	r.AddAttrs(s.eventAttrs(step, "started", "")...)
	return h.Handle(ctx, r)
}

// auditDown refuses the step whose record could not be written. The
// person stays where they are and may try again.
func (s *Session) auditDown() error {
	return s.refuse(ReasonUnavailable, "", s.t(unavailable))
}
