package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/tiktok"
)

// newAuthCmd returns `adhouse auth`: it prints the advertiser authorisation
// URL, reads the auth_code the advertiser comes back with, exchanges it for a
// long-lived access token and stores the token in a 0600 file (or prints it
// for an environment variable). The app secret is read from a file, the
// configuration or the environment, never from a flag, so that it does not
// end up in shell history or the process list.
func newAuthCmd() *cobra.Command {
	var (
		baseURL, appID, secretFile, redirectURI, state, authCode, tokenFile string
	)
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Authorise the app for an advertiser and store the access token",
		Long: `Prints the TikTok authorisation URL for the developer app. Open it as the
advertiser, approve, and paste the auth_code from the redirect (or the whole
redirect URL) here, or pass it with --auth-code. The code is exchanged for a
long-lived access token, which is written to --token-file (mode 0600) or, if
no file is given, printed as an export line for TIKTOK_ACCESS_TOKEN.

Defaults come from the configuration (tiktok.base_url, tiktok.app_id,
tiktok.secret, tiktok.access_token_file), then from TIKTOK_APP_ID and
TIKTOK_SECRET.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfgPath := ""
			if f := cmd.Flags().Lookup("config"); f != nil {
				cfgPath = f.Value.String()
			}
			cfg, err := config.LoadFile(cfgPath)
			if err != nil {
				return err
			}
			t := cfg.TikTok
			baseURL = authCoalesce(baseURL, t.BaseURL, tiktok.ProductionBaseURL)
			appID = authCoalesce(appID, t.AppID, os.Getenv("TIKTOK_APP_ID"))
			tokenFile = authCoalesce(tokenFile, t.AccessTokenFile)
			secret := t.Secret.Reveal()
			if secretFile != "" {
				b, err := os.ReadFile(secretFile)
				if err != nil {
					return fmt.Errorf("--secret-file: %w", err)
				}
				secret = strings.TrimSpace(string(b))
			}
			secret = authCoalesce(secret, os.Getenv("TIKTOK_SECRET"))
			if appID == "" {
				return errors.New("no app id: use --app-id, tiktok.app_id or TIKTOK_APP_ID")
			}
			if secret == "" {
				return errors.New("no app secret: use --secret-file, tiktok.secret or TIKTOK_SECRET")
			}
			if state == "" {
				b := make([]byte, 8)
				_, _ = rand.Read(b)
				state = hex.EncodeToString(b)
			}
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()

			if authCode == "" {
				if redirectURI == "" {
					return errors.New("--redirect-uri is required to build the authorisation URL (or pass --auth-code)")
				}
				fmt.Fprintf(errOut, "Open this URL as the advertiser and approve the app:\n\n  %s\n\n",
					tiktok.AuthURLFor(tiktok.PortalURLFor(baseURL), appID, state, redirectURI))
				fmt.Fprint(errOut, "Paste the auth_code (or the whole redirect URL): ")
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && !(errors.Is(err, io.EOF) && line != "") {
					return fmt.Errorf("reading the auth code: %w", err)
				}
				if authCode, err = authParseCode(line, state); err != nil {
					return err
				}
			}

			client, err := tiktok.New(tiktok.Options{BaseURL: baseURL, AppID: appID, Secret: secret, MaxRetries: 3})
			if err != nil {
				return err
			}
			tok, err := client.ExchangeAuthCode(cmd.Context(), appID, secret, authCode)
			if err != nil {
				return err
			}
			fmt.Fprintf(errOut, "Authorised for %d advertiser(s): %s\n", len(tok.AdvertiserIDs), strings.Join(tok.AdvertiserIDs, ", "))
			if tokenFile != "" {
				if err := authWriteTokenFile(tokenFile, tok.AccessToken+"\n"); err != nil {
					return err
				}
				fmt.Fprintf(errOut, "Access token written to %s (mode 0600); set tiktok.access_token_file to it.\n", tokenFile)
				return nil
			}
			fmt.Fprintln(errOut, "No --token-file given; export the token for the sync:")
			_, err = fmt.Fprintf(out, "export TIKTOK_ACCESS_TOKEN=%s\n", tok.AccessToken)
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&baseURL, "base-url", "", "API base URL (default tiktok.base_url, production); a simulator URL works too")
	f.StringVar(&appID, "app-id", "", "developer app ID (default tiktok.app_id or TIKTOK_APP_ID)")
	f.StringVar(&secretFile, "secret-file", "", "file holding the app secret (default tiktok.secret or TIKTOK_SECRET)")
	f.StringVar(&redirectURI, "redirect-uri", "", "the app's registered redirect URI, for the authorisation URL")
	f.StringVar(&state, "state", "", "state parameter echoed by the redirect (default random)")
	f.StringVar(&authCode, "auth-code", "", "auth_code from the redirect; read from stdin when empty")
	f.StringVar(&tokenFile, "token-file", "", "write the access token to this file with mode 0600 (default tiktok.access_token_file)")
	return cmd
}

// authParseCode accepts a bare auth code or the redirect URL carrying it
// (auth_code= or code=), checking the state when the URL has one.
func authParseCode(input, wantState string) (string, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return "", errors.New("no auth code given")
	}
	if !strings.Contains(s, "=") {
		return s, nil
	}
	raw := s
	if u, err := url.Parse(s); err == nil && u.RawQuery != "" {
		raw = u.RawQuery
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return "", errors.New("could not read the auth code from the pasted URL")
	}
	if st := q.Get("state"); st != "" && wantState != "" && st != wantState {
		return "", errors.New("the redirect's state does not match this authorisation request")
	}
	code := authCoalesce(q.Get("auth_code"), q.Get("code"))
	if code == "" {
		return "", errors.New("no auth_code in the pasted URL")
	}
	return code, nil
}

// authWriteTokenFile writes data to path with mode 0600, atomically, so that a
// token is never readable by others, not even briefly.
func authWriteTokenFile(path, data string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	f, err := os.CreateTemp(dir, ".token-*")
	if err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("token file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("token file: %w", err)
	}
	return nil
}

func authCoalesce(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
