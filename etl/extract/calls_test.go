package extract_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
	"github.com/adhouse/adhouse/schema"
)

// runCalls reads a run's sync_runs rows: the sums of api_calls and retries,
// and of the per-endpoint and per-outcome maps.
func runCalls(t *testing.T, conn driver.Conn, db, runID string) (calls, retries uint64, byEndpoint, byOutcome map[string]uint64) {
	t.Helper()
	byEndpoint, byOutcome = map[string]uint64{}, map[string]uint64{}
	rows, err := conn.Query(context.Background(), `SELECT api_calls, retries, api_calls_by_endpoint, api_calls_by_outcome FROM `+db+`.sync_runs WHERE run_id = ?`, runID)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var c, r uint64
		var e, o map[string]uint64
		require.NoError(t, rows.Scan(&c, &r, &e, &o))
		calls, retries = calls+c, retries+r
		var sum uint64
		for k, v := range e {
			byEndpoint[k] += v
			sum += v
		}
		require.Equal(t, c, sum, "a row's endpoint map adds up to its api_calls")
		sum = 0
		for k, v := range o {
			byOutcome[k] += v
			sum += v
		}
		require.Equal(t, c, sum, "a row's outcome map adds up to its api_calls")
	}
	require.NoError(t, rows.Err())
	return calls, retries, byEndpoint, byOutcome
}

// TestEveryCallCounted: a sync with entities, whose advertisers are
// discovered under extract.CountRun, against a simulator injecting rate
// limits (single and per-second 40100s, 40133), 5xxxx, HTTP 5xx, truncated
// and malformed bodies. The run's Result equals the simulator's own request
// log per endpoint and outcome, and the run's sync_runs rows (windows,
// entities, and the run's own row) add up to the same; an entities-only run
// counts its calls too (it used to report 0).
func TestEveryCallCounted(t *testing.T) {
	ctx := context.Background()
	sc := simConfig()
	sc.Faults = tiktoksim.Faults{Seed: 4, RateLimitRate: 0.05, AdvertiserLimitRate: 0.03, SystemErrorRate: 0.03,
		HTTPErrorRate: 0.02, TruncateRate: 0.02, MalformedRate: 0.02, SecondLimitRate: 0.05, SecondLimitFor: 5 * time.Millisecond}
	srv := simtest.Start(t, sc)
	conn, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	db := cfg.ClickHouse.Database
	api, err := tiktok.New(tiktok.Options{
		BaseURL: srv.BaseURL(), AccessToken: srv.AccessToken(),
		Limiter:    tiktok.NewLimiter(tiktok.LimiterConfig{QPS: 1000, QPM: 60000, AppPause: 10 * time.Millisecond, AdvertiserPause: 10 * time.Millisecond}),
		MaxRetries: 12, BackoffBase: time.Millisecond, BackoffMax: 20 * time.Millisecond, Timeout: 5 * time.Second,
	})
	require.NoError(t, err)
	loader := load.New(conn, load.Options{Target: schema.Target{Database: db}, BatchSize: 500, MaxRetries: 3, RetryBackoff: 10 * time.Millisecond})
	s := extract.New(api, loader, conn, extract.Options{
		Target: schema.Target{Database: db}, Levels: allLevels, Granularities: []tiktok.Granularity{tiktok.Daily, tiktok.Hourly},
		LookbackDays: 7, InitialDays: 5, WindowDays: 30, Concurrency: 4, Now: srv.Now,
	})

	runCtx := extract.CountRun(ctx)
	found, err := api.AuthorizedAdvertisers(runCtx, tiktoksim.DefaultAppID, tiktoksim.DefaultSecret)
	require.NoError(t, err)
	ids := make([]string, len(found))
	for i, f := range found {
		ids[i] = f.ID
	}
	res, err := s.Run(runCtx, ids, extract.Job{Name: "sync", Entities: true, Stats: true})
	require.NoError(t, err)

	want := simtest.Calls(t, srv)
	require.Equal(t, want, res.Calls.Counts, "the run counted what the simulator answered, per endpoint and outcome")
	require.Equal(t, srv.Stats().Requests, res.APICalls)
	require.Equal(t, res.Calls.Retries, res.Retries)
	require.NotZero(t, res.Retries, "faults were injected")
	require.NotZero(t, res.Calls.ByOutcome()[tiktok.OutcomeRateLimited], "rate limits were injected")
	for _, ep := range []string{"oauth2/advertiser/get", "advertiser/info", "campaign/get", "adgroup/get", "ad/get", "report/integrated/get"} {
		require.NotZero(t, res.Calls.ByEndpoint()[ep], "no %s call counted", ep)
	}
	t.Logf("sync: %s; simulator: %d requests, faults %+v", res.Calls, srv.Stats().Requests, srv.Stats().Faults)

	calls, retries, byEndpoint, byOutcome := runCalls(t, conn, db, res.RunID)
	require.Equal(t, res.APICalls, calls, "sum(api_calls) of the run's sync_runs rows")
	require.Equal(t, res.Retries, retries)
	require.Equal(t, simtest.ByEndpoint(srv), byEndpoint)
	require.True(t, maps.Equal(res.Calls.ByOutcome(), byOutcome), "outcomes %v, want %v", byOutcome, res.Calls.ByOutcome())
	var entityRows, runRows uint64
	var runEndpoints []string
	require.NoError(t, conn.QueryRow(ctx, `SELECT countIf(level = 'entities'), countIf(level = 'run'), arraySort(mapKeys(anyIf(api_calls_by_endpoint, level = 'run')))
FROM `+db+`.sync_runs WHERE run_id = ?`, res.RunID).Scan(&entityRows, &runRows, &runEndpoints))
	require.Equal(t, uint64(len(ids)), entityRows, "one entities row per advertiser")
	require.Equal(t, uint64(1), runRows, "one row for the run's own calls")
	require.Equal(t, []string{"advertiser/info", "oauth2/advertiser/get"}, runEndpoints)

	// `sync --entities`: entity lists and advertiser info only.
	srv.ResetStats()
	res, err = s.Run(ctx, ids, extract.Job{Name: "entities", Entities: true})
	require.NoError(t, err)
	require.NotZero(t, res.APICalls)
	require.Equal(t, srv.Stats().Requests, res.APICalls)
	require.Equal(t, simtest.Calls(t, srv), res.Calls.Counts)
	calls, _, byEndpoint, _ = runCalls(t, conn, db, res.RunID)
	require.Equal(t, res.APICalls, calls)
	require.Equal(t, simtest.ByEndpoint(srv), byEndpoint)
}

// TestCLISummaryCountsEveryCall runs the binary: `sync --entities` (which
// used to print "0 API calls") and `sync` print the number of requests the
// simulator served, and a breakdown by endpoint equal to the simulator's;
// the retry lines give the wait as a duration string.
func TestCLISummaryCountsEveryCall(t *testing.T) {
	bin := warehousetest.Binary(t)
	_, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	sc := simConfig()
	sc.Faults = tiktoksim.Faults{Seed: 6, RateLimitRate: 0.05, SystemErrorRate: 0.03, SecondLimitRate: 0.03, SecondLimitFor: 5 * time.Millisecond}
	srv := tiktoksim.New(sc)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfgPath := writeCLIConfig(t, srv, tiktoksim.BaseURLFor(ts.URL), cfg, "daily")

	retried := 0
	for _, args := range [][]string{{"sync", "--entities"}, {"sync"}} {
		srv.ResetStats()
		out, err := runCLI(context.Background(), bin, cfgPath, srv.Now(), args...).CombinedOutput()
		require.NoError(t, err, "%s", out)
		m := resultLine.FindStringSubmatch(string(out))
		require.NotNil(t, m, "%s", out)
		calls, _ := strconv.ParseUint(m[4], 10, 64)
		require.Equal(t, srv.Stats().Requests, calls, "%v: %s", args, out)
		cm := callsLine.FindStringSubmatch(string(out))
		require.NotNil(t, cm, "%s", out)
		got := map[string]uint64{}
		for k, v := range counts(t, cm[2]) {
			got[k] = uint64(v)
		}
		require.Equal(t, simtest.ByEndpoint(srv), got, "%v: %s", args, out)
		for _, line := range strings.Split(string(out), "\n") {
			if !strings.Contains(line, "retrying") {
				continue
			}
			var l struct{ Wait string }
			require.NoError(t, json.Unmarshal([]byte(line), &l), line)
			_, err := time.ParseDuration(l.Wait)
			require.NoError(t, err, "wait %q in %s", l.Wait, line)
			retried++
		}
		t.Logf("%v: %s", args, lastLine(out))
	}
	require.NotZero(t, retried, "faults were injected")
}
