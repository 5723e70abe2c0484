package tiktok_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"

	"github.com/adhouse/adhouse/etl/tiktok"
)

// TestUnreachableFailsAfterFewRetries: a base_url nothing listens on is
// retried UnreachableRetries times, not MaxRetries (minutes of backoff),
// and the error says it never reached TikTok.
func TestUnreachableFailsAfterFewRetries(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	opts := testOptions("http://"+addr+"/open_api/v1.3/", "tok-123456")
	opts.MaxRetries = 10
	c := newClient(t, opts)
	ctx, counter := tiktok.CountCalls(context.Background())
	_, err = c.AdvertiserInfo(ctx, []string{"42"})
	if !tiktok.Unreachable(err) {
		t.Fatalf("err = %v, want Unreachable", err)
	}
	if got := counter.Calls().Total(); got != tiktok.UnreachableRetries+1 {
		t.Errorf("%d attempts, want %d", got, tiktok.UnreachableRetries+1)
	}
	if tiktok.TokenRejected(err) || tiktok.AdvertiserRefused(err) || !tiktok.FromTikTok(err) {
		t.Errorf("classes of %v", err)
	}
}

// TestErrorPredicates: which codes reject the token (re-authorise), which
// refuse one advertiser (the others go on), and that neither holds for
// errors that are not TikTok's answer.
func TestErrorPredicates(t *testing.T) {
	for _, tc := range []struct {
		err            error
		token, refused bool
		fromTikTok     bool
	}{
		{&tiktok.APIError{Code: tiktok.CodeTokenExpired}, true, false, true},
		{&tiktok.APIError{Code: tiktok.CodeTokenEmpty}, true, false, true},
		{&tiktok.APIError{Code: tiktok.CodeTokenInvalid}, true, false, true},
		{&tiktok.APIError{Code: tiktok.CodeInvalidCoreUser}, true, false, true},
		{&tiktok.APIError{HTTPStatus: http.StatusUnauthorized}, true, false, true},
		{&tiktok.APIError{Code: tiktok.CodeNoPermission}, false, true, true},
		{&tiktok.APIError{Code: tiktok.CodeNotSameCompany}, false, true, true},
		{&tiktok.APIError{Code: tiktok.CodeAdvertiserNotExist}, false, true, true},
		{&tiktok.APIError{Code: tiktok.CodeAppBlocked}, false, false, true},
		{&tiktok.APIError{Code: tiktok.CodeSystemError}, false, false, true},
		{errors.New("connection refused"), false, false, false},
		{&tiktok.PaginationDriftError{Path: "report/integrated/get", Page: 2, Reason: "total_number changed"}, false, false, true},
	} {
		if got := tiktok.TokenRejected(tc.err); got != tc.token {
			t.Errorf("TokenRejected(%v) = %v", tc.err, got)
		}
		if got := tiktok.AdvertiserRefused(tc.err); got != tc.refused {
			t.Errorf("AdvertiserRefused(%v) = %v", tc.err, got)
		}
		if got := tiktok.FromTikTok(tc.err); got != tc.fromTikTok {
			t.Errorf("FromTikTok(%v) = %v", tc.err, got)
		}
	}
}
