package warehouse

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestIdentityCheck: a client proves the server's identity before it uses a
// connection, and refuses every server that cannot.
func TestIdentityCheck(t *testing.T) {
	const secret = "s3cr3t"
	real := newGateway(secrets{identity: secret}, 0)
	realL, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	real.port = realL.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go serveGateway(ctx, realL, real)

	dial := verifiedDialer(secret, time.Second)
	conn, err := dial(ctx, realL.Addr().String())
	require.NoError(t, err, "the real gateway proves itself")
	// The proved connection carries the next request.
	_, err = io.WriteString(conn, "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, _ := conn.Read(buf)
	require.Contains(t, string(buf[:n]), "HTTP/1.1 503", "the gateway answered the request sent after the check")
	conn.Close()

	_, err = verifiedDialer("another secret", time.Second)(ctx, realL.Addr().String())
	require.ErrorIs(t, err, ErrImpostor, "an answer for another secret is refused")

	impostors := map[string]http.HandlerFunc{
		"answers 200 with nothing": func(w http.ResponseWriter, r *http.Request) {},
		"echoes the challenge":     func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Query().Get("param_challenge")) },
		"relays to the real gateway": func(w http.ResponseWriter, r *http.Request) {
			// Its answer is right for the real gateway's port, not for this one.
			resp, err := http.Get("http://" + realL.Addr().String() + identityPath + "?" + r.URL.RawQuery)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			io.Copy(w, resp.Body)
		},
		"refuses": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUnauthorized) },
	}
	for name, h := range impostors {
		t.Run(name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			srv := &http.Server{Handler: h}
			go srv.Serve(l)
			defer srv.Close()
			_, err = dial(ctx, l.Addr().String())
			require.ErrorIs(t, err, ErrImpostor)
		})
	}
	t.Run("answers and then sends more", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		go func() {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			req, _ := http.ReadRequest(bufio.NewReader(c))
			answer := identityAnswer(secret, req.URL.Query().Get("param_challenge"), port) + "\n"
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(len(answer))+"\r\n\r\n"+answer+"HTTP/1.1 200 OK\r\n")
			time.Sleep(time.Second)
		}()
		_, err = dial(ctx, l.Addr().String())
		require.Error(t, err)
	})
	t.Run("silent", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer l.Close()
		go func() {
			c, err := l.Accept()
			if err == nil {
				time.Sleep(3 * time.Second)
				c.Close()
			}
		}()
		short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		_, err = dial(short, l.Addr().String())
		require.Error(t, err)
		require.True(t, strings.Contains(err.Error(), "timeout") || strings.Contains(err.Error(), "deadline"), "%v", err)
	})
}
