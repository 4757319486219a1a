package smtp

import (
	"bytes"
	htmltemplate "html/template"
	"regexp"
	"strings"
	texttemplate "text/template"

	"github.com/sspr-project/sspr/flow"
)

// body is what the templates see. Every field comes from flow (the text,
// already in the person's language) or from the Config (the sign-in URL);
// nothing comes from what the person typed.
type body struct {
	Subject   string
	Text      string
	Lang      string
	SignInURL string
	SignIn    string
	Kind      flow.DeliveryKind
	// Before, Code and After split Text around the code of a
	// verification, so the HTML part can set the code apart.
	Before, Code, After string
}

// The plain text part: the message as flow wrote it.
var textTemplate = texttemplate.Must(texttemplate.New("text").Parse(
	`{{.Text}}
{{- if .SignInURL}}

{{.SignIn}}: {{.SignInURL}}
{{- end}}
`))

// The HTML alternative. html/template escapes every value for where it
// stands: text, attribute or URL.
var htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html{{with .Lang}} lang="{{.}}"{{end}}>
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Subject}}</title>
</head>
<body style="margin:0;padding:24px;background:#ffffff;color:#1b1b1b;font-family:'Segoe UI',Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5">
<h1 style="margin:0 0 16px;font-size:20px;font-weight:600">{{.Subject}}</h1>
{{- if .Code}}
<p style="margin:0 0 12px">{{.Before}}<strong style="font-family:Consolas,'Courier New',monospace;font-size:20px;letter-spacing:2px">{{.Code}}</strong>{{.After}}</p>
{{- else}}
<p style="margin:0 0 12px">{{.Text}}</p>
{{- end}}
{{- if .SignInURL}}
<p style="margin:16px 0 0">{{.SignIn}}: <a href="{{.SignInURL}}">{{.SignInURL}}</a></p>
{{- end}}
</body>
</html>
`))

// render fills both templates.
func render(b body) (text, html string, err error) {
	if b.Kind == flow.KindVerification {
		if loc := codeRun.FindStringIndex(b.Text); loc != nil {
			b.Before, b.Code, b.After = b.Text[:loc[0]], b.Text[loc[0]:loc[1]], b.Text[loc[1]:]
		}
	}
	var t, h bytes.Buffer
	if err := textTemplate.Execute(&t, b); err != nil {
		return "", "", err
	}
	if err := htmlTemplate.Execute(&h, b); err != nil {
		return "", "", err
	}
	// Mail wants CRLF; go-mail converts bare LFs, and a lone CR in a
	// message from flow is never meant.
	return strings.ReplaceAll(t.String(), "\r", ""), h.String(), nil
}

// codeRun finds the code in a verification text: the first run of six or
// more digits.
var codeRun = regexp.MustCompile(`[0-9]{6,}`)
