package sshserver

import (
	"charm.land/ssh"

	"github.com/sspr-project/sspr/i18n"
)

// language picks the language of a session: the client's messages locale
// (LC_ALL, then LC_MESSAGES, then LANG, as the request filter let them
// through) when it names a language offered, then Config.Lang, then
// English. "C" and "POSIX" from the client are English.
func (s *Server) language(info SessionInfo) string {
	return i18n.Choose(info.MessagesLocale(), s.cfg.Lang)
}

// printer words the server's own messages for sess, before or without a
// program.
func (s *Server) printer(sess ssh.Session) *i18n.Printer {
	var info SessionInfo
	info.Lang, info.LCAll, info.LCMessages = clientLocale(sess.Environ())
	return i18n.For(s.language(info))
}
