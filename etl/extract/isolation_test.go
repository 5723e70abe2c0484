package extract_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// jsonLines parses log output as a log shipper reads it: one JSON object
// a line, every key counted, so a duplicated key (a second "level") is
// seen rather than silently overwritten.
func jsonLines(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue // the command's own summary lines
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		tok, err := dec.Token()
		require.NoError(t, err)
		require.Equal(t, json.Delim('{'), tok)
		seen := map[string]int{}
		m := map[string]any{}
		for dec.More() {
			k, err := dec.Token()
			require.NoError(t, err)
			var v any
			require.NoError(t, dec.Decode(&v))
			seen[k.(string)]++
			m[k.(string)] = v
		}
		for k, n := range seen {
			require.Equal(t, 1, n, "key %q appears %d times in %s", k, n, line)
		}
		lines = append(lines, m)
	}
	return lines
}

// exitCode is the process's exit status, 0 for success.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "%v", err)
	return ee.ExitCode()
}

// TestOneFailureDoesNotStopTheOthers runs the binary with an advertiser id
// the token is not authorised for (40001) among the valid ones, while TikTok
// fails every report covering one day (50002, beyond the retries):
//
//   - the valid advertisers load every other window, before and after the
//     failed one, and the refused one fails alone;
//   - each stream's checkpoint stays before its failed window;
//   - the failed windows are logged as errors a log shipper sees as such:
//     exactly one "level" key, "error", with advertiser, window, source,
//     code and hint;
//   - the summary says "partly failed", lists each part with what to do,
//     and the exit status is 2;
//   - the next run, TikTok healthy again, retries the gap and ends equal to
//     TikTok's truth, with exit status 0.
func TestOneFailureDoesNotStopTheOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	bin := warehousetest.Binary(t)
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	db := cfg.ClickHouse.Database
	srv := tiktoksim.New(simConfig())
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfgPath := writeCLIConfig(t, srv, tiktoksim.BaseURLFor(ts.URL), cfg, "daily")
	y, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	y = bytes.Replace(y, []byte("window_days: 30"), []byte("window_days: 3"), 1)
	y = bytes.Replace(y, []byte("max_retries: 30"), []byte("max_retries: 2"), 1)
	require.NoError(t, os.WriteFile(cfgPath, y, 0o600))

	// Every advertiser's today is the same local date here or one apart;
	// the failing day is well inside the 12 days pulled.
	ids := srv.AdvertiserIDs()
	const refused = "1234567890123"
	first, _ := srv.Advertiser(ids[0])
	loc, err := first.Location()
	require.NoError(t, err)
	today := tiktok.DateOf(srv.Now().In(loc))
	failing := today.AddDays(-6)
	srv.SetFaults(tiktoksim.Faults{FailingDays: []tiktok.Date{failing}, FailingAdvertisers: ids[:1]})

	args := []string{"sync"}
	for _, id := range append([]string{ids[0], refused}, ids[1:]...) {
		args = append(args, "--advertiser", id)
	}
	cmd := runCLI(context.Background(), bin, cfgPath, srv.Now(), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("stdout:\n%s", stdout.String())
	require.Equal(t, 2, exitCode(t, err), "a partial failure exits 2:\n%s", stderr.String())

	summary := stdout.String()
	require.Contains(t, summary, fmt.Sprintf("sync partly failed: %d advertisers (%d complete)", len(ids)+1, len(ids)-1))
	require.Contains(t, summary, "failed: advertiser "+refused+": advertiser info:")
	require.Contains(t, summary, "→ the token is not authorised for this advertiser: remove it from --advertiser or sync.advertisers")
	require.Contains(t, summary, "→ TikTok failed on its side; the next run retries")
	require.Contains(t, stderr.String(), fmt.Sprintf("adhouse: partial failure: %d of %d advertisers complete, %d parts failed", len(ids)-1, len(ids)+1, len(allLevels)+1))

	var failedWindows int
	for _, l := range jsonLines(t, stderr.Bytes()) {
		switch l["message"] {
		case "window failed":
			failedWindows++
			require.Equal(t, "error", l["level"])
			require.Equal(t, ids[0], l["advertiser"])
			require.Contains(t, []any{"advertiser", "campaign", "adgroup", "ad"}, l["report_level"])
			require.Contains(t, l["window"], failing.AddDays(-1).String()[:8], "the window holding the failing day")
			require.Equal(t, "tiktok", l["source"])
			require.Equal(t, "50002", l["code"])
			require.NotEmpty(t, l["hint"])
			if failedWindows == 1 {
				line, _ := json.Marshal(l)
				t.Logf("a failed window as a log shipper reads it: %s", line)
			}
		case "advertiser refused":
			require.Equal(t, "error", l["level"])
			require.Equal(t, refused, l["advertiser"])
			require.Equal(t, "40001", l["code"])
		}
	}
	require.Equal(t, len(allLevels), failedWindows, "one failed window per stream of the failing advertiser")

	// Every stream loaded the windows after its gap, and its checkpoint
	// stays before the gap.
	ctx := context.Background()
	for _, adv := range ids {
		info, _ := srv.Advertiser(adv)
		loc, _ := info.Location()
		tday := tiktok.DateOf(srv.Now().In(loc))
		for _, l := range allLevels {
			var through time.Time
			require.NoError(t, conn.QueryRow(ctx, fmt.Sprintf(`SELECT argMax(through_date, version) FROM %s.sync_checkpoints
WHERE advertiser_id = ? AND level = ? AND granularity = 'daily'`, db), adv, l.Name()).Scan(&through))
			if adv == ids[0] {
				require.True(t, tiktok.DateOf(through).Before(failing), "%s %s: checkpoint %s stays before the failing day %s", adv, l.Name(), tiktok.DateOf(through), failing)
			} else {
				require.Equal(t, tday.AddDays(-1), tiktok.DateOf(through), "%s %s: checkpoint through yesterday", adv, l.Name())
			}
			after := failing.AddDays(3)
			require.Equal(t, truthRows(t, srv, adv, l, tiktok.Daily, after, tday), warehouseRows(t, conn, db, adv, l, tiktok.Daily, after, tday),
				"%s %s: the windows after the failed one loaded", adv, l.Name())
		}
	}

	// The run log says which advertisers last succeeded fully, and when
	// (what the daemon's lag gauges start from).
	target := schema.Target{Database: db}
	last, err := extract.LastSuccesses(ctx, conn, target)
	require.NoError(t, err)
	require.ElementsMatch(t, ids[1:], keys(last), "the failing advertiser never succeeded fully")
	for _, at := range last {
		require.WithinDuration(t, time.Now(), at, 2*time.Minute)
	}

	// TikTok heals; the next run retries the gap.
	srv.SetFaults(tiktoksim.Faults{})
	out, err := runCLI(ctx, bin, cfgPath, srv.Now(), "sync").CombinedOutput()
	require.Equal(t, 0, exitCode(t, err), "%s", out)
	require.NotContains(t, string(out), "failed")
	requireWarehouseEqualsTruth(t, srv, conn, db, []tiktok.Granularity{tiktok.Daily}, 12)
	again, err := extract.LastSuccesses(ctx, conn, target)
	require.NoError(t, err)
	require.ElementsMatch(t, ids, keys(again))
	for _, id := range ids[1:] {
		require.True(t, again[id].After(last[id]), "%s: the newer success wins", id)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestFailureHintsSendPeopleTheRightWay runs the binary into the failures
// an operator meets first and checks that the error says what to do about
// that failure, not another one, and that the run stops at once: a base_url
// nothing listens on (3 attempts, not minutes of retries), with and without
// discovery, and a revoked token (40105).
func TestFailureHintsSendPeopleTheRightWay(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	bin := warehousetest.Binary(t)
	_, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	srv := tiktoksim.New(simConfig())
	ts := httptest.NewServer(srv)
	defer ts.Close()
	base := tiktoksim.BaseURLFor(ts.URL)
	closed := fmt.Sprintf("http://127.0.0.1:%d/open_api/v1.3/", freePort(t))
	for _, tc := range []struct {
		name     string
		edit     func(y string) string
		want     []string
		dontWant []string
	}{
		{"unreachable base_url, listed advertisers",
			func(y string) string { return strings.Replace(y, base, closed, 1) },
			[]string{"sync failed: 3 advertisers (0 complete)", "after 3 attempt(s)", "connection refused", "check tiktok.base_url and the network"},
			[]string{"sync.advertisers"}},
		{"unreachable base_url, discovery",
			func(y string) string {
				y = strings.Replace(y, base, closed, 1)
				return regexp.MustCompile(`(?m)^  advertisers: .*\n`).ReplaceAllString(y, "")
			},
			[]string{"discovering advertisers", "after 3 attempt(s)", "connection refused", "check tiktok.base_url and the network"},
			[]string{"set sync.advertisers to skip this"}},
		{"revoked token",
			func(y string) string { return strings.Replace(y, srv.AccessToken(), "revoked-token-0000", 1) },
			[]string{"sync failed", "code 40105", "run `adhouse auth` again"},
			[]string{"sync.advertisers", "revoked-token-0000"}},
		{"revoked token, discovery",
			func(y string) string {
				y = strings.Replace(y, srv.AccessToken(), "revoked-token-0000", 1)
				return regexp.MustCompile(`(?m)^  advertisers: .*\n`).ReplaceAllString(y, "")
			},
			[]string{"discovering advertisers", "code 40105", "run `adhouse auth` again"},
			[]string{"set sync.advertisers to skip this", "revoked-token-0000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeCLIConfig(t, srv, base, cfg, "daily")
			y, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, []byte(tc.edit(string(y))), 0o600))
			out, err := runCLI(context.Background(), bin, path, srv.Now(), "sync").CombinedOutput()
			t.Logf("%s", out)
			require.Equal(t, 1, exitCode(t, err))
			for _, w := range tc.want {
				require.Contains(t, string(out), w)
			}
			for _, w := range tc.dontWant {
				require.NotContains(t, string(out), w)
			}
		})
	}
}
