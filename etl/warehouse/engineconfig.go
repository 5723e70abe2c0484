package warehouse

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/adhouse/adhouse/etl/config"
)

//go:embed engine/*.tmpl
var engineTemplates embed.FS

var engineTmpl = template.Must(template.ParseFS(engineTemplates, "engine/*.tmpl"))

// gateHeader carries the gate value from the gateway to the engine.
const gateHeader = "X-Adhouse-Gate"

// BIProfile is the BI user's limits as the engine's users.xml and
// queries/bi_role.sql state them, from the configuration: whole seconds,
// and threads resolved against the machine's CPUs.
type BIProfile struct {
	MaxExecutionSeconds          int64
	MaxMemoryBytes               int64
	MaxResultRows                int64
	MaxThreads                   int
	MaxConcurrentQueries         int
	QuotaQueriesPerHour          int64
	QuotaExecutionSecondsPerHour int64
	QuotaResultRowsPerHour       int64
}

// NewBIProfile resolves the configured BI limits for a machine with cpus CPUs.
func NewBIProfile(b config.BI, cpus int) BIProfile {
	threads := b.MaxThreads
	if threads == 0 {
		threads = max(cpus, 1)
	}
	return BIProfile{
		MaxExecutionSeconds:          int64(b.MaxExecutionTime / time.Second),
		MaxMemoryBytes:               b.MaxMemoryUsage,
		MaxResultRows:                b.MaxResultRows,
		MaxThreads:                   threads,
		MaxConcurrentQueries:         b.MaxConcurrentQueries,
		QuotaQueriesPerHour:          b.QuotaQueriesPerHour,
		QuotaExecutionSecondsPerHour: int64(b.QuotaExecutionTimePerHour / time.Second),
		QuotaResultRowsPerHour:       b.QuotaResultRowsPerHour,
	}
}

// engineSpec is what the supervisor needs to render the engine's
// configuration at every (re)start; [Start] writes it as engine.json.
type engineSpec struct {
	// HTTPPort is the public port, held by the gateway for the supervisor's life.
	HTTPPort int `json:"http_port"`
	// TCPPort is the engine's native port; 0 when native is off.
	TCPPort int `json:"tcp_port"`
	// TCPPinned forbids moving the native port when another process holds it.
	TCPPinned bool `json:"tcp_pinned"`
	// EnginePort is the engine's private HTTP port; it moves freely.
	EnginePort int       `json:"engine_port"`
	Database   string    `json:"database"`
	BI         BIProfile `json:"bi"`
	// Cluster is the remote_servers entry of a sharded-cluster node; its
	// secret stays in cluster.secret.
	Cluster *clusterSpec `json:"cluster,omitempty"`
}

type clusterSpec struct {
	Name   string         `json:"name"`
	Shards []clusterShard `json:"shards"`
}

type clusterShard struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

// secrets are the warehouse's generated credentials, each kept in a 0600
// file of its folder.
type secrets struct {
	admin, bi, identity string
}

func loadSecrets(dir string, create bool) (secrets, error) {
	get := readPassword
	if create {
		get = func(dir, file, _ string) (string, error) { return generatedPassword(dir, file) }
	}
	var s secrets
	var err error
	if s.admin, err = get(dir, passwordFile, "admin"); err != nil {
		return secrets{}, err
	}
	if s.bi, err = get(dir, biPasswordFile, "BI"); err != nil {
		return secrets{}, err
	}
	if s.identity, err = get(dir, identityFile, "identity"); err != nil {
		return secrets{}, err
	}
	return s, nil
}

// gate is the value the engine requires before it runs a query over HTTP;
// derived from the identity secret so one file holds both.
func (s secrets) gate() string {
	sum := sha256.Sum256([]byte("gate\x00" + s.identity))
	return hex.EncodeToString(sum[:])
}

func readSpec(dir string) (engineSpec, error) {
	var spec engineSpec
	b, err := os.ReadFile(filepath.Join(dir, specFile))
	if err != nil {
		return spec, fmt.Errorf("warehouse: %w", err)
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return spec, fmt.Errorf("warehouse: %s: %w", specFile, err)
	}
	if spec.HTTPPort <= 0 || !identifier.MatchString(spec.Database) {
		return spec, errors.New("warehouse: " + specFile + " is incomplete")
	}
	return spec, nil
}

// writeEngineConfig renders config.xml and users.xml (both 0600) for spec.
func writeEngineConfig(dir string, spec engineSpec, s secrets) error {
	if !identifier.MatchString(spec.Database) {
		return fmt.Errorf("warehouse: database %q is not a plain identifier", spec.Database)
	}
	sha := func(pw string) string { sum := sha256.Sum256([]byte(pw)); return hex.EncodeToString(sum[:]) }
	data := map[string]any{
		"EnginePort": spec.EnginePort, "TCPPort": spec.TCPPort,
		"Secret": s.identity, "Gate": s.gate(), "GateHeader": gateHeader,
		"IdentityPath": identityPath, "IdentityQuery": identityQuery(spec.EnginePort),
		"AdminUser": AdminUser, "AdminPasswordSHA256": sha(s.admin),
		"BIUser": BIUser, "BIPasswordSHA256": sha(s.bi),
		"Database": spec.Database, "BI": spec.BI,
	}
	if spec.Cluster != nil {
		secret, err := readPassword(dir, clusterFile, "cluster")
		if err != nil {
			return err
		}
		var rs strings.Builder
		esc := func(s string) string { var b strings.Builder; _ = xml.EscapeText(&b, []byte(s)); return b.String() }
		fmt.Fprintf(&rs, "<remote_servers><%s><secret>%s</secret>", spec.Cluster.Name, esc(secret))
		for _, sh := range spec.Cluster.Shards {
			fmt.Fprintf(&rs, "<shard><replica><host>%s</host><port>%d</port></replica></shard>", esc(sh.Host), sh.Port)
		}
		fmt.Fprintf(&rs, "</%s></remote_servers>", spec.Cluster.Name)
		data["RemoteServers"] = rs.String()
	}
	for _, name := range []string{"config.xml", "users.xml"} {
		var buf bytes.Buffer
		if err := engineTmpl.ExecuteTemplate(&buf, name+".tmpl", data); err != nil {
			return fmt.Errorf("warehouse: rendering %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o600); err != nil {
			return fmt.Errorf("warehouse: %w", err)
		}
	}
	return nil
}
