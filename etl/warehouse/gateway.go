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
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	// transport keeps connections to the engine between requests.
	transport *engineTransport

	mu         sync.Mutex
	enginePort int    // 0 while the engine is down
	down       string // why it is down
}

// engineDown is the reason shown while no engine runs yet.
const engineDown = "the engine is starting"

func newGateway(s secrets, port int) *gateway {
	g := &gateway{secret: s.identity, gate: s.gate(), port: port, down: engineDown,
		transport: &engineTransport{dial: verifiedDialer(s.identity, 5*time.Second)}}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(g.engine()))
			pr.Out.Host = pr.Out.URL.Host
			pr.Out.Header.Set(gateHeader, g.gate)
			// The whole request is written before its response is read: an
			// interim "100 Continue" would be taken for the response.
			pr.Out.Header.Del("Expect")
		},
		Transport:     g.transport,
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
	g.transport.closeIdle()
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
		// The engine answers /ping itself only to GET and HEAD; any other
		// method would fall through to the rule that runs queries, with the
		// gate value and no user: as the password-less default user.
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			refuse(w, http.StatusMethodNotAllowed, codeBadArguments, "/ping answers GET and HEAD only")
			return
		}
		if g.engine() == 0 {
			refuse(w, http.StatusServiceUnavailable, codeNetworkError, g.reason(nil))
			return
		}
		r.URL.RawQuery = ""
		r.Header = http.Header{}
		r.Method = http.MethodGet // the server leaves out the body of an answer to HEAD
		r.Body, r.ContentLength = http.NoBody, 0
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

// engineTransport sends requests to the engine over connections proved to
// be the engine's (verifiedDialer) and keeps one for the next request only
// when nothing can be left on it: the exchange was one that leaves the
// connection clean (reusable), its answer was read to the end, and the
// request was never abandoned. net/http's pooled Transport was measured to cut short about one response
// in 300 that followed a request its client had abandoned (the abandoned
// request's cancellation closed a connection already serving the next);
// here an abandoned request's connection is closed, never kept, and a kept
// connection's cancellation is disarmed before it is kept. Every proof is a
// query the engine runs, about 1.4 ms of its CPU: a backfill made about a
// thousand of them, one per request, before connections were kept.
//
// A kept connection serves only requests with the same credentials as the
// one that opened it, so no request of one user ever follows another user's
// on a connection: even an engine that misread where a request body ends
// could not join one user's bytes to another's headers.
type engineTransport struct {
	dial func(ctx context.Context, addr string) (net.Conn, error)

	mu   sync.Mutex
	idle []*engineConn // most recently used last
}

// Bounds of the connections engineTransport keeps: enough for the busiest
// moments of a sync (its streams, the refresh, a BI tool), and idle for far
// less than the engine's keep-alive timeout (30 s), so that the engine
// never closes one as it is taken.
const (
	maxIdleEngineConns = 16
	maxEngineConnIdle  = 2 * time.Second
)

// engineConn is a proved connection to the engine and its reader.
type engineConn struct {
	conn  net.Conn
	br    *bufio.Reader
	addr  string // the engine's address it was proved on
	key   string // the credentials of the requests it serves
	since time.Time
}

// credentialKey is what a request authenticates with, as the engine reads
// it: requests with the same key may share a connection.
func credentialKey(h http.Header) string {
	return strings.Join(h.Values("Authorization"), "\n") + "\x00" +
		strings.Join(h.Values("X-ClickHouse-User"), "\n") + "\x00" + strings.Join(h.Values("X-ClickHouse-Key"), "\n")
}

func (t *engineTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	key := credentialKey(req.Header)
	ec := t.take(req.URL.Host, key)
	if ec == nil {
		conn, err := t.dial(req.Context(), req.URL.Host)
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
		ec = &engineConn{conn: conn, br: bufio.NewReader(conn), addr: req.URL.Host, key: key}
	}
	stop := context.AfterFunc(req.Context(), func() { ec.conn.Close() })
	fail := func(err error) (*http.Response, error) {
		stop()
		ec.conn.Close()
		return nil, err
	}
	if err := req.Write(ec.conn); err != nil {
		return fail(err)
	}
	resp, err := http.ReadResponse(ec.br, req)
	if err != nil {
		return fail(err)
	}
	resp.Body = &engineBody{ReadCloser: resp.Body, t: t, ec: ec, stop: stop, keep: reusable(req, resp)}
	return resp, nil
}

// take returns a kept connection to addr for key, or nil. A connection that
// is past its idle time, or that has anything to read (the engine closed it,
// or sent what no request asked for), is closed instead.
func (t *engineTransport) take(addr, key string) *engineConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := len(t.idle) - 1; i >= 0; i-- {
		ec := t.idle[i]
		if time.Since(ec.since) > maxEngineConnIdle {
			ec.conn.Close()
			t.idle = slices.Delete(t.idle, i, i+1)
			continue
		}
		if ec.addr != addr || ec.key != key {
			continue
		}
		t.idle = slices.Delete(t.idle, i, i+1)
		if quiet(ec.conn) {
			return ec
		}
		ec.conn.Close()
	}
	return nil
}

// quiet reports whether conn is still open with nothing to read, by one
// non-blocking peek: a read deadline in the past would fail before looking.
func quiet(conn net.Conn) bool {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	open := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		open = err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
		return true // never wait
	})
	return err == nil && open
}

// keep puts ec back for the next request, or closes it when enough are kept.
func (t *engineTransport) keep(ec *engineConn) {
	ec.since = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.idle) >= maxIdleEngineConns {
		t.idle[0].conn.Close()
		t.idle = slices.Delete(t.idle, 0, 1)
	}
	t.idle = append(t.idle, ec)
}

// closeIdle closes every kept connection: the engine they lead to stopped.
func (t *engineTransport) closeIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, ec := range t.idle {
		ec.conn.Close()
	}
	t.idle = nil
}

// engineBody is a response body from the engine: its connection is kept
// when the body was read to its end, else closed with it.
type engineBody struct {
	io.ReadCloser
	t      *engineTransport
	ec     *engineConn
	stop   func() bool
	keep   bool // the exchange leaves the connection clean (reusable)
	done   bool // the body was read to io.EOF
	closed bool
}

func (b *engineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.done = true
	}
	return n, err
}

func (b *engineBody) Close() error {
	if b.closed {
		return nil // the connection may already serve another request
	}
	b.closed = true
	// stop disarms the request's cancellation: true means it never ran and
	// never will, so the connection cannot be closed under a later request.
	disarmed := b.stop()
	if !b.done {
		// Closed before its end: the connection goes first, so that closing
		// the body does not read the rest of a long answer.
		b.ec.conn.Close()
		return b.ReadCloser.Close()
	}
	err := b.ReadCloser.Close()
	if disarmed && b.keep && err == nil && b.ec.br.Buffered() == 0 {
		b.t.keep(b.ec)
		return nil
	}
	b.ec.conn.Close()
	return err
}

// reusable reports whether the exchange leaves nothing on its connection
// that the engine may still send or read: a complete answer (2xx, not to
// HEAD, whose answer has no body, nor an interim 1xx) to a request whose
// body the engine reads whole, which it does for POST, or that has none.
// The engine drains an unread body after an error only for POST, and its
// static answers (/ping, the refusal of ungated requests) read no body:
// bytes left over would be taken for another request, and its answer would
// reach the next client of the connection.
func reusable(req *http.Request, resp *http.Response) bool {
	bodyless := req.Body == nil || req.Body == http.NoBody
	return !resp.Close && !req.Close && resp.StatusCode/100 == 2 && req.Method != http.MethodHead &&
		(req.Method == http.MethodPost || bodyless)
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
