package demo

// Config is the delivery.demo block of sspr.yaml: the demo phone's outbox.
// The caller puts an empty path under its data directory.
type Config struct {
	Outbox string `yaml:"outbox" default:"<data_dir>/outbox.log" doc:"the demo delivery's outbox: one line per text, call, push or email"`
}

// DefaultOutbox is the name of the outbox under the data directory when
// Config.Outbox is empty.
const DefaultOutbox = "outbox.log"

// Default is a delivery.demo block before the file says more: the outbox
// is the caller's data directory's DefaultOutbox.
func Default() Config { return Config{} }
