package schedule_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/schedule"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// Promtool is the promtool the alert rules are tested with, pinned; the
// Makefile's `make alerts` runs the same.
const Promtool = "github.com/prometheus/prometheus/cmd/promtool@v0.316.0"

// promtool runs `promtool test rules` on file and returns its output.
func promtool(t *testing.T, file string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", "run", Promtool, "test", "rules", filepath.Base(file))
	cmd.Dir = filepath.Dir(file)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAlertRulesUnitTests runs docs/alerts.test.yml through promtool, as
// `make alerts` does.
func TestAlertRulesUnitTests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds promtool")
	}
	out, err := promtool(t, "../../docs/alerts.test.yml")
	t.Logf("promtool test rules docs/alerts.test.yml:\n%s", out)
	require.NoError(t, err)
	require.Contains(t, out, "SUCCESS")

	mk, err := os.ReadFile("../../Makefile")
	require.NoError(t, err)
	require.Contains(t, string(mk), Promtool, "`make alerts` runs the same promtool")
}

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{.*\})?) (\S+)$`)

// scrape reads /metrics as Prometheus would and returns each sample's value
// by its series ("name{labels}").
func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	body, err := httpGet("http://" + addr + "/metrics")
	require.NoError(t, err)
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		require.NotNil(t, m, "an exposition line: %q", line)
		v, err := strconv.ParseFloat(m[2], 64)
		require.NoError(t, err, line)
		out[m[1]] = v
	}
	return out
}

// TestAlertRulesFireOnRealMetrics starts a daemon that restarted a day
// after its last success and keeps failing (one schedule on a revoked
// token, one on a warehouse that does not answer), scrapes its /metrics
// twice over HTTP, turns the two scrapes into promtool input series (the
// first at 0m, the second from 1m on) and checks with `promtool test rules`
// that docs/alerts.yml fires exactly the alerts it should, and not for the
// advertiser that is current.
func TestAlertRulesFireOnRealMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds promtool")
	}
	stale, current := "7000000000000000001", "7000000000000000002"
	revoked := &tiktok.APIError{Code: tiktok.CodeTokenInvalid, Message: "Access token is incorrect or has been revoked."}
	d, err := schedule.New(schedule.Options{
		Entries: []schedule.Entry{{Name: "nightly", Cron: "@every 1s", Job: "sync"}, {Name: "hourly", Cron: "@every 1s", Job: "today"}},
		Listen:  "127.0.0.1:0",
		Run: func(_ context.Context, job string) (extract.Result, error) {
			if job == "sync" {
				return extract.Result{Advertisers: 2, Errors: []error{revoked}}, fmt.Errorf("advertiser info: %w", revoked)
			}
			return extract.Result{Advertisers: 2}, warehouseDown()
		},
		LastSuccess: func(context.Context) (map[string]time.Time, error) {
			return map[string]time.Time{stale: time.Now().Add(-26 * time.Hour), current: time.Now().Add(-10 * time.Minute)}, nil
		},
		Logger: zerolog.Nop(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	defer func() { cancel(); <-done }()
	require.Eventually(t, func() bool { return d.Addr() != "" }, 10*time.Second, 10*time.Millisecond)

	failed := func(s map[string]float64, job string) float64 {
		return s[`adhouse_runs_total{job="`+job+`",outcome="failed"}`]
	}
	first := scrape(t, d.Addr())
	require.Contains(t, first, `adhouse_runs_total{job="nightly",outcome="ok"}`, "series exist from start-up")
	var second map[string]float64
	require.Eventually(t, func() bool {
		second = scrape(t, d.Addr())
		return failed(second, "nightly") > failed(first, "nightly") && failed(second, "hourly") > failed(first, "hourly")
	}, 20*time.Second, 100*time.Millisecond)

	// The promtool test: the scrapes as input series, the alerts expected.
	var series []map[string]string
	names := make([]string, 0, len(second))
	for s := range second {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		a := "_" // a series the first scrape did not have is missing there, as in Prometheus
		if v, ok := first[s]; ok {
			a = fv(v)
		}
		series = append(series, map[string]string{"series": s, "values": fmt.Sprintf("%s %sx60", a, fv(second[s]))})
	}
	rules := readRules(t)
	alert := func(name string, labels map[string]string) map[string]any {
		r := rules[name]
		all := map[string]string{}
		for k, v := range r.Labels {
			all[k] = v
		}
		for k, v := range labels {
			all[k] = v
		}
		ann := map[string]string{}
		for k, v := range r.Annotations {
			ann[k] = labelTemplate.ReplaceAllStringFunc(v, func(m string) string {
				return labels[labelTemplate.FindStringSubmatch(m)[1]]
			})
		}
		return map[string]any{"exp_labels": all, "exp_annotations": ann}
	}
	at := "15m"
	tests := []map[string]any{
		{"eval_time": at, "alertname": "AdhouseLagAboveADay", "exp_alerts": []any{alert("AdhouseLagAboveADay", map[string]string{"advertiser": stale})}},
		{"eval_time": at, "alertname": "AdhouseTokenRejected", "exp_alerts": []any{alert("AdhouseTokenRejected", map[string]string{"job": "nightly", "source": "tiktok", "code": "40105"})}},
		{"eval_time": at, "alertname": "AdhouseWarehouseUnreachable", "exp_alerts": []any{alert("AdhouseWarehouseUnreachable", map[string]string{"job": "hourly", "source": "clickhouse", "code": "unreachable"})}},
		{"eval_time": at, "alertname": "AdhouseRunsFailing", "exp_alerts": []any{
			alert("AdhouseRunsFailing", map[string]string{"job": "hourly"}), alert("AdhouseRunsFailing", map[string]string{"job": "nightly"})}},
		{"eval_time": at, "alertname": "AdhouseAdvertiserRefused", "exp_alerts": []any{}},
		{"eval_time": at, "alertname": "AdhouseAPIPaused", "exp_alerts": []any{}},
	}
	dir := t.TempDir()
	rulesYAML, err := os.ReadFile("../../docs/alerts.yml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "alerts.yml"), rulesYAML, 0o644))
	test, err := yaml.Marshal(map[string]any{
		"rule_files": []string{"alerts.yml"}, "evaluation_interval": "1m",
		"tests": []any{map[string]any{"interval": "1m", "input_series": series, "alert_rule_test": tests}},
	})
	require.NoError(t, err)
	file := filepath.Join(dir, "scraped.test.yml")
	require.NoError(t, os.WriteFile(file, test, 0o644))
	out, err := promtool(t, file)
	t.Logf("promtool test rules (series scraped from the daemon's /metrics):\n%s", out)
	require.NoError(t, err, "generated test:\n%s", test)
	require.Contains(t, out, "SUCCESS")
}

func fv(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

var labelTemplate = regexp.MustCompile(`\{\{ \$labels\.(\w+) \}\}`)

type rule struct {
	Alert       string            `yaml:"alert"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// readRules reads docs/alerts.yml's alerts by name.
func readRules(t *testing.T) map[string]rule {
	t.Helper()
	b, err := os.ReadFile("../../docs/alerts.yml")
	require.NoError(t, err)
	var doc struct {
		Groups []struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(b, &doc))
	out := map[string]rule{}
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r
		}
	}
	return out
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
