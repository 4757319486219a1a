package flow

// Seams for the external tests: compiled only with them.

// CaptchaAnswer returns the digits of the session's current CAPTCHA, as a
// person reading the picture would type them.
func CaptchaAnswer(s *Session) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make([]byte, len(s.captchaDigits))
	for i, d := range s.captchaDigits {
		b[i] = '0' + d
	}
	return string(b)
}

// RandomDigits is the code generator.
var RandomDigits = randomDigits

// Failures returns the session's count of failed verifications.
func Failures(s *Session) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failures
}

// CodeAttempts returns the wrong tries counted against method m.
func CodeAttempts(s *Session, m MethodID) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codeAttempts[m]
}
