package main

// LogConfig is log.*: where the server log goes and in what format.
type LogConfig struct {
	File   string `yaml:"file" doc:"the server log of sspr serve; empty: standard error"`
	Format string `yaml:"format" doc:"text or json"`
}
