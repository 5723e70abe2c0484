package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandTeaches: every command a user can call has a one-line
// description, a longer one and an example in its --help, the examples call
// adhouse, and helpTexts names no command that does not exist.
func TestEveryCommandTeaches(t *testing.T) {
	root := newRootCmd()
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			return
		}
		path := c.CommandPath()
		seen[path] = true
		if strings.TrimSpace(c.Short) == "" {
			t.Errorf("%s: no Short", path)
		}
		if strings.TrimSpace(c.Long) == "" {
			t.Errorf("%s: no Long", path)
		}
		if !strings.Contains(c.Example, "adhouse") {
			t.Errorf("%s: no Example calling adhouse: %q", path, c.Example)
		}
		var buf bytes.Buffer
		c.SetOut(&buf)
		if err := c.Help(); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "Examples:") {
			t.Errorf("%s --help shows no examples:\n%s", path, buf.String())
		}
	}
	walk(root)
	if len(seen) < 18 {
		t.Errorf("only %d commands walked", len(seen))
	}
	for path := range helpTexts {
		if !seen[path] {
			t.Errorf("helpTexts has %q, which is no command", path)
		}
	}
}

// TestVersionFlag: `adhouse --version` and `adhouse version` print the
// version, the commit and the Go version, without reading a configuration.
func TestVersionFlag(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}, {"-c", "/nonexistent.yaml", "version"}} {
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		got := out.String()
		if !strings.Contains(got, versionText()) || !strings.Contains(got, "commit ") || !strings.Contains(got, "go1.") {
			t.Errorf("%v: %q", args, got)
		}
	}
}
