package warehouse

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeEngine answers identity checks as the engine does and every other
// request with the number of the connection it came on. It records the
// credentials each connection carried.
type fakeEngine struct {
	addr  string
	conns atomic.Int64
	mu    sync.Mutex
	users map[int64]map[string]bool // connection → credential keys seen
}

type connNumber struct{}

func startFakeEngine(t *testing.T, secret string, idle time.Duration) *fakeEngine {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	e := &fakeEngine{addr: l.Addr().String(), users: map[int64]map[string]bool{}}
	port := l.Addr().(*net.TCPAddr).Port
	srv := &http.Server{
		IdleTimeout: idle,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connNumber{}, e.conns.Add(1))
		},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := r.Context().Value(connNumber{}).(int64)
			if r.URL.Path == identityPath {
				fmt.Fprintln(w, identityAnswer(secret, r.URL.Query().Get("param_challenge"), port))
				return
			}
			e.mu.Lock()
			if e.users[n] == nil {
				e.users[n] = map[string]bool{}
			}
			e.users[n][credentialKey(r.Header)] = true
			e.mu.Unlock()
			switch r.URL.Path {
			case "/close":
				w.Header().Set("Connection", "close")
			case "/missing":
				w.WriteHeader(http.StatusNotFound)
			case "/extra":
				// An answer, then bytes no request asked for.
				c, buf, _ := w.(http.Hijacker).Hijack()
				defer c.Close()
				body := fmt.Sprintf("conn %d\n", n)
				fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%sHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nextra\n", len(body), body)
				buf.Flush()
				time.Sleep(100 * time.Millisecond)
				return
			case "/long":
				// More than a client that gives up after two bytes reads.
				w.Write([]byte(strings.Repeat("x", 1<<16) + "\n"))
				w.(http.Flusher).Flush()
			}
			fmt.Fprintf(w, "conn %d\n", n)
		}),
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return e
}

// TestEngineTransportKeepsOnlyCleanConnections: the gateway reuses a proved
// connection only for the same credentials and only after a response read
// to its end; abandoned, closed and stale connections are never reused, and
// every response arrives whole.
func TestEngineTransportKeepsOnlyCleanConnections(t *testing.T) {
	const secret = "s3cr3t"
	e := startFakeEngine(t, secret, 0)
	tr := &engineTransport{dial: verifiedDialer(secret, time.Second)}
	// send makes one request of user's through the transport.
	send := func(ctx context.Context, method, user, path string, body io.Reader) *http.Response {
		req, err := http.NewRequestWithContext(ctx, method, "http://"+e.addr+path, body)
		require.NoError(t, err)
		req.SetBasicAuth(user, "pw-"+user)
		resp, err := tr.RoundTrip(req)
		require.NoError(t, err)
		return resp
	}
	// conn is the engine's number of the connection a POST to path took.
	conn := func(user, path string) int {
		resp := send(context.Background(), http.MethodPost, user, path, strings.NewReader("SELECT 1"))
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		body := string(raw)
		lines := strings.Split(strings.TrimSpace(body), "\n")
		n, err := strconv.Atoi(strings.TrimPrefix(lines[len(lines)-1], "conn "))
		require.NoError(t, err, "%.80q", body)
		return n
	}

	admin := conn("admin", "/")
	require.Equal(t, admin, conn("admin", "/"), "a clean connection serves the next request")
	require.EqualValues(t, 1, e.conns.Load(), "one connection, one identity check")
	bi := conn("bi", "/")
	require.NotEqual(t, admin, bi, "another user's request never takes admin's connection")
	require.Equal(t, admin, conn("admin", "/"))
	require.Equal(t, bi, conn("bi", "/"))

	// A request abandoned after two bytes of its response: its connection
	// is closed, and the next request's response is whole.
	ctx, cancel := context.WithCancel(context.Background())
	resp := send(ctx, http.MethodPost, "admin", "/long", strings.NewReader("SELECT 1"))
	_, err := resp.Body.Read(make([]byte, 2))
	require.NoError(t, err)
	cancel()
	resp.Body.Close()
	afterAbandon := conn("admin", "/")
	require.NotEqual(t, admin, afterAbandon, "an abandoned request's connection is never reused")

	// Read whole, a long response leaves its connection reusable.
	require.Equal(t, afterAbandon, conn("admin", "/long"))
	// The engine asked to close: the connection is not kept.
	require.Equal(t, afterAbandon, conn("admin", "/close"))
	require.NotEqual(t, afterAbandon, conn("admin", "/"), "a connection the engine closes is not reused")

	// Closed after part of its answer, without a cancellation: not kept.
	resp = send(context.Background(), http.MethodPost, "admin", "/long", strings.NewReader("SELECT 1"))
	_, err = resp.Body.Read(make([]byte, 2))
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, resp.Body.Close(), "a second close does nothing")
	partly := conn("admin", "/")
	require.NotEqual(t, afterAbandon, partly, "a connection closed mid-answer is never reused")

	// Exchanges that may leave bytes on the connection are not kept: an
	// answer followed by more, an error, a HEAD, a GET with a body (the
	// engine may not read it).
	extra := conn("admin", "/extra")
	require.NotEqual(t, extra, conn("admin", "/"), "a connection with bytes left over is not reused")
	last := conn("admin", "/")
	discard := func(method, path string, body io.Reader) {
		resp := send(context.Background(), method, "admin", path, body)
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for _, ex := range []struct {
		method, path string
		body         io.Reader
	}{
		{http.MethodPost, "/missing", strings.NewReader("SELECT 1")},
		{http.MethodHead, "/", nil},
		{http.MethodGet, "/", strings.NewReader("SELECT 1")},
	} {
		discard(ex.method, ex.path, ex.body)
		next := conn("admin", "/")
		require.NotEqual(t, last, next, "%s %s with a body %v: the connection was kept", ex.method, ex.path, ex.body != nil)
		last = next
	}
	discard(http.MethodGet, "/", nil)
	require.Equal(t, last, conn("admin", "/"), "a GET without a body keeps the connection")

	e.mu.Lock()
	defer e.mu.Unlock()
	for n, keys := range e.users {
		require.Len(t, keys, 1, "connection %d carried one user's requests only", n)
	}

	t.Run("closed by the engine while kept", func(t *testing.T) {
		e := startFakeEngine(t, secret, 50*time.Millisecond)
		tr := &engineTransport{dial: verifiedDialer(secret, time.Second)}
		for i := range 3 {
			req, err := http.NewRequest(http.MethodPost, "http://"+e.addr+"/", strings.NewReader("SELECT 1"))
			require.NoError(t, err)
			resp, err := tr.RoundTrip(req)
			require.NoError(t, err, "request %d finds the kept connection closed and opens another", i)
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("conn %d\n", i+1), string(body))
			time.Sleep(300 * time.Millisecond) // past the engine's idle timeout
		}
	})

	t.Run("/ping answers GET and HEAD only", func(t *testing.T) {
		g := newGateway(secrets{identity: secret}, 0)
		g.setEngine(1, "") // never reached: the method is refused first
		for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, httptest.NewRequest(method, "/ping", strings.NewReader("SELECT getMacro('adhouse_identity')")))
			require.Equal(t, http.StatusMethodNotAllowed, rec.Code, method)
		}
	})

	t.Run("the engine stops", func(t *testing.T) {
		g := newGateway(secrets{identity: secret}, 0)
		g.transport.keep(&engineConn{conn: &net.TCPConn{}, addr: e.addr})
		g.setEngine(0, "stopped")
		require.Empty(t, g.transport.idle, "kept connections go with the engine")
	})
}
