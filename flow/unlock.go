package flow

import (
	"context"
	"errors"
)

// Unlockable reports whether the person, verified and on the password
// step, may unlock the account instead of choosing a new password: the
// directory says the account is locked and can unlock it, and the
// configuration allows it.
func (s *Session) Unlockable() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unlockableLocked()
}

func (s *Session) unlockableLocked() bool {
	if s.step != StepSetPassword || !s.known || !s.user.Locked || s.e.cfg.UnlockDisabled || s.Task() != TaskReset {
		return false
	}
	_, ok := s.e.deps.Directory.(Unlocker)
	return ok
}

// Unlock lifts the directory's lockout and keeps the password. It ends the
// reset like SetPassword does: the account's counts are cleared and the
// person is told at every address they registered.
func (s *Session) Unlock(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.unlockableLocked() {
		return s.refuse(ReasonOutOfOrder, "", s.t("flow.step_over"))
	}
	if err := s.windowClosed("unlock", "flow.reset.expired"); err != nil {
		return err
	}
	if err := s.auditAhead(ctx, "unlock"); err != nil {
		return s.auditDown()
	}
	if !s.e.writes.begin() {
		s.step = StepClosed
		s.event("unlock", "refused", ReasonUnavailable)
		return &Error{Reason: ReasonUnavailable, Message: s.t(restarting), Ref: s.Ref(), Final: true}
	}
	defer s.e.writes.end()
	if err := s.e.deps.Directory.(Unlocker).Unlock(ctx, s.user); err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			s.e.audit.Info("unlock", "sid", s.id, "ref", s.Ref(), "remote", s.origin.Remote, "channel", string(s.origin.Channel),
				"login", s.login, "step", "unlock", "result", "refused", "reason", string(fe.Reason), "detail", fe.Detail)
			return s.reworded(fe)
		}
		s.e.audit.Error("directory unlock failed", "sid", s.id, "ref", s.Ref(), "error", err.Error())
		return s.refuse(ReasonUnavailable, "", s.t("flow.unlock.failed"))
	}
	s.step = StepDone
	s.unlocked = true
	s.event("unlock", "ok", "")
	s.forgetAccount(ctx)
	s.notify(ctx)
	return nil
}
