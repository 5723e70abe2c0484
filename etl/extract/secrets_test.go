package extract_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/warehouse"
	"github.com/adhouse/adhouse/etl/warehouse/warehousetest"
)

// TestSecretsNeverLeave runs the binary through a whole day of work at debug
// log level (migrate, sync, a sync with a wrong token, the daemon with its
// /metrics and /healthz, a finance export) and greps everything it printed
// or wrote for the access token, the app secret and the warehouse passwords.
func TestSecretsNeverLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	bin := warehousetest.Binary(t)
	_, cfg := warehousetest.Migrated(t, config.ProtocolHTTP)
	sc := simConfig()
	sc.AccessToken, sc.Secret = "tok-SECRET-4f1d9c0e", "app-SECRET-77aa21"
	srv := tiktoksim.New(sc)
	ts := httptest.NewServer(srv)
	defer ts.Close()
	cfgPath := writeCLIConfig(t, srv, tiktoksim.BaseURLFor(ts.URL), cfg, "daily")
	text, err := os.ReadFile(cfgPath)
	require.NoError(t, err)
	// Secrets come from the environment, as the docs recommend.
	text = bytes.Replace(text, []byte("access_token: "+sc.AccessToken), []byte("access_token: ${TIKTOK_ACCESS_TOKEN}"), 1)
	text = bytes.Replace(text, []byte("secret: "+sc.Secret), []byte("secret: ${TIKTOK_SECRET}"), 1)
	text = bytes.Replace(text, []byte("level: warn"), []byte("level: debug"), 1)
	port := freePort(t)
	text = append(text, fmt.Sprintf("serve:\n  listen: 127.0.0.1:%d\n  schedules:\n    - {name: often, cron: \"@every 1s\", job: sync}\n", port)...)
	require.NoError(t, os.WriteFile(cfgPath, text, 0o600))

	var everything bytes.Buffer
	run := func(token string, args ...string) error {
		cmd := runCLI(context.Background(), bin, cfgPath, srv.Now(), args...)
		cmd.Env = append(cmd.Env, "TIKTOK_ACCESS_TOKEN="+token, "TIKTOK_SECRET="+sc.Secret)
		out, err := cmd.CombinedOutput()
		everything.Write(out)
		return err
	}
	require.NoError(t, run(sc.AccessToken, "migrate"))
	require.NoError(t, run(sc.AccessToken, "sync"))

	// A wrong token fails fast with TikTok's code and message, and the token
	// it was given is not echoed either.
	before := everything.Len()
	wrong := "tok-WRONG-0badc0de"
	err = run(wrong, "sync")
	require.Error(t, err)
	msg := everything.String()[before:]
	require.Contains(t, msg, "40105")
	require.NotContains(t, msg, wrong)

	// The daemon: scrape it while it syncs, then stop it.
	cmd := runCLI(context.Background(), bin, cfgPath, srv.Now(), "serve")
	cmd.Env = append(cmd.Env, "TIKTOK_ACCESS_TOKEN="+sc.AccessToken, "TIKTOK_SECRET="+sc.Secret)
	var serveOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &serveOut, &serveOut
	require.NoError(t, cmd.Start())
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		body, err := httpGet(base + "/metrics")
		return err == nil && regexp.MustCompile(`outcome="ok"\} [1-9]`).MatchString(body) // a run has ended (the series exist at 0 from start-up)
	}, 60*time.Second, 200*time.Millisecond)
	for _, path := range []string{"/metrics", "/healthz"} {
		body, err := httpGet(base + path)
		require.NoError(t, err)
		everything.WriteString(body)
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, cmd.Wait())
	everything.Write(serveOut.Bytes())

	// The finance export.
	out := filepath.Join(t.TempDir(), "roas.csv")
	today := srv.Now().UTC().Format(time.DateOnly)
	require.NoError(t, run(sc.AccessToken, "export", "roas", "--from", "2026-08-01", "--to", today, "--format", "csv", "--out", out))
	exported, err := os.ReadFile(out)
	require.NoError(t, err)
	everything.Write(exported)

	adminPW, err := warehouse.AdminPassword(cfg.Warehouse.Dir)
	require.NoError(t, err)
	secrets := map[string]string{"access token": sc.AccessToken, "app secret": sc.Secret, "admin password": adminPW}
	if bi, err := os.ReadFile(filepath.Join(cfg.Warehouse.Dir, "bi.password")); err == nil {
		secrets["BI password"] = strings.TrimSpace(string(bi))
	}
	require.Greater(t, everything.Len(), 2000, "the run printed and wrote something to check")
	for name, s := range secrets {
		require.NotEmpty(t, s)
		require.NotContains(t, everything.String(), s, "the %s leaked", name)
	}
	t.Logf("grepped %d bytes of logs, errors, /metrics, /healthz and export for %d secrets: none found", everything.Len(), len(secrets))
}
