package main

import (
	"github.com/spf13/cobra"
)

func newDemoCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Start the embedded warehouse and the simulator, sync 30 days, print a campaign table",
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd, a)
		},
	}
}
