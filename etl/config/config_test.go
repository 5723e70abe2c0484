package config

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/tiktok"
)

func testLookup(name string) (string, bool) {
	switch name {
	case "CLICKHOUSE_PASSWORD":
		return "s3cr3t-pw", true
	case "TIKTOK_SECRET", "TIKTOK_ACCESS_TOKEN":
		return "tt-" + name, true
	}
	return "", false
}

func loadTestdata(t *testing.T, name string) (Config, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return Parse(data, testLookup)
}

func TestGoodFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.good.yml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := loadTestdata(t, filepath.Base(f))
			require.NoError(t, err)
		})
	}
}

func TestBadFiles(t *testing.T) {
	expected := map[string]string{
		"unknown_key.bad.yml":            "field adress not found",
		"missing_env.bad.yml":            "line 2: environment variable ADHOUSE_TEST_SURELY_UNSET is not set",
		"bad_protocol.bad.yml":           `clickhouse.protocol: "grpc" is not native or http`,
		"default_database.bad.yml":       `clickhouse.database: "default" is reserved`,
		"no_addr.bad.yml":                "clickhouse.addr: required when clickhouse.embedded is false",
		"bad_database.bad.yml":           "clickhouse.database: \"ads; DROP TABLE x\" is not a plain identifier",
		"bad_batch.bad.yml":              "load.batch_size: must be at least 1",
		"bad_duration.bad.yml":           "cannot unmarshal !!str `soon` into time.Duration",
		"same_ports.bad.yml":             "warehouse.http_port: must differ from warehouse.tcp_port",
		"bad_yaml.bad.yml":               "did not find expected",
		"bad_log.bad.yml":                `log.format: "xml" is not auto, console or json`,
		"bad_tier.bad.yml":               `tiktok.tier: "gold" is not basic, advanced, premium or ultimate`,
		"bad_level.bad.yml":              `sync.levels: "creative" is not advertiser, campaign, adgroup or ad`,
		"public_listen.bad.yml":          `serve.listen: "0.0.0.0:9464" is not a loopback address`,
		"bad_cron.bad.yml":               `serve.schedules[0] (nightly): cron "61 * * * *"`,
		"bad_window.bad.yml":             "sync.window_days: 31 is not between 1 and 30",
		"bad_worker.bad.yml":             "worker: index 2 of count 2",
		"two_tokens.bad.yml":             "set either access_token or access_token_file, not both",
		"bad_imports.bad.yml":            `imports.match_by: "fuzzy" is not id, name or id_or_name`,
		"bad_cluster_mode.bad.yml":       `clickhouse.cluster_mode: "mirrored" is not replicated or sharded`,
		"sharded_no_cluster.bad.yml":     "clickhouse.cluster_mode: sharded needs clickhouse.cluster",
		"sharded_embedded.bad.yml":       "clickhouse.cluster_mode: sharded needs clickhouse.addr with one node per shard",
		"node_without_native.bad.yml":    "warehouse.cluster: a cluster node needs warehouse.native: true and a fixed warehouse.tcp_port",
		"bad_reporting_currency.bad.yml": `imports.reporting_currency: "euro" is not an ISO 4217 code`,
		"bad_bi.bad.yml":                 "bi.max_result_rows: must be positive",
		"bad_tolerance.bad.yml":          `sync.reconcile_tolerance: "-1" is not a non-negative decimal`,
		"bad_async_wait.bad.yml":         "sync.async_report_max_wait: 1s is shorter than sync.async_report_poll (5s)",
		"bad_async_threshold.bad.yml":    "sync.async_report_threshold: -1 is negative",
	}
	files, err := filepath.Glob("testdata/*.bad.yml")
	require.NoError(t, err)
	require.Len(t, files, len(expected), "every bad fixture needs an expected error")
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			want, ok := expected[name]
			require.True(t, ok, "no expected error for %s", name)
			_, err := loadTestdata(t, name)
			require.ErrorContains(t, err, want)
		})
	}
}

func TestDefaultsApplyUnderPartialConfig(t *testing.T) {
	cfg, err := loadTestdata(t, "production.good.yml")
	require.NoError(t, err)
	require.Equal(t, []string{"ch1.internal:9440", "ch2.internal:9440"}, cfg.ClickHouse.Addr)
	require.Equal(t, "s3cr3t-pw", cfg.ClickHouse.Password.Reveal())
	require.Equal(t, 50000, cfg.Load.BatchSize)
	// Keys the file leaves out keep their defaults.
	require.Equal(t, Default().Load.MaxRetries, cfg.Load.MaxRetries)
	require.Equal(t, 10*time.Second, cfg.ClickHouse.DialTimeout)
}

// TestAsyncReportSettings: the defaults are the components' own, and a file
// overrides them.
func TestAsyncReportSettings(t *testing.T) {
	d := Default().Sync
	require.Equal(t, extract.DefaultAsyncReportThreshold, d.AsyncReportThreshold)
	require.Equal(t, 20000, d.AsyncReportThreshold)
	require.Equal(t, tiktok.DefaultTaskPollInterval, d.AsyncReportPoll)
	require.Equal(t, tiktok.DefaultTaskMaxWait, d.AsyncReportMaxWait)
	cfg, err := loadTestdata(t, "agency.good.yml")
	require.NoError(t, err)
	require.Equal(t, 10000, cfg.Sync.AsyncReportThreshold)
	require.Equal(t, 10*time.Second, cfg.Sync.AsyncReportPoll)
	require.Equal(t, time.Hour, cfg.Sync.AsyncReportMaxWait)
}

func TestExampleConfigLoads(t *testing.T) {
	t.Setenv("CLICKHOUSE_PASSWORD", "x")
	cfg, err := LoadFile(filepath.Join("..", "..", "configs", "adhouse.example.yaml"))
	require.NoError(t, err)
	require.True(t, cfg.ClickHouse.Embedded)
}

func TestEveryShippedConfigLoads(t *testing.T) {
	t.Setenv("TIKTOK_BASE_URL", "http://127.0.0.1:1/open_api/v1.3/")
	t.Setenv("TIKTOK_ACCESS_TOKEN", "t")
	files, err := filepath.Glob(filepath.Join("..", "..", "configs", "*.yaml"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 2)
	for _, f := range files {
		_, err := LoadFile(f)
		require.NoError(t, err, f)
	}
}

func TestEmptyPathIsDefault(t *testing.T) {
	cfg, err := LoadFile("")
	require.NoError(t, err)
	require.Equal(t, Default(), cfg)
}

func TestSecretNeverPrints(t *testing.T) {
	cfg, err := loadTestdata(t, "production.good.yml")
	require.NoError(t, err)
	for _, out := range []string{
		fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprint(cfg.ClickHouse.Password),
		mustJSON(t, cfg),
	} {
		require.NotContains(t, out, "s3cr3t-pw")
	}
}

func TestExpansionOnlyInValues(t *testing.T) {
	// A comment naming an unset variable must not fail the load.
	_, err := Parse([]byte("# uses ${NOT_SET_ANYWHERE}\nlog:\n  level: info\n"), testLookup)
	require.NoError(t, err)
	_, err = Parse([]byte("log:\n  level: ${NOT_SET_ANYWHERE}\n"), testLookup)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "NOT_SET_ANYWHERE"))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestExampleDocumentsEveryKey keeps configs/adhouse.example.yaml, the
// configuration reference, complete: every key of the Config struct appears in
// it, so a new setting cannot ship undocumented.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "configs", "adhouse.example.yaml"))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(data, &doc))
	var missing []string
	var walk func(typ reflect.Type, node any, path string)
	walk = func(typ reflect.Type, node any, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			key := strings.TrimPrefix(path+"."+tag, ".")
			m, _ := node.(map[string]any)
			child, ok := m[tag]
			if !ok {
				missing = append(missing, key)
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				if items, _ := child.([]any); len(items) > 0 {
					walk(ft.Elem(), items[0], key+"[]")
				}
				continue
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Duration(0)) {
				walk(ft, child, key)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), doc, "")
	require.Empty(t, missing, "keys missing from configs/adhouse.example.yaml")
}

// TestTikTokVariablesNeededOnlyToCallTikTok: an unset ${VAR} in the tiktok
// section does not stop the load (migrate, export and the warehouse never
// call TikTok); Ready names the key and the variable for the commands that
// do, and the key keeps its default meanwhile. Elsewhere it is still an error.
func TestTikTokVariablesNeededOnlyToCallTikTok(t *testing.T) {
	yml := "tiktok:\n  base_url: ${SIM_URL_UNSET}\n  access_token: ${TOKEN_UNSET}\n  tier: basic\n"
	cfg, err := Parse([]byte(yml), testLookup)
	require.NoError(t, err)
	require.Equal(t, Default().TikTok.BaseURL, cfg.TikTok.BaseURL)
	err = cfg.TikTok.Ready()
	require.ErrorContains(t, err, "tiktok.base_url (line 2): environment variable SIM_URL_UNSET is not set")
	require.ErrorContains(t, err, "tiktok.access_token (line 3): environment variable TOKEN_UNSET is not set")

	cfg, err = Parse([]byte("tiktok:\n  access_token: ${TIKTOK_ACCESS_TOKEN}\n"), testLookup)
	require.NoError(t, err)
	require.NoError(t, cfg.TikTok.Ready())
	require.Equal(t, "tt-TIKTOK_ACCESS_TOKEN", cfg.TikTok.AccessToken.Reveal())

	_, err = Parse([]byte("clickhouse:\n  password: ${TOKEN_UNSET}\n"), testLookup)
	require.ErrorContains(t, err, "line 2: environment variable TOKEN_UNSET is not set")
}
