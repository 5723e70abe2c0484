package warehouse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// gateway owns the warehouse's public HTTP port for the supervisor's whole
// life, so a crashing engine never frees that port for another process. It
// answers identity challenges itself, forwards requests that authenticate
// as AdminUser or BIUser to the engine's private port with the gate value,
// and refuses the rest before they reach the engine: anonymous requests,
// other users, and credentials in the URL (which ClickHouse would prefer to
// a Basic-auth header).
type gateway struct {
	secret string
	gate   string
	port   int
	proxy  *httputil.ReverseProxy

	mu         sync.Mutex
	enginePort int    // 0 while the engine is down
	down       string // why it is down
}

// engineDown is the reason shown while no engine runs yet.
const engineDown = "the engine is starting"

func newGateway(s secrets, port int) *gateway {
	g := &gateway{secret: s.identity, gate: s.gate(), port: port, down: engineDown}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(g.engine()))
			pr.Out.Host = pr.Out.URL.Host
			pr.Out.Header.Set(gateHeader, g.gate)
			pr.Out.Close = true
		},
		Transport:     oneShotTransport{dial: verifiedDialer(s.identity, 5*time.Second)},
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client left
			}
			refuse(w, http.StatusBadGateway, codeNetworkError, "the warehouse engine did not answer: "+g.reason(err))
		},
	}
	return g
}

func (g *gateway) setEngine(port int, down string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.enginePort, g.down = port, down
}

func (g *gateway) engine() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.enginePort
}

func (g *gateway) reason(err error) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.enginePort == 0 {
		return g.down
	}
	return err.Error()
}

// credentialParams are the URL parameters ClickHouse reads credentials from.
var credentialParams = []string{"user", "password", "quota_key", "jwt"}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case identityPath:
		challenge := r.URL.Query().Get("param_challenge")
		if challenge == "" || len(challenge) > 256 {
			refuse(w, http.StatusBadRequest, codeBadArguments, "param_challenge must hold 1 to 256 characters")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		fmt.Fprintln(w, identityAnswer(g.secret, challenge, g.port))
		return
	case "/ping":
		if g.engine() == 0 {
			refuse(w, http.StatusServiceUnavailable, codeNetworkError, g.reason(nil))
			return
		}
		r.URL.RawQuery = ""
		r.Header = http.Header{}
		g.proxy.ServeHTTP(w, r)
		return
	}
	// What the engine sees is what was checked here: the query string is
	// forwarded as parsed, never as received.
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		refuse(w, http.StatusBadRequest, codeBadArguments, "malformed query string: "+err.Error())
		return
	}
	for key := range query {
		for _, p := range credentialParams {
			if strings.EqualFold(key, p) {
				refuse(w, http.StatusForbidden, codeAuthenticationFailed, "credentials in the URL are refused; use HTTP Basic authentication or the X-ClickHouse-User and X-ClickHouse-Key headers")
				return
			}
		}
	}
	user, err := requestUser(r)
	if err == nil && user != AdminUser && user != BIUser {
		err = fmt.Errorf("authenticate as %s or %s; their passwords are in the warehouse folder", AdminUser, BIUser)
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="adhouse", charset="UTF-8"`)
		refuse(w, http.StatusUnauthorized, codeAuthenticationFailed, err.Error())
		return
	}
	if g.engine() == 0 {
		refuse(w, http.StatusServiceUnavailable, codeNetworkError, g.reason(nil))
		return
	}
	r.URL.RawQuery = query.Encode()
	g.proxy.ServeHTTP(w, r)
}

// ClickHouse exception codes the gateway answers with, so that ClickHouse
// clients see its refusals as they would the server's: a driver can match
// the code (a loader retries NETWORK_ERROR), and no client mistakes them for
// data.
const (
	codeBadArguments         = 36
	codeNetworkError         = 210
	codeAuthenticationFailed = 516
)

var codeNames = map[int]string{codeBadArguments: "BAD_ARGUMENTS", codeNetworkError: "NETWORK_ERROR", codeAuthenticationFailed: "AUTHENTICATION_FAILED"}

// refuse answers as ClickHouse answers an exception.
func refuse(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Header().Set("X-ClickHouse-Exception-Code", strconv.Itoa(code))
	w.WriteHeader(status)
	fmt.Fprintf(w, "Code: %d. DB::Exception: adhouse: %s. (%s)\n", code, msg, codeNames[code])
}

// requestUser names the one user a request authenticates as, by HTTP Basic
// or by ClickHouse's X-ClickHouse-User header, and refuses ambiguity.
func requestUser(r *http.Request) (string, error) {
	auth := r.Header.Values("Authorization")
	users := r.Header.Values("X-ClickHouse-User")
	switch {
	case len(auth) == 0 && len(users) == 0:
		return "", fmt.Errorf("authentication required (HTTP Basic, or the X-ClickHouse-User and X-ClickHouse-Key headers)")
	case len(auth) > 0 && len(users) > 0, len(auth) > 1, len(users) > 1:
		return "", fmt.Errorf("authenticate one way only")
	case len(users) == 1:
		return users[0], nil
	}
	user, _, ok := r.BasicAuth()
	if !ok {
		return "", fmt.Errorf("only HTTP Basic authentication is accepted in the Authorization header")
	}
	return user, nil
}

// oneShotTransport sends each request on a connection of its own, proved
// to be the engine's, and closes it with the response. net/http's pooled
// Transport was measured to cut short about one response in 300 that
// followed a request its client had abandoned (the abandoned request's
// cancellation closed a connection serving the next); a connection per
// request cannot be shared by mistake.
type oneShotTransport struct {
	dial func(ctx context.Context, addr string) (net.Conn, error)
}

func (t oneShotTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	conn, err := t.dial(req.Context(), req.URL.Host)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	stop := context.AfterFunc(req.Context(), func() { conn.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		conn.Close()
		return nil, err
	}
	if err := req.Write(conn); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return fail(err)
	}
	resp.Body = &connBody{ReadCloser: resp.Body, conn: conn, stop: stop}
	return resp, nil
}

// connBody closes the response's connection with the body.
type connBody struct {
	io.ReadCloser
	conn net.Conn
	stop func() bool
}

func (b *connBody) Close() error {
	b.stop()
	err := b.ReadCloser.Close()
	b.conn.Close()
	return err
}

// serveGateway serves g on l until ctx ends.
func serveGateway(ctx context.Context, l net.Listener, g *gateway) error {
	srv := &http.Server{
		Handler:           g,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          log.New(os.Stderr, "warehouse gateway: ", log.LstdFlags),
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}
