package warehouse

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// identityPath is where both the gateway and the engine answer a challenge
// with proof that they know the warehouse's identity secret.
const identityPath = "/identity"

// ErrImpostor is returned when the process listening on a warehouse port
// cannot prove that it is this warehouse: no credential was sent to it.
var ErrImpostor = errors.New("warehouse: the process on this port is not the warehouse's engine; no password was sent to it")

// identityAnswer is the proof for one challenge. It binds the port, so an
// answer relayed from one of our listeners is useless on another.
func identityAnswer(secret, challenge string, port int) string {
	sum := sha256.Sum256([]byte(secret + ":" + challenge + ":" + strconv.Itoa(port)))
	return hex.EncodeToString(sum[:])
}

// identityQuery is the engine's side of the same proof, run by its
// predefined HTTP handler. The secret is a macro, never text of the query:
// ClickHouse quotes query text in syntax errors, and a caller may shrink
// max_query_size to make one.
func identityQuery(port int) string {
	return fmt.Sprintf("SELECT lower(hex(SHA256(concat(getMacro('adhouse_identity'), ':', {challenge:String}, ':%d')))) "+
		"SETTINGS max_execution_time = 1, max_query_size = 1024", port)
}

// verifiedDialer returns a dial function that opens a TCP connection and,
// before handing it over, proves over that very connection that the peer
// knows secret. Every new connection is checked, so a process that takes
// the port between two connections never receives a credential.
func verifiedDialer(secret string, timeout time.Duration) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		if err := proveIdentity(ctx, conn, addr, secret); err != nil {
			conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// proveIdentity sends one challenge on conn and checks the answer, leaving
// the connection ready for the next HTTP request.
func proveIdentity(ctx context.Context, conn net.Conn, addr, secret string) error {
	_, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("warehouse: port of %s: %w", addr, err)
	}
	nonce := make([]byte, 32)
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	challenge := hex.EncodeToString(nonce)
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	req := "GET " + identityPath + "?param_challenge=" + url.QueryEscape(challenge) + " HTTP/1.1\r\n" +
		"Host: " + addr + "\r\nUser-Agent: adhouse/" + Version + "\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return fmt.Errorf("warehouse: identity check on %s: %w", addr, err)
	}
	br := bufio.NewReaderSize(conn, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return fmt.Errorf("%w (%s: %v)", ErrImpostor, addr, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("%w (%s: %v)", ErrImpostor, addr, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w (%s answered the identity check with %s)", ErrImpostor, addr, resp.Status)
	}
	want := identityAnswer(secret, challenge, port)
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(string(body))), []byte(want)) != 1 {
		return fmt.Errorf("%w (%s gave a wrong answer to the identity check)", ErrImpostor, addr)
	}
	if resp.Close {
		return fmt.Errorf("warehouse: %s closed the connection after the identity check", addr)
	}
	if br.Buffered() > 0 {
		// Bytes beyond the answer would be read as the next response.
		return fmt.Errorf("%w (%s sent more than the identity answer)", ErrImpostor, addr)
	}
	return nil
}
