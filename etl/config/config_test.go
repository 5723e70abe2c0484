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
	cfg, err := Parse(data, testLookup)
	if err == nil {
		err = cfg.Need() // what every warehouse command needs
	}
	return cfg, err
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
		"unknown_key.bad.yml":            `line 2: unknown key "adress"`,
		"missing_env.bad.yml":            "clickhouse.password (line 2): environment variable ADHOUSE_TEST_SURELY_UNSET is not set",
		"cron_step.bad.yml":              `serve.schedules[0] (nightly): cron "*/61 * * * *": minute field "*/61": the step 61 is beyond the field's range 0-59`,
		"bad_protocol.bad.yml":           `clickhouse.protocol: "grpc" is not native or http`,
		"default_database.bad.yml":       `clickhouse.database: "default" is reserved`,
		"no_addr.bad.yml":                "clickhouse.addr: required when clickhouse.embedded is false",
		"bad_database.bad.yml":           "clickhouse.database: \"ads; DROP TABLE x\" is not a plain identifier",
		"bad_batch.bad.yml":              "load.batch_size: must be at least 1",
		"bad_duration.bad.yml":           "found `soon` where a duration such as 30s, 5m or 1h30m is expected",
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
	cfg, err := Parse([]byte("log:\n  level: ${NOT_SET_ANYWHERE}\n"), testLookup)
	require.NoError(t, err)
	err = cfg.Need()
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

	cfg, err = Parse([]byte("clickhouse:\n  password: ${TOKEN_UNSET}\n"), testLookup)
	require.NoError(t, err)
	require.ErrorContains(t, cfg.Need(), "clickhouse.password (line 2): environment variable TOKEN_UNSET is not set")
}

// TestVariablesNeededOnlyWhereUsed: a ${VAR} left unset fails only the
// commands that use its key (Need names the key, its line and the
// variable); `warehouse stop` needs only warehouse.dir.
func TestVariablesNeededOnlyWhereUsed(t *testing.T) {
	yml := `clickhouse:
  password: ${CH_PW_UNSET}
  user: ${CH_USER_UNSET}
warehouse:
  dir: /var/lib/adhouse
sync:
  advertisers: ["${ADV_UNSET}"]
tiktok:
  access_token: ${TOKEN_UNSET}
`
	cfg, err := Parse([]byte(yml), testLookup)
	require.NoError(t, err)
	require.NoError(t, cfg.Need("warehouse.dir"), "warehouse stop/status")
	require.Equal(t, "/var/lib/adhouse", cfg.Warehouse.Dir)
	err = cfg.Need()
	require.ErrorContains(t, err, "clickhouse.password (line 2): environment variable CH_PW_UNSET is not set")
	require.ErrorContains(t, err, "clickhouse.user (line 3): environment variable CH_USER_UNSET is not set")
	require.ErrorContains(t, err, "sync.advertisers[0] (line 7): environment variable ADV_UNSET is not set")
	require.NotContains(t, err.Error(), "TOKEN_UNSET", "the tiktok section is TikTok.Ready's")
	require.ErrorContains(t, cfg.Need("sync"), "ADV_UNSET")
	require.NotContains(t, cfg.Need("sync").Error(), "CH_PW_UNSET")
	require.ErrorContains(t, cfg.TikTok.Ready(), "tiktok.access_token (line 9): environment variable TOKEN_UNSET is not set")
}

// TestYAMLErrorsSpeakYAML: a value of the wrong kind is described in the
// file's terms, never with Go's type names.
func TestYAMLErrorsSpeakYAML(t *testing.T) {
	for _, tc := range []struct{ yml, want string }{
		{"sync: foo\n", "line 1: found `foo` where a section of keys (key: value lines) is expected"},
		{"sync:\n  lookback_days: abc\n", "line 2: found `abc` where a whole number is expected"},
		{"sync:\n  levels: ad\n", "line 2: found `ad` where a list is expected"},
		{"sync:\n  lookback_overrides: [1]\n", "line 2: found a list where a mapping is expected"},
		{"clickhouse:\n  embedded: maybe\n", "line 2: found `maybe` where true or false is expected"},
		{"tiktok:\n  timeout: soon\n", "line 2: found `soon` where a duration such as 30s, 5m or 1h30m is expected"},
		{"clickhouse:\n  adress: x\n", `line 2: unknown key "adress"`},
	} {
		_, err := Parse([]byte(tc.yml), testLookup)
		require.ErrorContains(t, err, tc.want, tc.yml)
		for _, leak := range []string{"config.", "time.Duration", "!!", "[]string", "unmarshal"} {
			require.NotContains(t, err.Error(), leak, tc.yml)
		}
	}
}

// TestStandardCron: crontab's Sunday-as-7 is accepted (also at the end of a
// range), and a step beyond its field's range is refused by name.
func TestStandardCron(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"0 3 * * 7", "0 3 * * 0", ""},
		{"0 3 * * 5-7", "0 3 * * 5-6,0", ""},
		{"0 3 * * 1,7", "0 3 * * 1,0", ""},
		{"*/15 * * * *", "*/15 * * * *", ""},
		{"@every 10m", "@every 10m", ""},
		{"*/61 * * * *", "", `minute field "*/61": the step 61 is beyond the field's range 0-59`},
		{"0 */25 * * *", "", `hour field "*/25": the step 25 is beyond the field's range 0-23`},
		{"0 0 */0 * *", "", `day of month field "*/0": the step "0" is not a positive whole number`},
		{"61 * * * *", "", "above maximum"},
		{"0 3 * * 8", "", "above maximum"},
	} {
		got, err := StandardCron(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

// TestWarehouseDirRelativeToConfigFile: a relative warehouse.dir set in a
// file is under the file's folder, whatever the working folder; the
// default (no key) stays relative to the working folder.
func TestWarehouseDirRelativeToConfigFile(t *testing.T) {
	dir := t.TempDir()
	set := filepath.Join(dir, "set.yaml")
	require.NoError(t, os.WriteFile(set, []byte("warehouse:\n  dir: data/wh\n"), 0o600))
	cfg, err := LoadFile(set)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "data/wh"), cfg.Warehouse.Dir)

	unset := filepath.Join(dir, "unset.yaml")
	require.NoError(t, os.WriteFile(unset, []byte("log:\n  level: warn\n"), 0o600))
	cfg, err = LoadFile(unset)
	require.NoError(t, err)
	require.Equal(t, Default().Warehouse.Dir, cfg.Warehouse.Dir)
}
