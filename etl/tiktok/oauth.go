package tiktok

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// AuthPortalURL is where an advertiser authorises a developer app.
const AuthPortalURL = "https://business-api.tiktok.com/portal/auth"

// AuthURL returns the advertiser authorisation URL of the app. The advertiser
// opens it, approves, and is redirected to redirectURI with auth_code and
// state. The code is single-use and valid for an hour.
//
// oauth2.Config.AuthCodeURL is not used because TikTok names the parameters
// app_id/redirect_uri without response_type or client_id.
func AuthURL(appID, state, redirectURI string) string {
	return AuthURLFor(AuthPortalURL, appID, state, redirectURI)
}

// AuthURLFor is AuthURL with another portal, such as the simulator's.
func AuthURLFor(portalURL, appID, state, redirectURI string) string {
	v := url.Values{}
	v.Set("app_id", appID)
	v.Set("state", state)
	v.Set("redirect_uri", redirectURI)
	return portalURL + "?" + v.Encode()
}

// PortalURLFor returns the authorisation portal that goes with an API base
// URL: TikTok's portal for production and the sandbox, and /portal/auth on
// the same host for anything else (the simulator serves one there).
func PortalURLFor(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || strings.HasSuffix(u.Hostname(), ".tiktok.com") {
		return AuthPortalURL
	}
	return u.Scheme + "://" + u.Host + "/portal/auth"
}

// AuthToken is the result of an authorisation-code exchange. Marketing API
// tokens do not expire on a timer and have no refresh token: they stay valid
// until the advertiser revokes the authorisation.
type AuthToken struct {
	AccessToken   string
	AdvertiserIDs []string
	Scope         []string
}

// String hides the token, so that logging an AuthToken never leaks it.
func (t AuthToken) String() string {
	return fmt.Sprintf("AuthToken{AccessToken: [REDACTED], AdvertiserIDs: %v}", t.AdvertiserIDs)
}

// GoString hides the token from %#v as well.
func (t AuthToken) GoString() string { return t.String() }

// OAuth2 returns the token as an *oauth2.Token, for use with
// oauth2.StaticTokenSource and Options.TokenSource.
func (t AuthToken) OAuth2() *oauth2.Token {
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: AccessTokenHeader}
}

// ExchangeAuthCode trades an authorisation code for a long-lived access token
// (POST /oauth2/access_token/ with a JSON body). oauth2.Config.Exchange does
// not fit: TikTok wants a JSON body with app_id/secret and wraps the answer in
// its envelope. The secret and code never appear in errors or logs.
func (c *Client) ExchangeAuthCode(ctx context.Context, appID, secret, authCode string) (*AuthToken, error) {
	body := map[string]string{"app_id": appID, "secret": secret, "auth_code": authCode}
	res, err := c.do(ctx, call{method: http.MethodPost, path: "oauth2/access_token", body: body, secrets: []string{secret, authCode}})
	if err != nil {
		return nil, err
	}
	var data struct {
		AccessToken   string      `json:"access_token"`
		AdvertiserIDs flexStrings `json:"advertiser_ids"`
		Scope         flexStrings `json:"scope"`
	}
	if err := json.Unmarshal(res.data, &data); err != nil {
		return nil, fmt.Errorf("tiktok: oauth2/access_token (request_id %s): %w", res.requestID, &DecodeError{Row: -1, Field: "data", Err: err})
	}
	if data.AccessToken == "" {
		return nil, fmt.Errorf("tiktok: oauth2/access_token (request_id %s): no access_token in response: %w", res.requestID, ErrMalformedResponse)
	}
	return &AuthToken{AccessToken: data.AccessToken, AdvertiserIDs: data.AdvertiserIDs, Scope: data.Scope}, nil
}

// AuthorizedAdvertiser is an advertiser the access token can reach.
type AuthorizedAdvertiser struct {
	ID   string
	Name string
}

// AuthorizedAdvertisers lists the advertisers the client's access token is
// authorised for (/oauth2/advertiser/get/). TikTok takes the secret as a
// query parameter here; it is kept out of errors and logs. The sandbox does
// not offer this endpoint.
func (c *Client) AuthorizedAdvertisers(ctx context.Context, appID, secret string) ([]AuthorizedAdvertiser, error) {
	q := url.Values{}
	q.Set("app_id", appID)
	q.Set("secret", secret)
	res, err := c.do(ctx, call{method: http.MethodGet, path: "oauth2/advertiser/get", query: q, secrets: []string{secret}})
	if err != nil {
		return nil, err
	}
	var data struct {
		List []struct {
			AdvertiserID   flexString `json:"advertiser_id"`
			AdvertiserName string     `json:"advertiser_name"`
		} `json:"list"`
	}
	if err := json.Unmarshal(res.data, &data); err != nil {
		return nil, fmt.Errorf("tiktok: oauth2/advertiser/get (request_id %s): %w", res.requestID, &DecodeError{Row: -1, Field: "list", Err: err})
	}
	out := make([]AuthorizedAdvertiser, len(data.List))
	for i, a := range data.List {
		out[i] = AuthorizedAdvertiser{ID: string(a.AdvertiserID), Name: a.AdvertiserName}
	}
	return out, nil
}
