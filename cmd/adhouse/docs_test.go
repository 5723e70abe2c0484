package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

// docLine is how the docs test treats a documented command line it cannot run
// as written here: replaced by what it stands for, or skipped ("" ) with the
// reason. The list is short on purpose (TestDocsCommandsRun asserts it), and
// every entry must match some line, so it cannot hide rot.
type docLine struct {
	match   *regexp.Regexp // on the line without its comment
	replace string
	why     string
}

var docLines = []docLine{
	{regexp.MustCompile(`^make demo$`), "bin/adhouse warehouse start && bin/adhouse migrate",
		"the demo's effect on the warehouse (its 30-day sync is TestDemoRunsEndToEnd's)"},
	{regexp.MustCompile(`^make (test|build tools)$`), "", "the test suite itself, and the build this test already uses"},
	{regexp.MustCompile(`^bin/adhouse tiktok-sim .*&$`), "", "the test serves the simulator and exports its TIKTOK_BASE_URL, as pasting its line does"},
	{regexp.MustCompile(`^export TIKTOK_APP_ID=\.\.\. TIKTOK_SECRET=\.\.\.$`), "", "set to the simulator's app and secret"},
	{regexp.MustCompile(` serve$`), "", "the daemon runs until stopped (TestServe* cover it)"},
}

// shellBlocks returns the fenced sh/bash blocks of a Markdown file, with
// continuation lines joined.
func shellBlocks(t *testing.T, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var blocks [][]string
	for _, m := range regexp.MustCompile("(?s)```(?:sh|bash)\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		var lines []string
		for _, l := range strings.Split(strings.ReplaceAll(m[1], "\\\n", " "), "\n") {
			if strings.TrimSpace(l) != "" {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		blocks = append(blocks, lines)
	}
	return blocks
}

// withoutComment drops a trailing "# …" comment (none of the documented
// commands has a # inside quotes).
func withoutComment(l string) string {
	if i := strings.Index(l, " #"); i >= 0 {
		l = l[:i]
	}
	return strings.TrimSpace(l)
}

// TestDocsCommandsRun runs the shell blocks of README.md and
// docs/operating.md as a newcomer would, in a fresh folder with a fresh
// embedded warehouse, against the simulator: bin/adhouse is the built
// binary, `adhouse` is on the PATH, configs/simulator.yaml is the shipped
// file, and adhouse.yaml is operating.md's own YAML block (with the
// simulator's URL, and its token file under the folder). auth reads the
// simulator's code on stdin as a person would paste it. Each block runs as
// one bash script with -e, so a failing command fails the test; the lines
// this machine cannot run are the short, explicit docLines list.
func TestDocsCommandsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an engine")
	}
	bin := warehousetest.Binary(t)
	work := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(work, "bin"), 0o755))
	require.NoError(t, os.Symlink(bin, filepath.Join(work, "bin", "adhouse")))
	require.NoError(t, os.MkdirAll(filepath.Join(work, "configs"), 0o755))
	simYAML, err := os.ReadFile(filepath.Join("..", "..", "configs", "simulator.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(work, "configs", "simulator.yaml"), simYAML, 0o600))
	t.Cleanup(func() { _ = warehouse.Stop(context.Background(), filepath.Join(work, ".adhouse", "warehouse")) })

	operating, err := os.ReadFile(filepath.Join("..", "..", "docs", "operating.md"))
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)with, in `adhouse.yaml`:\n\n```yaml\n(.*?)```").FindSubmatch(operating)
	require.NotNil(t, m, "operating.md's adhouse.yaml block")
	yml := strings.Replace(strings.ReplaceAll(string(m[1]), "/etc/adhouse/", filepath.Join(work, "etc", "adhouse")+"/"),
		"tiktok:\n", "tiktok:\n  base_url: ${TIKTOK_BASE_URL}\n", 1)
	require.NoError(t, os.WriteFile(filepath.Join(work, "adhouse.yaml"), []byte(yml), 0o600))

	// Data through the wall clock, as `adhouse tiktok-sim` serves it: the
	// documented dates are relative to today.
	now := time.Now()
	srv := simtest.Start(t, tiktoksim.Config{Advertisers: 2, CampaignsPerAdvertiser: 2, AdGroupsPerCampaign: 1, AdsPerAdGroup: 2,
		StartDate: tiktok.DateOf(now.UTC()).AddDays(-60), Days: 60, Now: now})
	sim := srv.Config()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TIKTOK_") && !strings.HasPrefix(kv, "ADHOUSE_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+filepath.Join(work, "bin")+":"+os.Getenv("PATH"), "TIKTOK_BASE_URL="+srv.BaseURL(),
		"TIKTOK_APP_ID="+sim.AppID, "TIKTOK_SECRET="+sim.Secret)

	used := make([]bool, len(docLines))
	ran := 0
	var all strings.Builder
	for _, doc := range []string{"README.md", filepath.Join("docs", "operating.md")} {
		for i, block := range shellBlocks(t, filepath.Join("..", "..", doc)) {
			var script []string
			for _, line := range block {
				cmd := withoutComment(line)
				replaced := false
				for j, d := range docLines {
					if d.match.MatchString(cmd) {
						used[j], replaced = true, true
						if d.replace != "" {
							script = append(script, d.replace)
						}
						break
					}
				}
				if !replaced {
					script = append(script, line)
					ran++
				}
			}
			if len(script) == 0 {
				continue
			}
			sh := exec.Command("bash", "-e", "-o", "pipefail", "-c", strings.Join(script, "\n"))
			sh.Dir, sh.Env = work, env
			sh.Stdin = strings.NewReader(sim.AuthCode + "\n")
			var out bytes.Buffer
			sh.Stdout, sh.Stderr = &out, &out
			start := time.Now()
			err := sh.Run()
			t.Logf("%s block %d (%s):\n%s\n%s", doc, i+1, time.Since(start).Round(time.Second), strings.Join(script, "\n"), out.String())
			require.NoError(t, err, "%s block %d failed:\n%s", doc, i+1, out.String())
			all.WriteString(out.String())
		}
	}
	for j, d := range docLines {
		require.True(t, used[j], "docLines entry %q matches no documented line: remove it", d.match)
	}
	require.LessOrEqual(t, len(docLines), 5, "the docs should run as written; do not grow the exceptions")
	require.GreaterOrEqual(t, ran, 15, "documented commands run")

	// What the runs printed shows they did what the docs say.
	text := all.String()
	for _, want := range []string{
		"campaign_name,currency,spend,impressions", // the sql after make demo (no rows here: its header)
		"Sim Campaign 1-1",                         // the rows of the curl to the BI user
		"Authorised for 2 advertiser(s)",           // auth, twice
		"was already done",                         // the backfill run again
		"stat_date,currency,spend",                 // sql --bi
		"Access token written to " + work,          // operating.md's auth
		"advertiser_name,currency,spend",           // operating.md's sql
		`"job": "backfill `,                        // the JSON of the sql from stdin
	} {
		require.Contains(t, text, want)
	}
	campaigns, err := os.ReadFile(filepath.Join(work, "campaigns.csv"))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(campaigns), "advertiser_id,advertiser_name,campaign_id,campaign_name,stat_date"), "%.200s", campaigns)
	require.Greater(t, strings.Count(string(campaigns), "\n"), 10)
}
