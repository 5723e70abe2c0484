// Package config loads adhouse's one YAML configuration file: strict keys,
// ${ENV} expansion and every default in one place ([Default]).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/adhouse/adhouse/etl/extract"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// Protocol names the ClickHouse wire protocol the pipeline speaks.
type Protocol string

// The two protocols clickhouse-go supports; both are tested against the real engine.
const (
	ProtocolNative Protocol = "native"
	ProtocolHTTP   Protocol = "http"
)

// Config is the whole adhouse configuration, as loaded from YAML over [Default].
type Config struct {
	ClickHouse ClickHouse `yaml:"clickhouse"`
	Warehouse  Warehouse  `yaml:"warehouse"`
	BI         BI         `yaml:"bi"`
	Load       Load       `yaml:"load"`
	TikTok     TikTok     `yaml:"tiktok"`
	Sync       Sync       `yaml:"sync"`
	Worker     Worker     `yaml:"worker"`
	Serve      Serve      `yaml:"serve"`
	Log        Log        `yaml:"log"`
	Imports    Imports    `yaml:"imports"`

	// unset lists every key whose ${VAR} was not set, with its line and
	// variable: a command fails on those it uses (see Need), not on all.
	unset []unsetKey
}

// unsetKey is a key whose ${VAR} reference was not set in the environment.
type unsetKey struct{ key, text string }

// Need reports the keys among prefixes (a key or a section such as
// "clickhouse"; none means every key outside the tiktok section, which
// TikTok.Ready guards) whose ${VAR} was not set, naming each key, its line
// and the variable. Commands call it with what they use, so `adhouse
// warehouse stop` runs without CLICKHOUSE_PASSWORD.
func (c Config) Need(prefixes ...string) error {
	var msgs []string
	for _, u := range c.unset {
		if keyUnder(u.key, prefixes) {
			msgs = append(msgs, u.text)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "; "))
}

func keyUnder(key string, prefixes []string) bool {
	if len(prefixes) == 0 {
		return key != "tiktok" && !strings.HasPrefix(key, "tiktok.")
	}
	for _, p := range prefixes {
		if key == p || strings.HasPrefix(key, p+".") || strings.HasPrefix(key, p+"[") {
			return true
		}
	}
	return false
}

// TikTok says how to reach the Marketing API and with which developer app.
type TikTok struct {
	// BaseURL is production, the sandbox or a simulator, ending in /open_api/v1.3/.
	BaseURL string `yaml:"base_url"`
	AppID   string `yaml:"app_id"`
	// Secret and AccessToken are secrets: write them as ${ENV} or use AccessTokenFile.
	Secret      Secret `yaml:"secret"`
	AccessToken Secret `yaml:"access_token"`
	// AccessTokenFile holds the token (as `adhouse auth` stores it, mode 0600).
	AccessTokenFile string `yaml:"access_token_file"`
	// Tier is the app's rate-limit tier: basic, advanced, premium or ultimate.
	Tier string `yaml:"tier"`
	// QPS and QPM override the tier's limits when set.
	QPS int `yaml:"qps"`
	QPM int `yaml:"qpm"`
	// MinutePause is how long the whole app waits after a per-minute limit hit.
	MinutePause time.Duration `yaml:"minute_pause"`
	MaxRetries  int           `yaml:"max_retries"`
	Timeout     time.Duration `yaml:"timeout"`
	// PageSize is the page_size of paged requests (at most 1000).
	PageSize int `yaml:"page_size"`

	// unset lists the keys of this section whose ${VAR} was not set: only
	// commands that call TikTok need them (see Ready), so a missing token
	// does not stop `migrate` or `export`.
	unset []string
}

// Ready reports whether the section can be used to call TikTok: a key
// written as ${VAR} with VAR unset fails here, naming the key and the
// variable, and not when the file is loaded.
func (t TikTok) Ready() error {
	if len(t.unset) == 0 {
		return nil
	}
	return fmt.Errorf("%s (this command calls TikTok)", strings.Join(t.unset, "; "))
}

// Sync chooses what `adhouse sync` and `adhouse backfill` pull.
type Sync struct {
	// Advertisers to sync; empty means every advertiser the token is authorised for.
	Advertisers []string `yaml:"advertisers"`
	// Levels among advertiser, campaign, adgroup, ad.
	Levels []string `yaml:"levels"`
	// Granularities among daily, hourly.
	Granularities []string `yaml:"granularities"`
	// LookbackDays re-pulls this many days before the checkpoint, because
	// attributed conversions keep changing after the day ends.
	LookbackDays int `yaml:"lookback_days"`
	// LookbackOverrides sets a different lookback for some advertisers.
	LookbackOverrides map[string]int `yaml:"lookback_overrides"`
	// InitialDays is how far back the first sync of an advertiser goes.
	InitialDays int `yaml:"initial_days"`
	// WindowDays is the size of one daily report window (at most 30).
	WindowDays int `yaml:"window_days"`
	// Concurrency bounds the advertisers and streams pulled at once; all share
	// the app's rate limiter.
	Concurrency int `yaml:"concurrency"`
	// Metrics requested from the report; empty means the default list.
	Metrics []string `yaml:"metrics"`
	// Entities pulls advertisers, campaigns, ad groups and ads before stats.
	Entities bool `yaml:"entities"`
	// ReconcileTolerance is how far a level's spend on one day may differ
	// from the advertiser total, in the account currency, before the day is
	// reported as out of balance (a decimal such as "0.01"; rounding of
	// TikTok's per-row spend stays below it).
	ReconcileTolerance string `yaml:"reconcile_tolerance"`
	// AsyncReportThreshold pulls advertisers with at least this many ads
	// through asynchronous report tasks (TikTok truncates the synchronous
	// report from 20,000 ads); 0 relies on TikTok's answers alone (40067,
	// X-Tt-Ads-Throttle), which switch a window to a task too.
	AsyncReportThreshold int `yaml:"async_report_threshold"`
	// AsyncReportPoll is the first wait between checks of a report task; it
	// doubles up to a minute.
	AsyncReportPoll time.Duration `yaml:"async_report_poll"`
	// AsyncReportMaxWait bounds a report task from its creation to its file;
	// a task still unfinished then is cancelled and its window fails.
	AsyncReportMaxWait time.Duration `yaml:"async_report_max_wait"`
}

// Worker shards advertisers across daemons by a stable hash of their id.
type Worker struct {
	Index int `yaml:"index"`
	Count int `yaml:"count"`
}

// Serve configures the `adhouse serve` daemon.
type Serve struct {
	// Listen is the loopback address of /healthz and /metrics.
	Listen string `yaml:"listen"`
	// Timezone is the zone cron schedules are read in.
	Timezone string `yaml:"timezone"`
	// Schedules are the jobs the daemon runs.
	Schedules []Schedule `yaml:"schedules"`
	// ShutdownTimeout bounds the wait for a running job on SIGTERM.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// Schedule is one cron job of the daemon.
type Schedule struct {
	Name string `yaml:"name"`
	// Cron is a standard 5-field cron expression (or @hourly, @daily, @every 10m).
	Cron string `yaml:"cron"`
	// Job is sync (stats from the checkpoint minus lookback), today (only
	// today's stats) or entities (advertisers, campaigns, ad groups, ads).
	Job string `yaml:"job"`
}

// ClickHouse says where the warehouse is and how to talk to it. With Embedded
// set, the address, user and password come from the embedded warehouse's state
// in Warehouse.Dir and the fields below are ignored except Protocol and Database.
type ClickHouse struct {
	// Embedded uses the warehouse started by `adhouse warehouse start`.
	Embedded bool `yaml:"embedded"`
	// Addr lists host:port pairs of the server (native port for native, HTTP port for http).
	Addr []string `yaml:"addr"`
	// Protocol is native or http.
	Protocol Protocol `yaml:"protocol"`
	// Database holds every adhouse table; it is created with ENGINE = Atomic.
	Database string `yaml:"database"`
	User     string `yaml:"user"`
	// Password is a secret: write it as ${CLICKHOUSE_PASSWORD}, never inline.
	Password Secret `yaml:"password"`
	TLS      TLS    `yaml:"tls"`
	// Cluster, when set, names the ClickHouse cluster (its remote_servers
	// entry): rows live in _local tables on every shard behind Distributed
	// tables. ClusterMode says how the DDL reaches the nodes.
	Cluster string `yaml:"cluster"`
	// ClusterMode is replicated (the default: ON CLUSTER DDL, Replicated
	// engines, needs Keeper) or sharded (adhouse runs each statement on
	// every node of addr itself; plain MergeTree shards; no Keeper). In
	// sharded mode each addr is one shard's node. See docs/operating.md.
	ClusterMode string        `yaml:"cluster_mode"`
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// QueryTimeout bounds one statement; a load's batches each get this long.
	QueryTimeout time.Duration `yaml:"query_timeout"`
	MaxOpenConns int           `yaml:"max_open_conns"`
}

// The cluster modes of clickhouse.cluster_mode.
const (
	ClusterReplicated = "replicated"
	ClusterSharded    = "sharded"
)

// Sharded reports whether adhouse itself runs DDL and per-shard deletes on
// every node (cluster_mode: sharded).
func (ch ClickHouse) Sharded() bool { return ch.Cluster != "" && ch.ClusterMode == ClusterSharded }

// TLS configures an encrypted connection to a production ClickHouse.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// Warehouse configures the embedded ClickHouse engine that adhouse serves on loopback.
type Warehouse struct {
	// Dir keeps the engine's data, generated users, logs, pid and state files.
	Dir string `yaml:"dir"`
	// Library is the path of libchdb.so from the pinned npm package.
	Library string `yaml:"library"`
	// HTTPPort is the loopback HTTP port; 0 keeps the last one, or picks a free one.
	HTTPPort int `yaml:"http_port"`
	// Native also serves the native protocol on TCPPort (0 picks a free one).
	// Off by default: see docs/operating.md, "Threat model".
	Native  bool `yaml:"native"`
	TCPPort int  `yaml:"tcp_port"`
	// StartTimeout bounds the wait until the engine answers.
	StartTimeout time.Duration `yaml:"start_timeout"`
	// Cluster makes the engine a node of a sharded cluster: it writes the
	// cluster's remote_servers entry into the engine's configuration.
	Cluster *WarehouseCluster `yaml:"cluster"`
}

// WarehouseCluster is the remote_servers entry of an embedded engine that is
// one node of a sharded cluster (clickhouse.cluster_mode: sharded). Nodes
// talk over the native protocol, authenticated by the shared secret.
type WarehouseCluster struct {
	// Name is the cluster's name, as clickhouse.cluster says it.
	Name string `yaml:"name"`
	// Secret authenticates node-to-node queries; the same on every node.
	// Write it as ${ADHOUSE_CLUSTER_SECRET}, never inline.
	Secret Secret `yaml:"secret"`
	// Shards lists each shard's native host:port, this node's included.
	Shards []string `yaml:"shards"`
}

// BI limits the read-only BI user's sessions, in the embedded warehouse's
// users.xml and in queries/bi_role.sql for production servers. A session may
// lower each limit, never raise it.
type BI struct {
	MaxExecutionTime time.Duration `yaml:"max_execution_time"`
	// MaxMemoryUsage is in bytes, per query.
	MaxMemoryUsage int64 `yaml:"max_memory_usage"`
	MaxResultRows  int64 `yaml:"max_result_rows"`
	// MaxThreads per query; 0 means one per CPU of the machine that renders it.
	MaxThreads           int `yaml:"max_threads"`
	MaxConcurrentQueries int `yaml:"max_concurrent_queries"`
	// The hourly quota.
	QuotaQueriesPerHour       int64         `yaml:"quota_queries_per_hour"`
	QuotaExecutionTimePerHour time.Duration `yaml:"quota_execution_time_per_hour"`
	QuotaResultRowsPerHour    int64         `yaml:"quota_result_rows_per_hour"`
}

// Load tunes the ClickHouse loader.
type Load struct {
	// BatchSize is the number of rows per INSERT; memory is bounded by it.
	BatchSize int `yaml:"batch_size"`
	// MaxRetries is how often a batch is resent after a retryable ClickHouse error.
	MaxRetries int `yaml:"max_retries"`
	// RetryBackoff is the first wait between retries; it doubles each time.
	RetryBackoff time.Duration `yaml:"retry_backoff"`
}

// Log chooses the log level and format.
type Log struct {
	// Level is one of trace, debug, info, warn, error.
	Level string `yaml:"level"`
	// Format is auto (console on a terminal, JSON otherwise), console or json.
	Format string `yaml:"format"`
}

// Secret is a string that never prints: fmt, logs and YAML output see a mask.
type Secret string

// String masks the secret so it cannot leak through fmt or zerolog.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<redacted>"
}

// MarshalYAML masks the secret in any re-encoded configuration.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalJSON masks the secret in any JSON output.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// Reveal returns the secret for the one place that needs it: the driver.
func (s Secret) Reveal() string { return string(s) }

// Default returns the configuration used when a key is absent: the embedded
// warehouse over HTTP. Each value is the default of the component it
// configures (load.DefaultBatchSize, tiktok.DefaultTimeout…), so the file's
// defaults and the components' zero values never disagree.
func Default() Config {
	return Config{
		ClickHouse: ClickHouse{
			Embedded: true,
			// HTTP by default: the embedded warehouse serves native only when
			// asked to (warehouse.native), and proves its identity over HTTP.
			Protocol:     ProtocolHTTP,
			Database:     "adhouse",
			User:         "default",
			ClusterMode:  ClusterReplicated,
			DialTimeout:  10 * time.Second,
			QueryTimeout: 5 * time.Minute,
			MaxOpenConns: 8,
		},
		Warehouse: Warehouse{
			Dir:          ".adhouse/warehouse",
			Library:      "tools/chdb/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so",
			StartTimeout: 60 * time.Second,
		},
		BI: BI{
			MaxExecutionTime:          300 * time.Second,
			MaxMemoryUsage:            4 << 30,
			MaxResultRows:             10_000_000,
			MaxConcurrentQueries:      8,
			QuotaQueriesPerHour:       36_000,
			QuotaExecutionTimePerHour: 2 * time.Hour,
			QuotaResultRowsPerHour:    1_000_000_000,
		},
		Load: Load{
			BatchSize:    load.DefaultBatchSize,
			MaxRetries:   load.DefaultMaxRetries,
			RetryBackoff: load.DefaultRetryBackoff,
		},
		TikTok: TikTok{
			BaseURL:     tiktok.ProductionBaseURL,
			Tier:        tiktok.TierBasic.Name,
			MinutePause: tiktok.DefaultAppPause,
			MaxRetries:  tiktok.DefaultMaxRetries,
			Timeout:     tiktok.DefaultTimeout,
			PageSize:    tiktok.DefaultPageSize,
		},
		Sync: Sync{
			Levels:        []string{tiktok.LevelAdvertiser.Name(), tiktok.LevelCampaign.Name(), tiktok.LevelAdGroup.Name(), tiktok.LevelAd.Name()},
			Granularities: []string{tiktok.Daily.Name()},
			LookbackDays:  extract.DefaultLookbackDays,
			InitialDays:   extract.DefaultInitialDays,
			WindowDays:    extract.DefaultWindowDays,
			Concurrency:   extract.DefaultConcurrency,
			Entities:      true,
			// Reconciliation is part of every sync.
			ReconcileTolerance: extract.DefaultReconcileTolerance,

			AsyncReportThreshold: extract.DefaultAsyncReportThreshold,
			AsyncReportPoll:      tiktok.DefaultTaskPollInterval,
			AsyncReportMaxWait:   tiktok.DefaultTaskMaxWait,
		},
		Worker: Worker{Index: 0, Count: 1},
		Serve: Serve{
			Listen:   "127.0.0.1:9464",
			Timezone: "UTC",
			Schedules: []Schedule{
				{Name: "hourly-today", Cron: "5 * * * *", Job: "today"},
				{Name: "nightly-lookback", Cron: "30 3 * * *", Job: "sync"},
				{Name: "weekly-entities", Cron: "0 4 * * 0", Job: "entities"},
			},
			ShutdownTimeout: 2 * time.Minute,
		},
		Log: Log{Level: "info", Format: "auto"},
		Imports: Imports{
			LookbackDays:      30,
			MatchBy:           "id_or_name",
			CampaignParam:     "utm_campaign",
			AdGroupParam:      "utm_term",
			AdParam:           "utm_content",
			TikTokSources:     []string{"tiktok", "tiktok.com", "tiktokads", "tiktok_ads"},
			ConversionEvents:  []string{"purchase"},
			GA4Currency:       "USD",
			RefundedOrderCost: "keep",
			FeePerOrder:       "0",
			FeePercent:        "0",
			BatchSize:         ingest.DefaultBatchSize,
			CRM: CRMColumns{
				ID: "Record ID", Created: "Create Date", Closed: "Close Date", Stage: "Deal Stage",
				Won: "Is Closed Won", Amount: "Amount", Currency: "Currency",
				UTMSource: "utm_source", UTMMedium: "utm_medium", UTMCampaign: "utm_campaign",
				UTMContent: "utm_content", UTMTerm: "utm_term", TTCLID: "ttclid",
				WonStages: []string{"closedwon", "Closed Won"},
			},
			Orders: OrderColumns{
				ID: "order_id", Created: "created_at", Currency: "currency", Revenue: "revenue",
				Shipping: "shipping", Taxes: "taxes", Total: "total", Discount: "discount", Refunded: "refunded",
				Fees: "fees", Status: "financial_status", Cancelled: "cancelled_at",
				SKU: "sku", Quantity: "quantity", Price: "price", LandingSite: "landing_site",
				UTMSource: "utm_source", UTMMedium: "utm_medium", UTMCampaign: "utm_campaign",
				UTMContent: "utm_content", UTMTerm: "utm_term", TTCLID: "ttclid",
			},
		},
	}
}

// LoadFile reads, expands and validates the YAML file at path. An empty path
// gives [Default], validated.
func LoadFile(path string) (Config, error) {
	if path == "" {
		cfg := Default()
		return cfg, cfg.Validate()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	cfg.resolvePaths(filepath.Dir(path))
	// warehouse.dir, when the file sets it, is relative to the file's folder
	// too: `adhouse -c /etc/adhouse/adhouse.yaml warehouse status` finds the
	// same warehouse from any working folder. The default stays relative to
	// the working folder, as without a file.
	var probe struct {
		Warehouse struct {
			Dir *string `yaml:"dir"`
		} `yaml:"warehouse"`
	}
	if yaml.Unmarshal(data, &probe) == nil && probe.Warehouse.Dir != nil {
		cfg.Warehouse.Dir = resolvePath(filepath.Dir(path), cfg.Warehouse.Dir)
	}
	return cfg, nil
}

// goTypes maps the Go types of yaml's decoding errors to what the reader of
// the file should write instead.
var goTypes = []struct {
	re  *regexp.Regexp
	say string
}{
	{regexp.MustCompile(`into config\.[A-Za-z]+`), "where a section of keys (key: value lines) is expected"},
	{regexp.MustCompile(`into \[\][A-Za-z.]+`), "where a list is expected"},
	{regexp.MustCompile(`into map\[[^\]]+\][A-Za-z.]+`), "where a mapping is expected"},
	{regexp.MustCompile(`into time\.Duration`), "where a duration such as 30s, 5m or 1h30m is expected"},
	{regexp.MustCompile(`into (u?int(8|16|32|64)?)\b`), "where a whole number is expected"},
	{regexp.MustCompile(`into float(32|64)\b`), "where a number is expected"},
	{regexp.MustCompile(`into bool\b`), "where true or false is expected"},
	{regexp.MustCompile(`into (string|config\.Secret|config\.Protocol)\b`), "where a single value is expected"},
}

var (
	yamlFound    = regexp.MustCompile(`cannot unmarshal !!(\w+)`)
	unknownField = regexp.MustCompile(`field (\S+) not found in type config\.\w+`)
)

// humanYAML rewrites a YAML decoding error without Go's type names (no
// "config.Sync" or "time.Duration" for the person editing the file).
func humanYAML(err error) error {
	msg := err.Error()
	for _, g := range goTypes {
		msg = g.re.ReplaceAllString(msg, g.say)
	}
	msg = strings.ReplaceAll(msg, "yaml: unmarshal errors:\n  ", "")
	msg = yamlFound.ReplaceAllStringFunc(msg, func(m string) string {
		kind := yamlFound.FindStringSubmatch(m)[1]
		switch kind {
		case "seq":
			return "found a list"
		case "map":
			return "found a section of keys"
		}
		return "found"
	})
	msg = unknownField.ReplaceAllString(msg, `unknown key "$1" (see configs/adhouse.example.yaml for every key)`)
	return errors.New(strings.TrimSpace(msg))
}

func resolvePath(dir, p string) string {
	if p != "" && !filepath.IsAbs(p) && dir != "" && dir != "." {
		return filepath.Join(dir, p)
	}
	return p
}

// Parse decodes YAML over [Default], expanding ${VAR} in values through lookup.
// Unknown keys are errors. A key whose variable is unset keeps its default
// and is remembered: [Config.Need] and [TikTok.Ready] report it to the
// commands that use it.
func Parse(data []byte, lookup func(string) (string, bool)) (Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, humanYAML(err)
	}
	var unset []unsetKey
	expandNode(&root, lookup, "", &unset)
	expanded, err := yaml.Marshal(&root)
	if err != nil {
		return Config{}, err
	}
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, humanYAML(err)
	}
	cfg.unset = unset
	for _, u := range unset {
		if strings.HasPrefix(u.key, "tiktok.") {
			cfg.TikTok.unset = append(cfg.TikTok.unset, u.text)
		}
	}
	if err := cfg.Validate(); err != nil {
		// A default standing in for an unset variable may be what fails.
		if len(unset) > 0 {
			texts := make([]string, len(unset))
			for i, u := range unset {
				texts[i] = u.text
			}
			return Config{}, fmt.Errorf("%w (note: %s)", err, strings.Join(texts, "; "))
		}
		return Config{}, err
	}
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandNode replaces ${VAR} in scalar values only, so a comment or a key can
// never pull in the environment, and a missing variable names itself. A key
// whose variable is missing is removed (its default stays) and listed in
// unset; an item of a list keeps the empty expansion and lists the list's
// key.
func expandNode(n *yaml.Node, lookup func(string) (string, bool), path string, unset *[]unsetKey) {
	switch n.Kind {
	case yaml.ScalarNode:
		if missing := expandScalar(n, lookup); len(missing) > 0 {
			*unset = append(*unset, unsetKey{path, fmt.Sprintf("%s (line %d): environment variable %s is not set", path, n.Line, strings.Join(missing, ", "))})
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); {
			key, val := n.Content[i], n.Content[i+1]
			p := key.Value
			if path != "" {
				p = path + "." + key.Value
			}
			if val.Kind == yaml.ScalarNode {
				if missing := expandScalar(val, lookup); len(missing) > 0 {
					*unset = append(*unset, unsetKey{p, fmt.Sprintf("%s (line %d): environment variable %s is not set", p, val.Line, strings.Join(missing, ", "))})
					n.Content = append(n.Content[:i], n.Content[i+2:]...)
					continue
				}
				i += 2
				continue
			}
			expandNode(val, lookup, p, unset)
			i += 2
		}
	default:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			expandNode(c, lookup, p, unset)
		}
	}
}

// expandScalar replaces the ${VAR} references of a scalar and returns the
// names of those not set.
func expandScalar(n *yaml.Node, lookup func(string) (string, bool)) []string {
	var missing []string
	n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := lookup(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	return missing
}

// resolvePaths makes relative file paths relative to the config file's folder.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" && dir != "." {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.ClickHouse.TLS.CAFile)
	abs(&c.TikTok.AccessTokenFile)
	abs(&c.Imports.GA4SourceCategories)
}

func (b BI) validate() error {
	if b.MaxExecutionTime < time.Second {
		return errors.New("bi.max_execution_time: must be at least 1s")
	}
	if b.QuotaExecutionTimePerHour < time.Second {
		return errors.New("bi.quota_execution_time_per_hour: must be at least 1s")
	}
	if b.MaxThreads < 0 {
		return errors.New("bi.max_threads: must be 0 (one per CPU) or more")
	}
	for key, v := range map[string]int64{"bi.max_memory_usage": b.MaxMemoryUsage, "bi.max_result_rows": b.MaxResultRows,
		"bi.max_concurrent_queries": int64(b.MaxConcurrentQueries), "bi.quota_queries_per_hour": b.QuotaQueriesPerHour,
		"bi.quota_result_rows_per_hour": b.QuotaResultRowsPerHour} {
		if v < 1 {
			return fmt.Errorf("%s: must be positive", key)
		}
	}
	return nil
}

// oneOf lists names as "a, b or c".
func oneOf(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate reports the first setting that cannot work, naming its key.
func (c Config) Validate() error {
	ch := c.ClickHouse
	switch ch.Protocol {
	case ProtocolNative, ProtocolHTTP:
	default:
		return fmt.Errorf("clickhouse.protocol: %q is not native or http", ch.Protocol)
	}
	if !identifier.MatchString(ch.Database) {
		return fmt.Errorf("clickhouse.database: %q is not a plain identifier", ch.Database)
	}
	if ch.Database == "default" || ch.Database == "system" {
		return fmt.Errorf("clickhouse.database: %q is reserved; adhouse keeps its tables in their own database", ch.Database)
	}
	if ch.Cluster != "" && !identifier.MatchString(ch.Cluster) {
		return fmt.Errorf("clickhouse.cluster: %q is not a plain identifier", ch.Cluster)
	}
	switch ch.ClusterMode {
	case ClusterReplicated:
	case ClusterSharded:
		if ch.Cluster == "" {
			return errors.New("clickhouse.cluster_mode: sharded needs clickhouse.cluster (the remote_servers name)")
		}
		if ch.Embedded {
			return errors.New("clickhouse.cluster_mode: sharded needs clickhouse.addr with one node per shard, not clickhouse.embedded")
		}
	default:
		return fmt.Errorf("clickhouse.cluster_mode: %q is not replicated or sharded", ch.ClusterMode)
	}
	if !ch.Embedded && len(ch.Addr) == 0 {
		return errors.New("clickhouse.addr: required when clickhouse.embedded is false")
	}
	for _, a := range ch.Addr {
		if !strings.Contains(a, ":") {
			return fmt.Errorf("clickhouse.addr: %q has no port", a)
		}
	}
	if ch.DialTimeout <= 0 {
		return errors.New("clickhouse.dial_timeout: must be positive")
	}
	if wc := c.Warehouse.Cluster; wc != nil {
		if !identifier.MatchString(wc.Name) {
			return fmt.Errorf("warehouse.cluster.name: %q is not a plain identifier", wc.Name)
		}
		if wc.Secret == "" {
			return errors.New("warehouse.cluster.secret: required: nodes refuse each other's queries without it")
		}
		if len(wc.Shards) == 0 {
			return errors.New("warehouse.cluster.shards: list each shard's native host:port")
		}
		for _, a := range wc.Shards {
			if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
				return fmt.Errorf("warehouse.cluster.shards: %q is not host:port", a)
			}
		}
		if !c.Warehouse.Native || c.Warehouse.TCPPort == 0 {
			return errors.New("warehouse.cluster: a cluster node needs warehouse.native: true and a fixed warehouse.tcp_port (the other nodes dial it)")
		}
	}
	if ch.QueryTimeout <= 0 {
		return errors.New("clickhouse.query_timeout: must be positive")
	}
	if ch.MaxOpenConns < 1 {
		return errors.New("clickhouse.max_open_conns: must be at least 1")
	}
	w := c.Warehouse
	if ch.Embedded && w.Dir == "" {
		return errors.New("warehouse.dir: required for the embedded warehouse")
	}
	for key, p := range map[string]int{"warehouse.tcp_port": w.TCPPort, "warehouse.http_port": w.HTTPPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("%s: %d is not a port", key, p)
		}
	}
	if w.TCPPort != 0 && w.TCPPort == w.HTTPPort {
		return errors.New("warehouse.http_port: must differ from warehouse.tcp_port")
	}
	if err := c.BI.validate(); err != nil {
		return err
	}
	if w.StartTimeout <= 0 {
		return errors.New("warehouse.start_timeout: must be positive")
	}
	if c.Load.BatchSize < 1 {
		return errors.New("load.batch_size: must be at least 1")
	}
	if c.Load.MaxRetries < 0 {
		return errors.New("load.max_retries: must not be negative")
	}
	if err := c.Imports.validate(); err != nil {
		return err
	}
	if err := c.validateSync(); err != nil {
		return err
	}
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not trace, debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "auto", "console", "json":
	default:
		return fmt.Errorf("log.format: %q is not auto, console or json", c.Log.Format)
	}
	return nil
}

func (c Config) validateSync() error {
	t := c.TikTok
	if !strings.HasSuffix(t.BaseURL, "/") || !strings.HasPrefix(t.BaseURL, "http") {
		return fmt.Errorf("tiktok.base_url: %q must be an http(s) URL ending in /", t.BaseURL)
	}
	var tiers []string
	for _, tier := range tiktok.Tiers {
		tiers = append(tiers, tier.Name)
	}
	if !slices.Contains(tiers, t.Tier) {
		return fmt.Errorf("tiktok.tier: %q is not %s", t.Tier, oneOf(tiers))
	}
	if t.QPS < 0 || t.QPM < 0 {
		return errors.New("tiktok.qps, tiktok.qpm: must not be negative")
	}
	if t.PageSize < 1 || t.PageSize > 1000 {
		return fmt.Errorf("tiktok.page_size: %d is not between 1 and 1000", t.PageSize)
	}
	if t.AccessToken != "" && t.AccessTokenFile != "" {
		return errors.New("tiktok.access_token_file: set either access_token or access_token_file, not both")
	}
	s := c.Sync
	if len(s.Levels) == 0 {
		return errors.New("sync.levels: at least one level is needed")
	}
	var levels []string
	for _, l := range tiktok.Levels {
		levels = append(levels, l.Name())
	}
	for _, l := range s.Levels {
		if !slices.Contains(levels, l) {
			return fmt.Errorf("sync.levels: %q is not %s", l, oneOf(levels))
		}
	}
	if len(s.Granularities) == 0 {
		return errors.New("sync.granularities: at least one granularity is needed")
	}
	grains := []string{tiktok.Daily.Name(), tiktok.Hourly.Name()}
	for _, g := range s.Granularities {
		if !slices.Contains(grains, g) {
			return fmt.Errorf("sync.granularities: %q is not %s", g, oneOf(grains))
		}
	}
	if !feeSyntax.MatchString(s.ReconcileTolerance) {
		return fmt.Errorf("sync.reconcile_tolerance: %q is not a non-negative decimal with at most 6 decimals, such as 0.01", s.ReconcileTolerance)
	}
	if s.LookbackDays < 0 || s.LookbackDays > 365 {
		return fmt.Errorf("sync.lookback_days: %d is not between 0 and 365", s.LookbackDays)
	}
	for adv, d := range s.LookbackOverrides {
		if d < 0 || d > 365 {
			return fmt.Errorf("sync.lookback_overrides.%s: %d is not between 0 and 365", adv, d)
		}
	}
	if s.InitialDays < 1 {
		return errors.New("sync.initial_days: must be at least 1")
	}
	if s.WindowDays < 1 || s.WindowDays > 30 {
		return fmt.Errorf("sync.window_days: %d is not between 1 and 30 (TikTok's cap for daily reports)", s.WindowDays)
	}
	if s.Concurrency < 1 {
		return errors.New("sync.concurrency: must be at least 1")
	}
	if s.AsyncReportThreshold < 0 {
		return fmt.Errorf("sync.async_report_threshold: %d is negative (0 decides by TikTok's answers alone)", s.AsyncReportThreshold)
	}
	if s.AsyncReportPoll <= 0 {
		return fmt.Errorf("sync.async_report_poll: %s must be positive", s.AsyncReportPoll)
	}
	if s.AsyncReportMaxWait < s.AsyncReportPoll {
		return fmt.Errorf("sync.async_report_max_wait: %s is shorter than sync.async_report_poll (%s)", s.AsyncReportMaxWait, s.AsyncReportPoll)
	}
	w := c.Worker
	if w.Count < 1 || w.Index < 0 || w.Index >= w.Count {
		return fmt.Errorf("worker: index %d of count %d: need 0 <= index < count", w.Index, w.Count)
	}
	v := c.Serve
	host, _, err := net.SplitHostPort(v.Listen)
	if err != nil {
		return fmt.Errorf("serve.listen: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("serve.listen: %q is not a loopback address", v.Listen)
	}
	if _, err := time.LoadLocation(v.Timezone); err != nil {
		return fmt.Errorf("serve.timezone: %w", err)
	}
	names := map[string]bool{}
	for i, sc := range v.Schedules {
		if sc.Name == "" || names[sc.Name] {
			return fmt.Errorf("serve.schedules[%d]: name %q is empty or repeated", i, sc.Name)
		}
		names[sc.Name] = true
		if sc.Job == "" {
			return fmt.Errorf("serve.schedules[%d] (%s): job is empty", i, sc.Name)
		}
		if _, err := StandardCron(sc.Cron); err != nil {
			return fmt.Errorf("serve.schedules[%d] (%s): cron %q: %w", i, sc.Name, sc.Cron, err)
		}
	}
	if v.ShutdownTimeout <= 0 {
		return errors.New("serve.shutdown_timeout: must be positive")
	}
	return nil
}

// Imports configures `adhouse import` (GA4, CRM, orders, product costs), the
// attribution views and `adhouse export roas`.
type Imports struct {
	// LookbackDays: a TikTok touch at most this many days before a GA4
	// conversion can assist it (and be its last click).
	LookbackDays int `yaml:"lookback_days"`
	// MatchBy says how a UTM reference finds a TikTok entity: id, name or id_or_name.
	MatchBy string `yaml:"match_by"`
	// CampaignParam, AdGroupParam and AdParam name the UTM parameter carrying
	// each level's id or name: utm_campaign, utm_id, utm_content, utm_term or "".
	CampaignParam string `yaml:"campaign_param"`
	AdGroupParam  string `yaml:"adgroup_param"`
	AdParam       string `yaml:"ad_param"`
	// TikTokSources are utm_source values meaning TikTok; a ttclid always does.
	TikTokSources []string `yaml:"tiktok_sources"`
	// ConversionEvents are the GA4 event names counted as conversions.
	ConversionEvents []string `yaml:"conversion_events"`
	// GA4Currency is the GA4 property currency, for events without a
	// currency parameter of their own.
	GA4Currency string `yaml:"ga4_currency"`
	// GA4SourceCategories is a CSV of GA4's source categories
	// (source,source_category, as Google publishes it), to classify every
	// source into GA4's channel groups; empty uses a built-in list of the
	// most common sources.
	GA4SourceCategories string `yaml:"ga4_source_categories"`
	// RefundedOrderCost is keep or drop: whether a fully refunded order's
	// goods still cost (not returned) or not (returned to stock).
	RefundedOrderCost string `yaml:"refunded_order_cost"`
	// FeePerOrder and FeePercent add a payment fee per order (an amount in
	// the order's currency) and in percent of its revenue, to the file's
	// fee column.
	FeePerOrder string `yaml:"fee_per_order"`
	FeePercent  string `yaml:"fee_percent"`
	// ReportingCurrency, an ISO 4217 code, is the currency the
	// bi_attribution_*_daily_reporting views and the finance export convert
	// every amount into, with the rates of `adhouse import fx`; empty: none.
	ReportingCurrency string `yaml:"reporting_currency"`
	// DefaultMargin, a decimal fraction such as "0.35", costs order lines that
	// have no product cost at price x (1 - margin); empty leaves them unknown.
	DefaultMargin string `yaml:"default_margin"`
	// BatchSize is the rows per staging INSERT; memory is bounded by it.
	BatchSize int `yaml:"batch_size"`
	// CRM maps the CRM export's columns (defaults: a HubSpot deals export).
	CRM CRMColumns `yaml:"crm"`
	// Orders maps a generic orders CSV's columns (Shopify exports are recognised by their header).
	Orders OrderColumns `yaml:"orders"`
}

// CRMColumns names the columns of a CRM deals CSV.
type CRMColumns struct {
	ID          string `yaml:"id"`
	Created     string `yaml:"created"`
	Closed      string `yaml:"closed"`
	Stage       string `yaml:"stage"`
	Won         string `yaml:"won"`
	Amount      string `yaml:"amount"`
	Currency    string `yaml:"currency"`
	UTMSource   string `yaml:"utm_source"`
	UTMMedium   string `yaml:"utm_medium"`
	UTMCampaign string `yaml:"utm_campaign"`
	UTMContent  string `yaml:"utm_content"`
	UTMTerm     string `yaml:"utm_term"`
	TTCLID      string `yaml:"ttclid"`
	// WonStages count as won when the won column is absent or empty.
	WonStages []string `yaml:"won_stages"`
	// DefaultCurrency is used when the file has no currency column; empty
	// makes the column required.
	DefaultCurrency string `yaml:"default_currency"`
}

// OrderColumns names the columns of a generic orders CSV: one row per line
// item, order fields on the order's first row.
type OrderColumns struct {
	ID          string `yaml:"id"`
	Created     string `yaml:"created"`
	Currency    string `yaml:"currency"`
	Revenue     string `yaml:"revenue"`
	Shipping    string `yaml:"shipping"`
	Taxes       string `yaml:"taxes"`
	Total       string `yaml:"total"`
	Discount    string `yaml:"discount"`
	Refunded    string `yaml:"refunded"`
	Fees        string `yaml:"fees"`
	Status      string `yaml:"status"`
	Cancelled   string `yaml:"cancelled"`
	SKU         string `yaml:"sku"`
	Quantity    string `yaml:"quantity"`
	Price       string `yaml:"price"`
	LandingSite string `yaml:"landing_site"`
	UTMSource   string `yaml:"utm_source"`
	UTMMedium   string `yaml:"utm_medium"`
	UTMCampaign string `yaml:"utm_campaign"`
	UTMContent  string `yaml:"utm_content"`
	UTMTerm     string `yaml:"utm_term"`
	TTCLID      string `yaml:"ttclid"`
}

var marginSyntax = regexp.MustCompile(`^-?[0-9]+(\.[0-9]{1,6})?$`)

var feeSyntax = regexp.MustCompile(`^\d{1,9}(\.\d{1,6})?$`)

func (im Imports) validate() error {
	if im.LookbackDays < 1 || im.LookbackDays > 365 {
		return fmt.Errorf("imports.lookback_days: %d is not between 1 and 365", im.LookbackDays)
	}
	switch im.MatchBy {
	case "id", "name", "id_or_name":
	default:
		return fmt.Errorf("imports.match_by: %q is not id, name or id_or_name", im.MatchBy)
	}
	for key, p := range map[string]string{"campaign_param": im.CampaignParam, "adgroup_param": im.AdGroupParam, "ad_param": im.AdParam} {
		switch p {
		case "utm_campaign", "utm_id", "utm_content", "utm_term", "":
		default:
			return fmt.Errorf("imports.%s: %q is not utm_campaign, utm_id, utm_content, utm_term or empty", key, p)
		}
	}
	if len(im.ConversionEvents) == 0 {
		return errors.New("imports.conversion_events: at least one GA4 event name is needed")
	}
	if len(im.GA4Currency) != 3 || strings.ToUpper(im.GA4Currency) != im.GA4Currency {
		return fmt.Errorf("imports.ga4_currency: %q is not an ISO 4217 code such as USD", im.GA4Currency)
	}
	if im.ReportingCurrency != "" && (len(im.ReportingCurrency) != 3 || strings.ToUpper(im.ReportingCurrency) != im.ReportingCurrency) {
		return fmt.Errorf("imports.reporting_currency: %q is not an ISO 4217 code such as EUR", im.ReportingCurrency)
	}
	if im.RefundedOrderCost != "keep" && im.RefundedOrderCost != "drop" {
		return fmt.Errorf("imports.refunded_order_cost: %q is not keep or drop", im.RefundedOrderCost)
	}
	for key, v := range map[string]string{"imports.fee_per_order": im.FeePerOrder, "imports.fee_percent": im.FeePercent} {
		if !feeSyntax.MatchString(v) {
			return fmt.Errorf("%s: %q is not a non-negative decimal with at most 6 decimals, such as 0.30", key, v)
		}
	}
	if im.DefaultMargin != "" && !marginSyntax.MatchString(im.DefaultMargin) {
		return fmt.Errorf("imports.default_margin: %q is not a decimal fraction with at most 6 decimals, such as 0.35", im.DefaultMargin)
	}
	if im.BatchSize < 1 {
		return errors.New("imports.batch_size: must be at least 1")
	}
	if im.CRM.ID == "" || im.CRM.Amount == "" || im.CRM.Closed == "" {
		return errors.New("imports.crm: id, amount and closed columns must be named")
	}
	if im.Orders.ID == "" || im.Orders.Created == "" || im.Orders.Revenue == "" {
		return errors.New("imports.orders: id, created and revenue columns must be named")
	}
	return nil
}

// cronFields are the five fields of a standard cron expression, in order.
var cronFields = []struct {
	name     string
	min, max int
}{{"minute", 0, 59}, {"hour", 0, 23}, {"day of month", 1, 31}, {"month", 1, 12}, {"day of week", 0, 7}}

// StandardCron checks a cron expression and returns it in the form the
// scheduler reads: a step larger than its field's range (*/61 in minutes,
// which would fire only at minute 0) is refused, and Sunday written as 7, as
// crontab allows, becomes 0. Descriptors (@daily, @every 10m) pass through.
func StandardCron(expr string) (string, error) {
	fields := strings.Fields(expr)
	if len(fields) == 5 {
		for i, f := range fields {
			fd := cronFields[i]
			var parts, sunday []string
			for _, part := range strings.Split(f, ",") {
				rng, step, hasStep := strings.Cut(part, "/")
				if hasStep {
					n, err := strconv.Atoi(step)
					if err != nil || n < 1 {
						return "", fmt.Errorf("%s field %q: the step %q is not a positive whole number", fd.name, f, step)
					}
					if n > fd.max {
						return "", fmt.Errorf("%s field %q: the step %d is beyond the field's range %d-%d (it would fire only once)", fd.name, f, n, fd.min, fd.max)
					}
				}
				if i == 4 {
					switch {
					case rng == "7":
						rng = "0"
					case strings.HasSuffix(rng, "-7") && !hasStep:
						// 5-7 is Friday to Sunday: 5-6 and 0.
						lo := strings.TrimSuffix(rng, "-7")
						if lo == "7" {
							rng = "0"
						} else {
							rng, sunday = lo+"-6", []string{"0"}
						}
					}
				}
				if hasStep {
					rng += "/" + step
				}
				parts = append(parts, rng)
			}
			fields[i] = strings.Join(append(parts, sunday...), ",")
		}
		expr = strings.Join(fields, " ")
	}
	if _, err := cron.ParseStandard(expr); err != nil {
		return "", err
	}
	return expr, nil
}
