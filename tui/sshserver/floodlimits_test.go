package sshserver

import "os"

// floodLimits raises the input limits for TestFloodCPU when
// SSPR_SSH_FLOOD_OPEN is set.
func floodLimits(c *Config) {
	if os.Getenv("SSPR_SSH_FLOOD_OPEN") != "" {
		c.InputRate, c.InputBurst, c.InputDropLimit, c.MaxPaste = 65536, 1<<20, 16<<20, 1<<20
		c.WindowChanges = 60
	}
}
