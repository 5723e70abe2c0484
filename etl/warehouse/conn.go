package warehouse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/adhouse/adhouse/etl/config"
)

// Endpoint is everything needed to reach one ClickHouse: resolved from the
// configuration, and from the embedded warehouse's folder when it is used.
type Endpoint struct {
	Addr     []string
	Protocol config.Protocol
	User     string
	Password config.Secret
	TLS      *tls.Config
	Database string
	Cluster  string
	cfg      config.ClickHouse
	// dial, for the embedded warehouse's HTTP port, proves the server's
	// identity on every new connection before the driver sends a password.
	dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Resolve turns the configuration into an [Endpoint]; for the embedded
// warehouse it reads the running engine's ports and generated password.
func Resolve(ctx context.Context, cfg config.Config) (Endpoint, error) {
	ch := cfg.ClickHouse
	ep := Endpoint{
		Addr: ch.Addr, Protocol: ch.Protocol, User: ch.User, Password: ch.Password,
		Database: ch.Database, Cluster: ch.Cluster, cfg: ch,
	}
	if ch.Embedded {
		st, err := Status(ctx, cfg.Warehouse.Dir)
		if err != nil {
			return Endpoint{}, err
		}
		pw, err := AdminPassword(cfg.Warehouse.Dir)
		if err != nil {
			return Endpoint{}, err
		}
		ep.User, ep.Password = AdminUser, config.Secret(pw)
		if ch.Protocol == config.ProtocolNative {
			if st.TCPPort == 0 {
				return Endpoint{}, errors.New("clickhouse.protocol: native, but the embedded warehouse serves HTTP only (set warehouse.native: true and restart it, knowing the risks in docs/operating.md)")
			}
			ep.Addr = []string{st.NativeAddr()}
			return ep, nil
		}
		secret, err := readPassword(st.Dir, identityFile, "identity")
		if err != nil {
			return Endpoint{}, err
		}
		ep.Addr = []string{st.HTTPAddr()}
		ep.dial = verifiedDialer(secret, ch.DialTimeout)
		return ep, nil
	}
	if ch.TLS.Enabled {
		tc := &tls.Config{ServerName: ch.TLS.ServerName, InsecureSkipVerify: ch.TLS.InsecureSkipVerify} //nolint:gosec // opt-in, documented
		if ch.TLS.CAFile != "" {
			pem, err := os.ReadFile(ch.TLS.CAFile)
			if err != nil {
				return Endpoint{}, fmt.Errorf("clickhouse.tls.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return Endpoint{}, fmt.Errorf("clickhouse.tls.ca_file: %s holds no PEM certificate", ch.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		ep.TLS = tc
	}
	return ep, nil
}

// Open connects to the endpoint and checks that it answers. The database need
// not exist yet: every statement names it explicitly.
func Open(ctx context.Context, ep Endpoint) (driver.Conn, error) {
	proto := clickhouse.Native
	if ep.Protocol == config.ProtocolHTTP {
		proto = clickhouse.HTTP
	}
	opts := &clickhouse.Options{
		Protocol:    proto,
		Addr:        ep.Addr,
		Auth:        clickhouse.Auth{Username: ep.User, Password: ep.Password.Reveal()},
		TLS:         ep.TLS,
		DialTimeout: ep.cfg.DialTimeout,
		Settings: clickhouse.Settings{
			// The embedded engine and ClickHouse Cloud default to async inserts,
			// which would acknowledge rows before they are durable.
			"async_insert": 0,
		},
		MaxOpenConns: ep.cfg.MaxOpenConns,
		MaxIdleConns: ep.cfg.MaxOpenConns,
		ClientInfo: clickhouse.ClientInfo{Products: []struct{ Name, Version string }{
			{Name: "adhouse", Version: Version},
		}},
	}
	if ep.dial != nil {
		opts.DialContext = ep.dial
		opts.TransportFunc = func(t *http.Transport) (http.RoundTripper, error) {
			t.Proxy = nil // loopback, and never through a proxy that would see the password
			return t, nil
		}
	}
	if ep.Cluster != "" {
		// Inserts into Distributed tables are queued in the background by
		// default: a window's commit could reach its shard before its rows.
		opts.Settings["insert_distributed_sync"] = 1
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = config.Default().ClickHouse.DialTimeout
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse %s: %w", ep, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("clickhouse %s: %w", ep, redact(err, ep.Password))
	}
	return conn, nil
}

// ConnectNodes opens one connection per node that DDL and deletes must
// reach: every addr of a sharded cluster (clickhouse.cluster_mode: sharded),
// else the one connection of [Connect]. On error nothing stays open.
func ConnectNodes(ctx context.Context, cfg config.Config) ([]driver.Conn, error) {
	if !cfg.ClickHouse.Sharded() {
		conn, _, err := Connect(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return []driver.Conn{conn}, nil
	}
	ep, err := Resolve(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var nodes []driver.Conn
	for _, addr := range ep.Addr {
		node := ep
		node.Addr = []string{addr}
		conn, err := Open(ctx, node)
		if err != nil {
			for _, c := range nodes {
				c.Close()
			}
			return nil, fmt.Errorf("cluster node %s: %w", addr, err)
		}
		nodes = append(nodes, conn)
	}
	return nodes, nil
}

// Connect resolves the configuration and opens a connection in one step.
func Connect(ctx context.Context, cfg config.Config) (driver.Conn, Endpoint, error) {
	ep, err := Resolve(ctx, cfg)
	if err != nil {
		return nil, Endpoint{}, err
	}
	conn, err := Open(ctx, ep)
	return conn, ep, err
}

// String names the endpoint for errors and logs, without the password.
func (ep Endpoint) String() string {
	return fmt.Sprintf("%s://%s@%v", ep.Protocol, ep.User, ep.Addr)
}

// Version is adhouse's version, set at build time with -ldflags.
var Version = "dev"

// ExceptionCode returns the ClickHouse exception code inside err, over either
// protocol, and whether there was one.
func ExceptionCode(err error) (int32, bool) {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return ex.Code, true
	}
	return 0, false
}

// redact removes a password that a driver error might echo.
func redact(err error, pw config.Secret) error {
	if err == nil || pw == "" {
		return err
	}
	if msg := err.Error(); containsSecret(msg, pw.Reveal()) {
		return &redactedError{msg: replaceSecret(msg, pw.Reveal()), err: err}
	}
	return err
}

// redactedError hides a secret from the message but keeps the chain, so
// callers can still match the ClickHouse exception code.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func containsSecret(s, secret string) bool { return secret != "" && strings.Contains(s, secret) }

func replaceSecret(s, secret string) string { return strings.ReplaceAll(s, secret, "<redacted>") }
