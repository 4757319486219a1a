package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// genManCmd writes the man pages of every command, sspr(1) and one page a
// subcommand (sspr-serve(1), ...), from the command-line definitions into
// DIR. It is hidden: scripts/package.sh runs it to build the Debian
// package. The date is SOURCE_DATE_EPOCH when set, so a build repeats.
func (c *cli) genManCmd(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write the man pages into DIR",
		Hidden: true,
		Args:   usageArgs(cobra.ExactArgs(1), "gen-man: give the DIR to write the man pages into"),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			v := version
			if v == "" {
				v = "devel"
			}
			root.DisableAutoGenTag = true
			header := &doc.GenManHeader{Section: "1", Source: "sspr " + v, Manual: "sspr manual"}
			if err := doc.GenManTree(root, header, args[0]); err != nil {
				return fmt.Errorf("gen-man: %w", err)
			}
			return nil
		},
	}
}
