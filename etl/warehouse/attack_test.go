package warehouse_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

// TestAttackerSuite attacks the embedded warehouse as an unprivileged local
// process would, with no credentials, and prints the figures: attacks tried,
// credentials captured (goal 0), seconds of outage an unauthenticated client
// caused (goal 0) and BI limits raised (goal 0). It runs on engines of its
// own: one as shipped (HTTP only), one with the opt-in native port.
func TestAttackerSuite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts engines")
	}
	st := warehousetest.PrivateWith(t, t.TempDir(), func(o *warehouse.EngineOptions) { o.Native = false })
	require.Zero(t, st.TCPPort, "the shipped default serves HTTP only")
	w := newTarget(t, st)
	w.admin(t, "CREATE DATABASE IF NOT EXISTS adhouse ENGINE = Atomic")
	w.admin(t, "CREATE TABLE IF NOT EXISTS adhouse.load_secret (n UInt8) ENGINE = MergeTree ORDER BY n")
	w.admin(t, "INSERT INTO adhouse.load_secret VALUES (42)")
	w.admin(t, "CREATE VIEW IF NOT EXISTS adhouse.bi_money AS SELECT toDecimal64('12345678901.234567', 6) AS amount, 'USD' AS currency")
	var figures figures

	probe := startProber(t, w)
	engineBefore := w.enginePID(t)
	t.Run("unauthenticated control", func(t *testing.T) { unauthenticatedControl(t, w, &figures) })
	t.Run("identity secret stays secret", func(t *testing.T) { identityLeaks(t, w, &figures) })
	t.Run("failed logins and garbage", func(t *testing.T) { failedLoginsAndGarbage(t, w, w.st.HTTPPort, &figures) })
	t.Run("garbage on the engine's private port", func(t *testing.T) { failedLoginsAndGarbage(t, w, w.enginePort(t), &figures) })
	t.Run("BI limits", func(t *testing.T) { biLimits(t, w, &figures) })
	t.Run("orphaned queries", func(t *testing.T) { orphanedQueries(t, w, &figures) })
	t.Run("BI discovery", func(t *testing.T) { biDiscovery(t, w) })
	figures.outage = probe.stop()
	require.Equal(t, engineBefore, w.enginePID(t), "no unauthenticated attack restarted the engine")

	t.Run("port races", func(t *testing.T) { portRaces(t, w, &figures) })
	t.Run("crash loop", func(t *testing.T) { crashLoop(t, w) })
	t.Run("impostor after a crash of the supervisor", func(t *testing.T) { impostorAfterCrash(t, w, &figures) })

	t.Run("native opt-in", func(t *testing.T) {
		nst := warehousetest.PrivateWith(t, t.TempDir(), func(o *warehouse.EngineOptions) { o.TCPPort = freePort(t) })
		require.NotZero(t, nst.TCPPort)
		nw := newTarget(t, nst)
		probe := startProber(t, nw)
		before := nw.enginePID(t)
		nativeAttacks(t, nw, &figures)
		out := probe.stop()
		require.Equal(t, before, nw.enginePID(t), "failed native logins and broken packets did not restart the engine")
		if out > 0 {
			log, _ := os.ReadFile(filepath.Join(nst.Dir, "engine.log"))
			t.Logf("engine log:\n%s", log[max(0, len(log)-6000):])
		}
		require.Zero(t, out, "nor interrupted service")
		stopListen(t, nw, &figures)
		heldNativePort(t, nw)
	})

	t.Logf("attacker suite: %d attacks tried, %d credentials captured, %.1f s of outage caused by unauthenticated clients, %d BI limits raised",
		figures.tried, figures.captured, figures.outage.Seconds(), figures.raised)
	t.Logf("attacker suite: engine restart after a crash %.2f s (behind the gateway, public port held throughout); native opt-in: default stopped the listeners, restored by the supervisor in %.2f s",
		figures.restart.Seconds(), figures.stopListenRecovery.Seconds())
	require.Zero(t, figures.captured)
	require.Zero(t, figures.outage)
	require.Zero(t, figures.raised)
}

type figures struct {
	mu                      sync.Mutex
	tried, captured, raised int
	outage, restart         time.Duration
	stopListenRecovery      time.Duration
}

func (f *figures) attack() {
	f.mu.Lock()
	f.tried++
	f.mu.Unlock()
}

// target is one running warehouse and what an honest client of it knows.
type target struct {
	st             warehouse.State
	adminPW, biPW  string
	identity, gate string
	adminConn      driver.Conn
	secrets        []string
	publicURL      string
}

var gateValue = regexp.MustCompile(`<X-Adhouse-Gate>([0-9a-f]+)</X-Adhouse-Gate>`)

func newTarget(t *testing.T, st warehouse.State) *target {
	t.Helper()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(st.Dir, name))
		require.NoError(t, err)
		return strings.TrimSpace(string(b))
	}
	cfgXML := read("config.xml")
	m := gateValue.FindStringSubmatch(cfgXML)
	require.NotNil(t, m, "config.xml names the gate value")
	w := &target{st: st, adminPW: read("admin.password"), biPW: read("bi.password"), identity: read("identity.secret"), gate: m[1]}
	w.secrets = []string{w.adminPW, w.biPW, w.identity, w.gate}
	w.publicURL = "http://" + st.HTTPAddr()
	cfg := config.Default()
	cfg.Warehouse.Dir = st.Dir
	conn, _, err := warehouse.Connect(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	w.adminConn = conn
	return w
}

func (w *target) admin(t *testing.T, q string) {
	t.Helper()
	require.NoError(t, w.adminConn.Exec(context.Background(), q), q)
}

func (w *target) enginePort(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.st.Dir, "engine.json"))
	require.NoError(t, err)
	var spec struct {
		EnginePort int `json:"engine_port"`
	}
	require.NoError(t, json.Unmarshal(b, &spec))
	return spec.EnginePort
}

func (w *target) enginePID(t *testing.T) int {
	t.Helper()
	for _, pid := range servingPIDs(t, w.st.Dir) {
		if pid != w.st.PID {
			return pid
		}
	}
	return 0
}

// raw sends one HTTP request as an attacker would, without any check of
// the server, and returns the status and body.
func raw(method, rawURL string, header http.Header, body string) (int, string) {
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(b)
}

func basic(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

// prober queries the warehouse as adhouse does, every 50 ms, and sums the
// time it failed to answer.
type prober struct {
	done   chan struct{}
	result chan time.Duration
}

func startProber(t *testing.T, w *target) *prober {
	p := &prober{done: make(chan struct{}), result: make(chan time.Duration, 1)}
	go func() {
		var outage time.Duration
		var failedSince time.Time
		for {
			select {
			case <-p.done:
				if !failedSince.IsZero() {
					outage += time.Since(failedSince)
				}
				p.result <- outage
				return
			case <-time.After(50 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			var one uint8
			err := w.adminConn.QueryRow(ctx, "SELECT 1").Scan(&one)
			cancel()
			switch {
			case err != nil && failedSince.IsZero():
				failedSince = time.Now()
				t.Logf("prober: the warehouse did not answer at %s: %v", failedSince.Format("15:04:05.000"), err)
			case err == nil && !failedSince.IsZero():
				outage += time.Since(failedSince)
				failedSince = time.Time{}
			}
		}
	}()
	return p
}

func (p *prober) stop() time.Duration {
	close(p.done)
	return <-p.result
}

// executed tells whether an attacker's request ran its statement.
func executed(status int, _ string) bool { return status == http.StatusOK }

func unauthenticatedControl(t *testing.T, w *target, f *figures) {
	enginePort := w.enginePort(t)
	engineURL := "http://127.0.0.1:" + strconv.Itoa(enginePort)
	statements := []string{"SYSTEM STOP LISTEN QUERIES ALL", "SYSTEM STOP LISTEN HTTP", "KILL QUERY WHERE 1", "SELECT 1"}
	h := func(kv ...string) http.Header {
		hh := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			hh.Add(kv[i], kv[i+1])
		}
		return hh
	}
	routes := []struct {
		name, base, query string
		header            http.Header
	}{
		{"anonymous", w.publicURL, "", nil},
		{"user in URL", w.publicURL, "user=default", nil},
		{"user and empty password in URL", w.publicURL, "user=default&password=", nil},
		{"encoded user key in URL", w.publicURL, "us%65r=default", nil},
		{"upper-case user key", w.publicURL, "USER=default", nil},
		{"Basic default", w.publicURL, "", h("Authorization", basic("default", ""))},
		{"header default", w.publicURL, "", h("X-ClickHouse-User", "default")},
		{"Basic admin with a wrong password plus user in URL", w.publicURL, "user=default", h("Authorization", basic(warehouse.AdminUser, "guess"))},
		{"header BI plus encoded user in URL", w.publicURL, "us%65r=default", h("X-ClickHouse-User", warehouse.BIUser)},
		{"Basic admin plus header default", w.publicURL, "", h("Authorization", basic(warehouse.AdminUser, "guess"), "X-ClickHouse-User", "default")},
		{"two user headers", w.publicURL, "", h("X-ClickHouse-User", warehouse.BIUser, "X-ClickHouse-User", "default")},
		{"bearer token", w.publicURL, "", h("Authorization", "Bearer eyJ")},
		{"forged gate header", w.publicURL, "user=default", h("X-Adhouse-Gate", strings.Repeat("0", 64))},
		{"engine port, anonymous", engineURL, "", nil},
		{"engine port, user in URL", engineURL, "user=default", nil},
		{"engine port, admin's real password", engineURL, "", h("Authorization", basic(warehouse.AdminUser, w.adminPW))},
		{"engine port, forged gate", engineURL, "", h("X-Adhouse-Gate", strings.Repeat("0", 64))},
	}
	for _, r := range routes {
		for _, stmt := range statements {
			for _, method := range []string{http.MethodPost, http.MethodGet} {
				q := r.query
				body := stmt
				if method == http.MethodGet {
					if q != "" {
						q += "&"
					}
					q += "query=" + url.QueryEscape(stmt)
					body = ""
				}
				f.attack()
				status, resp := raw(method, r.base+"/?"+q, r.header, body)
				require.False(t, executed(status, resp), "%s, %s %s ran: %d %q", r.name, method, stmt, status, resp)
			}
		}
	}
	// /ping is the one path the gateway forwards without a user. The
	// engine answers it itself to GET and HEAD only: forwarded with another
	// method, a body reached the engine's query rule and ran as the
	// password-less default user (it read the identity secret).
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodGet} {
		for _, stmt := range append(statements, "SELECT getMacro('adhouse_identity')") {
			f.attack()
			status, resp := raw(method, w.publicURL+"/ping", nil, stmt)
			if method == http.MethodGet {
				require.Equal(t, "Ok.\n", resp, "GET /ping with a body %q", stmt)
			} else {
				require.False(t, executed(status, resp), "%s /ping with %q ran: %d %q", method, stmt, status, resp)
			}
			for _, s := range w.secrets {
				require.NotContains(t, resp, s, "%s /ping leaked a secret", method)
			}
		}
	}
	for _, path := range []string{"/play", "/dashboard", "/binary", "/js/uplot.js", "/replicas_status", "//?user=default", "/identity?user=default&query=SELECT+1"} {
		for _, base := range []string{w.publicURL, engineURL} {
			f.attack()
			status, resp := raw(http.MethodGet, base+path, nil, "")
			require.False(t, status == http.StatusOK && strings.Contains(resp, "<html"), "%s%s served a page", base, path)
			require.NotContains(t, resp, "\n1\n", "%s%s ran a query", base, path)
		}
	}
	// The warehouse still serves, on the same engine.
	w.admin(t, "SELECT 1")
}

func identityLeaks(t *testing.T, w *target, f *figures) {
	engineURL := "http://127.0.0.1:" + strconv.Itoa(w.enginePort(t))
	for _, base := range []string{w.publicURL, engineURL} {
		for n := 1; n <= 200; n += 3 {
			for _, extra := range []string{"max_query_size=" + strconv.Itoa(n), "max_parser_depth=" + strconv.Itoa(n%5), "max_parser_backtracks=" + strconv.Itoa(n)} {
				f.attack()
				_, resp := raw(http.MethodGet, base+"/identity?param_challenge=x&"+extra, nil, "")
				for _, s := range w.secrets {
					require.NotContains(t, resp, s, "an identity error leaked a secret")
				}
			}
		}
		f.attack()
		status, _ := raw(http.MethodGet, base+"/identity?param_challenge="+strings.Repeat("a", 1<<20), nil, "")
		require.NotEqual(t, http.StatusOK, status, "a 1 MiB challenge is refused")
	}
}

// failedLoginsAndGarbage sends failed logins and broken bytes to port.
func failedLoginsAndGarbage(t *testing.T, w *target, port int, f *figures) {
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	for i := range 20 {
		f.attack()
		header := http.Header{"Authorization": {basic(warehouse.AdminUser, fmt.Sprintf("guess-%d", i))}}
		if i%2 == 1 {
			header = http.Header{"X-ClickHouse-User": {warehouse.BIUser}, "X-ClickHouse-Key": {"guess"}}
		}
		status, _ := raw(http.MethodPost, base+"/", header, "SELECT 1")
		require.NotEqual(t, http.StatusOK, status)
	}
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	garbage := [][]byte{
		random,
		[]byte("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nSELECT"),
		[]byte("POST /?query=SELECT HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
		append([]byte("GET /"), bytes.Repeat([]byte("a"), 2<<20)...),
		append([]byte("GET / HTTP/1.1\r\nX: "), bytes.Repeat([]byte("b"), 2<<20)...),
		[]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
		{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03},         // a TLS ClientHello's start
		{0x00, 0x0c, 'C', 'l', 'i', 'c', 'k', 'H', 'o', 'u', 's', 'e', 0xff, 0xff}, // a native Hello to the HTTP port
		[]byte("GET / HTTP/1.1\r\nAuthorization: Basic !!!\r\n\r\n"),
	}
	for _, g := range garbage {
		f.attack()
		sendAndHangUp(t, port, g)
	}
	// A client that vanishes mid-query.
	f.attack()
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	require.NoError(t, err)
	q := "SELECT sleepEachRow(0.1) FROM numbers(50) SETTINGS max_block_size = 1"
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\nContent-Length: %d\r\n\r\n%s", basic(warehouse.AdminUser, w.adminPW), len(q), q)
	time.Sleep(300 * time.Millisecond)
	conn.Close()
	w.admin(t, "SELECT 1")
}

func sendAndHangUp(t *testing.T, port int, payload []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	require.NoError(t, err)
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	_, _ = conn.Write(payload)
	_, _ = io.Copy(io.Discard, io.LimitReader(conn, 1<<16))
	conn.Close()
}

func biLimits(t *testing.T, w *target, f *figures) {
	bi := http.Header{"Authorization": {basic(warehouse.BIUser, w.biPW)}}
	// raised tells whether a session's effective value lifts the limit.
	above := func(limit int64) func(int64) bool { return func(v int64) bool { return v == 0 || v > limit } }
	lim := warehouse.NewBIProfile(config.Default().BI, runtime.NumCPU())
	limits := []struct {
		setting string
		raise   []string         // values above the limit, or that lift it
		raised  func(int64) bool // whether an effective value lifts the limit
		lower   string           // a value below the limit, which must work
	}{
		{"max_execution_time", []string{"0", "301", "100000"}, above(lim.MaxExecutionSeconds), "60"},
		{"max_memory_usage", []string{"0", "8589934592"}, above(lim.MaxMemoryBytes), "1000000000"},
		{"max_result_rows", []string{"0", "20000000"}, above(lim.MaxResultRows), "1000"},
		{"max_threads", []string{"256", "0"}, func(v int64) bool { return v > int64(lim.MaxThreads) }, "1"},
		{"max_concurrent_queries_for_user", []string{"0", "1000"}, above(int64(lim.MaxConcurrentQueries)), ""},
		{"cancel_http_readonly_queries_on_client_close", []string{"0"}, func(v int64) bool { return v == 0 }, ""},
		{"readonly", []string{"0"}, func(v int64) bool { return v == 0 }, ""},
	}
	get := func(setting, via, value string) (int, string) {
		switch via {
		case "url":
			return raw(http.MethodPost, w.publicURL+"/?"+setting+"="+value, bi, "SELECT getSetting('"+setting+"')")
		case "settings clause":
			return raw(http.MethodPost, w.publicURL+"/", bi, "SELECT getSetting('"+setting+"') SETTINGS "+setting+" = "+value)
		default: // SET in a session, then read it
			session := "s" + strconv.FormatInt(time.Now().UnixNano(), 36)
			status, body := raw(http.MethodPost, w.publicURL+"/?session_id="+session, bi, "SET "+setting+" = "+value)
			if status != http.StatusOK {
				return status, body
			}
			return raw(http.MethodPost, w.publicURL+"/?session_id="+session, bi, "SELECT getSetting('"+setting+"')")
		}
	}
	for _, l := range limits {
		for _, via := range []string{"url", "settings clause", "session SET"} {
			for _, v := range l.raise {
				f.attack()
				status, body := get(l.setting, via, v)
				value, err := strconv.ParseInt(strings.TrimSpace(body), 10, 64)
				if status == http.StatusOK && (err != nil || l.raised(value)) {
					f.mu.Lock()
					f.raised++
					f.mu.Unlock()
					t.Errorf("BI raised %s to %s via %s: %q", l.setting, v, via, body)
				}
			}
			if l.lower != "" {
				status, body := get(l.setting, via, l.lower)
				require.Equal(t, http.StatusOK, status, "lowering %s via %s: %s", l.setting, via, body)
				require.Equal(t, l.lower, strings.TrimSpace(body))
			}
		}
	}
	// The quota exists and counts.
	var limit uint64
	require.NoError(t, w.adminConn.QueryRow(context.Background(),
		"SELECT max_queries FROM system.quota_limits WHERE quota_name = 'bi'").Scan(&limit))
	require.Positive(t, limit)
	// Writes stay refused.
	status, body := raw(http.MethodPost, w.publicURL+"/", bi, "INSERT INTO adhouse.load_secret VALUES (1)")
	require.NotEqual(t, http.StatusOK, status, body)
}

func orphanedQueries(t *testing.T, w *target, f *figures) {
	count := func(user string) uint64 {
		var n uint64
		require.NoError(t, w.adminConn.QueryRow(context.Background(),
			"SELECT count() FROM system.processes WHERE user = {u:String} AND query LIKE '%sleepEachRow%' AND query NOT LIKE '%system.processes%'",
			clickhouse.Named("u", user)).Scan(&n))
		return n
	}
	// BI sessions are read-only, so ClickHouse cancels their HTTP queries when
	// the client leaves (adhouse_admin's may be writes, which run to the end).
	for _, who := range []struct{ user, pw string }{{warehouse.BIUser, w.biPW}} {
		f.attack()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, w.publicURL+"/",
			strings.NewReader("SELECT sleepEachRow(0.5) FROM numbers(600) SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0 FORMAT Null"))
		req.SetBasicAuth(who.user, who.pw)
		_, err := http.DefaultClient.Do(req)
		cancel()
		require.Error(t, err, "the client gave up")
		gone := time.Now().Add(30 * time.Second)
		for count(who.user) > 0 {
			require.True(t, time.Now().Before(gone), "%s's query kept running after its client left", who.user)
			time.Sleep(100 * time.Millisecond)
		}
	}
	// A BI query cannot outlive its own (lowered) time limit.
	status, body := raw(http.MethodPost, w.publicURL+"/?max_execution_time=1", http.Header{"Authorization": {basic(warehouse.BIUser, w.biPW)}},
		"SELECT sleepEachRow(0.5) FROM numbers(10) SETTINGS max_block_size = 1, function_sleep_max_microseconds_per_block = 0 FORMAT Null")
	require.NotEqual(t, http.StatusOK, status)
	require.Contains(t, body, "TIMEOUT_EXCEEDED")
}

func biDiscovery(t *testing.T, w *target) {
	bi := http.Header{"Authorization": {basic(warehouse.BIUser, w.biPW)}}
	status, body := raw(http.MethodPost, w.publicURL+"/", bi,
		"SELECT table_name FROM information_schema.tables WHERE table_schema = 'adhouse' ORDER BY table_name")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "bi_money\n", body, "a generic SQL tool sees the BI views and nothing else of adhouse")
	status, body = raw(http.MethodPost, w.publicURL+"/", bi,
		"SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'adhouse' ORDER BY column_name")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, "amount\tDecimal(18, 6)\ncurrency\tString\n", body)
	// JSON clients get decimals as strings: exact.
	for _, format := range []string{"JSONEachRow", "JSON", "JSONCompact"} {
		status, body = raw(http.MethodPost, w.publicURL+"/", bi, "SELECT amount FROM adhouse.bi_money FORMAT "+format)
		require.Equal(t, http.StatusOK, status, body)
		require.Contains(t, body, `"12345678901.234567"`, format)
	}
}

// portRaces: a process that races for the warehouse's ports while the
// engine restarts receives nothing.
func portRaces(t *testing.T, w *target, f *figures) {
	// The public port is the gateway's for the supervisor's whole life.
	oldEngine := w.enginePort(t)
	crashed := time.Now()
	require.NoError(t, syscall.Kill(w.enginePID(t), syscall.SIGKILL))
	// Meanwhile the gateway says why it cannot serve (what /healthz shows).
	var said string
	for time.Since(crashed) < 2*time.Second && !strings.Contains(said, "restarting") {
		status, body := raw(http.MethodGet, w.publicURL+"/ping", nil, "")
		require.NotEqual(t, http.StatusOK, status, "the engine is down")
		said = body
	}
	require.Contains(t, said, "restarting")
	t.Logf("the gateway while the engine restarts: %s", strings.TrimSpace(said))
	fake := &fakeServer{}
	var wonPublic bool
	f.attack()
	for {
		if l, err := net.Listen("tcp", w.st.HTTPAddr()); err == nil {
			wonPublic = true
			l.Close()
			break
		}
		if !fake.listening() {
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(oldEngine)); err == nil {
				fake.serve(l)
			}
		}
		if _, err := warehouse.Status(context.Background(), w.st.Dir); err == nil {
			break
		}
		require.Less(t, time.Since(crashed), time.Minute, "the engine came back")
	}
	f.restart = time.Since(crashed)
	require.False(t, wonPublic, "nobody can take the public port while the engine restarts")
	// Queries flow again, and the fake (if it won the engine's old port)
	// was never sent a secret: the engine moved elsewhere.
	for range 20 {
		w.admin(t, "SELECT 1")
	}
	if fake.listening() {
		require.NotEqual(t, oldEngine, w.enginePort(t), "the engine moved away from the taken port")
	}
	fake.close()
	f.captured += fake.captured(w.secrets)
	t.Logf("port race: the fake took the engine's old port: %v; it received %d bytes, %d secrets", fake.listening(), fake.bytes(), fake.captured(w.secrets))
}

// impostorAfterCrash: the supervisor itself dies (SIGKILL, as only the
// warehouse's own user could do) and another process takes the public
// port. adhouse's clients send it nothing.
func impostorAfterCrash(t *testing.T, w *target, f *figures) {
	require.NoError(t, syscall.Kill(w.st.PID, syscall.SIGKILL))
	fake := &fakeServer{}
	deadline := time.Now().Add(10 * time.Second)
	for !fake.listening() && time.Now().Before(deadline) {
		if l, err := net.Listen("tcp", w.st.HTTPAddr()); err == nil {
			fake.serve(l)
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.True(t, fake.listening(), "the test's impostor holds the old public port")
	cfg := config.Default()
	cfg.Warehouse.Dir = w.st.Dir
	for range 5 {
		f.attack()
		_, _, err := warehouse.Connect(context.Background(), cfg)
		require.Error(t, err)
		_, err = warehouse.Status(context.Background(), w.st.Dir)
		require.Error(t, err)
	}
	// A client that still holds the old address proves identity first.
	remote := config.Default()
	remote.ClickHouse.Embedded, remote.ClickHouse.Addr, remote.ClickHouse.User = false, []string{w.st.HTTPAddr()}, warehouse.AdminUser
	remote.ClickHouse.Password = config.Secret("sent-to-the-impostor-without-a-check")
	_, _, err := warehouse.Connect(context.Background(), remote)
	require.Error(t, err, "the impostor answers nothing useful")
	fake.close()
	// That unverified remote client did send its (fake) password: the
	// reason embedded clients verify. Only our secrets count as captured.
	f.captured += fake.captured(w.secrets)
	require.Zero(t, fake.captured(w.secrets))
	require.True(t, fake.saw("sent-to-the-impostor-without-a-check") || fake.saw(base64.StdEncoding.EncodeToString([]byte(warehouse.AdminUser+":sent-to-the-impostor-without-a-check"))),
		"the control case: an unverified client does hand over its password")
}

func nativeAttacks(t *testing.T, w *target, f *figures) {
	for i := range 20 {
		f.attack()
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{w.st.NativeAddr()},
			Auth: clickhouse.Auth{Username: warehouse.AdminUser, Password: fmt.Sprintf("guess-%d", i)}, DialTimeout: 5 * time.Second})
		require.NoError(t, err)
		err = conn.Ping(context.Background())
		conn.Close()
		code, _ := warehouse.ExceptionCode(err)
		require.Equal(t, int32(516), code, "%v", err)
	}
	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)
	for _, g := range [][]byte{random, {0x00}, {0x00, 0xff, 0xff, 0xff, 0xff, 0x0f}, []byte("GET / HTTP/1.1\r\n\r\n")} {
		f.attack()
		sendAndHangUp(t, w.st.TCPPort, g)
	}
	// A native client that vanishes mid-query.
	f.attack()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{w.st.NativeAddr()},
		Auth: clickhouse.Auth{Username: warehouse.AdminUser, Password: w.adminPW}})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	_ = conn.Exec(ctx, "SELECT sleepEachRow(0.1) FROM numbers(50) SETTINGS max_block_size = 1 FORMAT Null")
	cancel()
	conn.Close()
	time.Sleep(6 * time.Second) // chDB's non-interactive mode aborted about 4 s after such events
}

// stopListen: on the opt-in native port the password-less default user can
// still stop the listeners (chDB runs its own serving query as default);
// the supervisor notices the deaf engine and restarts it.
func stopListen(t *testing.T, w *target, f *figures) {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{w.st.NativeAddr()}, Auth: clickhouse.Auth{Username: "default"}})
	require.NoError(t, err)
	defer conn.Close()
	before := w.enginePID(t)
	stopped := time.Now()
	require.NoError(t, conn.Exec(context.Background(), "SYSTEM STOP LISTEN QUERIES ALL"))
	require.NoError(t, warehouse.WaitReady(context.Background(), w.st.Dir, time.Minute))
	f.stopListenRecovery = time.Since(stopped)
	require.NotEqual(t, before, w.enginePID(t), "the deaf engine was replaced")
	w.admin(t, "SELECT 1")
}

// crashLoop: the engine is killed again and again; the supervisor never
// gives up (it used to, after 10 crashes in a minute).
func crashLoop(t *testing.T, w *target) {
	for i := range 12 {
		pid := w.enginePID(t)
		require.NotZero(t, pid, "kill %d", i)
		require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
		require.NoError(t, warehouse.WaitReady(context.Background(), w.st.Dir, time.Minute), "after kill %d", i)
	}
	w.admin(t, "SELECT 1")
}

// heldNativePort: another process holds the pinned native port, so every
// start fails; the supervisor backs off, says why, and comes back as soon
// as the port is free.
func heldNativePort(t *testing.T, w *target) {
	require.NoError(t, syscall.Kill(w.enginePID(t), syscall.SIGKILL))
	var held net.Listener
	for deadline := time.Now().Add(5 * time.Second); held == nil && time.Now().Before(deadline); {
		held, _ = net.Listen("tcp", w.st.NativeAddr())
	}
	require.NotNil(t, held, "the test won the race for the native port")
	logPath := filepath.Join(w.st.Dir, "engine.log")
	before, _ := os.ReadFile(logPath)
	failures := func() int {
		b, _ := os.ReadFile(logPath)
		return strings.Count(string(b[len(before):]), "another process holds the native port")
	}
	for deadline := time.Now().Add(time.Minute); failures() < 3; {
		require.True(t, time.Now().Before(deadline), "the supervisor keeps trying")
		time.Sleep(100 * time.Millisecond)
	}
	status, body := raw(http.MethodGet, w.publicURL+"/ping", nil, "")
	require.Equal(t, http.StatusServiceUnavailable, status)
	require.Contains(t, body, "native port")
	released := time.Now()
	held.Close()
	require.NoError(t, warehouse.WaitReady(context.Background(), w.st.Dir, time.Minute))
	t.Logf("held native port: %d failed starts, said %q; back %.1f s after the port was freed", failures(), strings.TrimSpace(body), time.Since(released).Seconds())
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// fakeServer is an impostor: it accepts connections, records what it is
// sent, and answers every request with a plausible 200.
type fakeServer struct {
	mu  sync.Mutex
	l   net.Listener
	got bytes.Buffer
	wg  sync.WaitGroup
}

func (s *fakeServer) serve(l net.Listener) {
	s.mu.Lock()
	s.l = l
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					s.mu.Lock()
					s.got.Write(buf[:n])
					s.mu.Unlock()
					if err != nil {
						return
					}
					_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nOk.")
				}
			}()
		}
	}()
}

func (s *fakeServer) listening() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.l != nil
}

func (s *fakeServer) close() {
	s.mu.Lock()
	l := s.l
	s.mu.Unlock()
	if l != nil {
		l.Close()
	}
	s.wg.Wait()
}

func (s *fakeServer) bytes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got.Len()
}

func (s *fakeServer) saw(needle string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Contains(s.got.Bytes(), []byte(needle))
}

// captured counts the secrets the impostor received, in plain text or in a
// Basic-auth header.
func (s *fakeServer) captured(secrets []string) int {
	n := 0
	for _, secret := range secrets {
		if s.saw(secret) || s.saw(base64.StdEncoding.EncodeToString([]byte(warehouse.AdminUser+":"+secret))) ||
			s.saw(base64.StdEncoding.EncodeToString([]byte(warehouse.BIUser+":"+secret))) {
			n++
		}
	}
	return n
}
