package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/adhouse/adhouse/etl/logtest"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim"
	"github.com/adhouse/adhouse/etl/tiktok/tiktoksim/simtest"
)

func TestAuthCommand(t *testing.T) {
	sim := simtest.Start(t, tiktoksim.Config{})
	cfg := sim.Config()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(cfg.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(stdin string, args ...string) (string, string, error) {
		cmd := newAuthCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetIn(strings.NewReader(stdin))
		cmd.SetArgs(append([]string{"--base-url", sim.BaseURL(), "--app-id", cfg.AppID, "--secret-file", secretFile,
			"--redirect-uri", "https://adhouse.example/cb", "--state", "st8"}, args...))
		err := cmd.ExecuteContext(context.Background())
		return out.String(), errOut.String(), err
	}

	t.Run("pasted redirect URL, token file", func(t *testing.T) {
		tokenFile := filepath.Join(dir, "sub", "token")
		out, errOut, err := run("https://adhouse.example/cb?auth_code="+cfg.AuthCode+"&state=st8\n", "--token-file", tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(tokenFile)
		if err != nil || string(b) != sim.AccessToken()+"\n" {
			t.Fatalf("token file = %q, %v", b, err)
		}
		if fi, _ := os.Stat(tokenFile); fi.Mode().Perm() != 0o600 {
			t.Errorf("token file mode %v, want 0600", fi.Mode().Perm())
		}
		m := regexp.MustCompile(`http://\S+/portal/auth\?\S+`).FindString(errOut)
		u, err := url.Parse(m)
		if err != nil || u.Query().Get("app_id") != cfg.AppID || u.Query().Get("state") != "st8" || u.Query().Get("redirect_uri") != "https://adhouse.example/cb" {
			t.Errorf("authorisation URL %q in:\n%s", m, errOut)
		}
		if strings.Contains(out+errOut, cfg.Secret) || strings.Contains(out+errOut, sim.AccessToken()) {
			t.Errorf("output leaks the secret or token:\n%s%s", out, errOut)
		}
	})

	t.Run("flag code, printed export", func(t *testing.T) {
		out, _, err := run("", "--auth-code", cfg.AuthCode)
		if err != nil {
			t.Fatal(err)
		}
		if out != "export TIKTOK_ACCESS_TOKEN="+sim.AccessToken()+"\n" {
			t.Errorf("stdout = %q", out)
		}
	})

	t.Run("state mismatch", func(t *testing.T) {
		if _, _, err := run("https://adhouse.example/cb?auth_code=x&state=forged\n"); err == nil || !strings.Contains(err.Error(), "state") {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("wrong code fails without leaking", func(t *testing.T) {
		_, errOut, err := run("bad-code-123\n")
		if err == nil || !strings.Contains(err.Error(), "40110") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(err.Error()+errOut, "bad-code-123") || strings.Contains(err.Error()+errOut, cfg.Secret) {
			t.Errorf("error leaks the code or secret: %v", err)
		}
	})
}

func TestTikTokSimCommand(t *testing.T) {
	cmd := newTikTokSimCmd()
	cmd.SetArgs([]string{"--listen", "0.0.0.0:0"})
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("non-loopback listen: err = %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &logtest.Buffer{}
	cmd = newTikTokSimCmd()
	cmd.SetOut(out)
	cmd.SetArgs([]string{"--scale", "tiny", "--seed", "9", "--tier", "none", "--rate-limit-rate", "0"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()

	re := regexp.MustCompile(`base URL:\s+(\S+)\naccess token:\s+(\S+)`)
	var m []string
	for deadline := time.Now().Add(5 * time.Second); m == nil; {
		if m = re.FindStringSubmatch(out.String()); m == nil {
			if time.Now().After(deadline) {
				t.Fatalf("no base URL printed:\n%s", out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, m[1]+"oauth2/advertiser/get/?app_id="+tiktoksim.DefaultAppID+"&secret="+tiktoksim.DefaultSecret, nil)
	req.Header.Set("Access-Token", m[2])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Code int
		Data struct{ List []json.RawMessage }
	}
	err = json.NewDecoder(resp.Body).Decode(&env)
	resp.Body.Close()
	if err != nil || env.Code != 0 || len(env.Data.List) != 1 {
		t.Fatalf("simulator answered %+v, %v", env, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("tiktok-sim did not stop")
	}
	if !strings.Contains(out.String(), "served ") {
		t.Errorf("no summary printed:\n%s", out.String())
	}
}
