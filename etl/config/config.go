// Package config loads adhouse's one YAML configuration file: strict keys,
// ${ENV} expansion and every default in one place ([Default]).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
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
	Load       Load       `yaml:"load"`
	Log        Log        `yaml:"log"`
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
	// Cluster, when set, makes every DDL ON CLUSTER with Replicated engines and
	// Distributed tables.
	Cluster     string        `yaml:"cluster"`
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// QueryTimeout bounds one statement; a load's batches each get this long.
	QueryTimeout time.Duration `yaml:"query_timeout"`
	MaxOpenConns int           `yaml:"max_open_conns"`
}

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
	// TCPPort and HTTPPort are the loopback ports; 0 picks free ones.
	TCPPort  int `yaml:"tcp_port"`
	HTTPPort int `yaml:"http_port"`
	// StartTimeout bounds the wait until the engine answers.
	StartTimeout time.Duration `yaml:"start_timeout"`
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
// warehouse over the native protocol. It is the only place defaults live.
func Default() Config {
	return Config{
		ClickHouse: ClickHouse{
			Embedded:     true,
			Protocol:     ProtocolNative,
			Database:     "adhouse",
			User:         "default",
			DialTimeout:  10 * time.Second,
			QueryTimeout: 5 * time.Minute,
			MaxOpenConns: 8,
		},
		Warehouse: Warehouse{
			Dir:          ".adhouse/warehouse",
			Library:      "tools/chdb/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so",
			StartTimeout: 60 * time.Second,
		},
		Load: Load{
			BatchSize:    100_000,
			MaxRetries:   5,
			RetryBackoff: 500 * time.Millisecond,
		},
		Log: Log{Level: "info", Format: "auto"},
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
	return cfg, nil
}

// Parse decodes YAML over [Default], expanding ${VAR} in values through lookup.
// Unknown keys and unset variables are errors.
func Parse(data []byte, lookup func(string) (string, bool)) (Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return Config{}, err
	}
	if err := expandNode(&root, lookup); err != nil {
		return Config{}, err
	}
	expanded, err := yaml.Marshal(&root)
	if err != nil {
		return Config{}, err
	}
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(expanded))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	return cfg, cfg.Validate()
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandNode replaces ${VAR} in scalar values only, so a comment or a key can
// never pull in the environment, and a missing variable names itself.
func expandNode(n *yaml.Node, lookup func(string) (string, bool)) error {
	if n.Kind == yaml.ScalarNode {
		var missing []string
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := lookup(name)
			if !ok {
				missing = append(missing, name)
			}
			return v
		})
		if len(missing) > 0 {
			return fmt.Errorf("line %d: environment variable %s is not set", n.Line, strings.Join(missing, ", "))
		}
		return nil
	}
	for _, c := range n.Content {
		if err := expandNode(c, lookup); err != nil {
			return err
		}
	}
	return nil
}

// resolvePaths makes relative file paths relative to the config file's folder.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" && dir != "." {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.ClickHouse.TLS.CAFile)
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
	if w.StartTimeout <= 0 {
		return errors.New("warehouse.start_timeout: must be positive")
	}
	if c.Load.BatchSize < 1 {
		return errors.New("load.batch_size: must be at least 1")
	}
	if c.Load.MaxRetries < 0 {
		return errors.New("load.max_retries: must not be negative")
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
