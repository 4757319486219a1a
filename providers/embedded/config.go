package embedded

// Config is the directory.embedded block of sspr.yaml: the YAML user file
// and the key that seals its authenticator secrets. The caller puts an
// empty path under its data directory and reads the key file (or its
// environment variable) into WithTOTPKey.
type Config struct {
	Path string `yaml:"path" default:"<data_dir>/users.yaml" doc:"the embedded directory: a YAML user file with argon2id hashes (sspr users add writes it)"`
	// TOTPKeyFile holds the key that encrypts authenticator secrets at
	// rest; without one they stay plain.
	TOTPKeyFile string `yaml:"totp_key_file" doc:"the key that seals authenticator secrets at rest (or SSPR_TOTP_KEY); without one they stay plain"`
	// HashesAtOnce bounds the argon2id computations running at once
	// (WithHashesAtOnce); 0 is as many as there are usable processors.
	HashesAtOnce int `yaml:"hashes_at_once" range:"0|1..1024" default:"0: one per processor" doc:"argon2id computations (hashing a new password, checking one) running at once, each holding its memory (64 MiB at the default cost); more wait their turn in order, and leave the queue when their session ends; 0: one per processor sspr may use (GOMAXPROCS)"`
}

// DefaultFile is the name of the user file under the data directory when
// Config.Path is empty.
const DefaultFile = "users.yaml"

// Default is a directory.embedded block before the file says more: both
// keys empty (the path is the caller's data directory's DefaultFile).
func Default() Config { return Config{} }
