package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func runDemo(cmd *cobra.Command, a *app) error { return errors.New("not yet") }
