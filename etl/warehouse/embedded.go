// Package warehouse runs the embedded ClickHouse engine on loopback and opens
// connections to whichever ClickHouse the configuration names.
//
// The embedded engine is chDB's libchdb.so (ClickHouse 26.7) from the pinned
// npm package. [Start] prepares a folder (generated passwords and identity
// secret, 0600) and spawns `adhouse warehouse engine`, which runs [Supervise]:
// a gateway holding the public HTTP port, and the engine in a child process
// ([RunEngine]) on a private port that only the gateway may query. Clients
// prove the server's identity on every connection before they send a
// password (see identity.go); docs/operating.md has the threat model.
package warehouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/adhouse/adhouse/etl/config"
)

// AdminUser is the engine's read-write user; its password is generated on first
// start and kept in the warehouse folder with 0600 permissions.
const AdminUser = "adhouse_admin"

// BIUser is the engine's read-only user for BI tools: it may SELECT the BI
// views (bi_*) of the adhouse database and nothing else. Its password is
// generated like the admin's and kept in bi.password (0600).
const BIUser = "adhouse_bi"

// DefaultDatabase is the database the BI user may read when EngineOptions
// names none; it is config.Default's clickhouse.database.
const DefaultDatabase = "adhouse"

// Files inside the warehouse folder.
const (
	stateFile      = "state.json"
	biPasswordFile = "bi.password"
	passwordFile   = "admin.password"
	logFile        = "engine.log"
	lockFile       = "start.lock"
	portsFile      = "ports.json"
	identityFile   = "identity.secret"
	clusterFile    = "cluster.secret"
	specFile       = "engine.json"
)

// ErrNotRunning is returned when the embedded warehouse has no live engine;
// the error returned names the folder checked (errors.Is matches it).
var ErrNotRunning = errors.New("warehouse: the embedded warehouse is not running (start it with `adhouse warehouse start`)")

// notRunning is [ErrNotRunning] for one folder: the message says which
// folder was checked, since a relative warehouse.dir read from the wrong
// working folder is the usual cause.
type notRunning struct{ dir, why string }

func (e notRunning) Error() string {
	dir := e.dir
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	msg := "warehouse: the embedded warehouse in " + dir + " is not running"
	if e.why != "" {
		msg += " (" + e.why + ")"
	}
	return msg + "; start it with `adhouse warehouse start`, or point warehouse.dir at the running one"
}

func (e notRunning) Is(target error) bool { return target == ErrNotRunning }

// EngineOptions says where the embedded engine lives and how to start it.
type EngineOptions struct {
	// Dir is the warehouse folder: data, users, logs, pid and state.
	Dir string
	// Library is the path of libchdb.so.
	Library string
	// HTTPPort is the public loopback port (the gateway's); 0 picks a free one.
	HTTPPort int
	// Native also opens the engine's native-protocol port, TCPPort (0 picks
	// a free one). It is off by default: on that port the engine cannot
	// prove its identity before a client sends its password, and the
	// engine's password-less default user can stop the listeners.
	Native  bool
	TCPPort int
	// Binary is the adhouse executable that serves the engine; empty means this one.
	Binary string
	// StartTimeout bounds the wait until both ports answer.
	StartTimeout time.Duration
	// DieWithParent ends the engine when the process that started it dies;
	// tests use it so no engine outlives its test binary.
	DieWithParent bool
	// BI limits BIUser's sessions; zero means config.Default's.
	BI config.BI
	// Database is the adhouse database whose BI tables and views BIUser may read;
	// empty means DefaultDatabase. The grant is written into users.xml at
	// start, so a change takes effect on the next start.
	Database string
	// Cluster, when set, makes the engine a node of a sharded cluster: its
	// remote_servers entry is written into the engine's configuration, the
	// secret into a 0600 file of the folder. It needs Native and TCPPort.
	Cluster *config.WarehouseCluster
}

// State describes a running embedded engine, as recorded in its folder.
type State struct {
	// PID is the supervisor's process.
	PID int `json:"pid"`
	// TCPPort is the native port, 0 when native is off.
	TCPPort   int       `json:"tcp_port"`
	HTTPPort  int       `json:"http_port"`
	StartedAt time.Time `json:"started_at"`
	Dir       string    `json:"dir"`
}

// NativeAddr is the native-protocol address of the engine.
func (s State) NativeAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.TCPPort)) }

// HTTPAddr is the HTTP address of the engine.
func (s State) HTTPAddr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.HTTPPort)) }

// Start launches the supervisor and its engine unless they already serve
// dir, and returns the state once the warehouse answers through its
// gateway. It is safe to call from two processes at once.
func Start(ctx context.Context, opts EngineOptions) (State, error) {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return State{}, fmt.Errorf("warehouse: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return State{}, fmt.Errorf("warehouse: %w", err)
	}
	unlock, err := lock(filepath.Join(dir, lockFile))
	if err != nil {
		return State{}, err
	}
	defer unlock()

	if st, err := Status(ctx, dir); err == nil {
		return st, nil
	}
	timeout := opts.StartTimeout
	if timeout <= 0 {
		timeout = config.Default().Warehouse.StartTimeout
	}
	// A live engine that does not answer (its supervisor restarting it) is
	// waited for, never doubled: two engines on one folder would fight.
	if st, err := readState(dir); err == nil && isEngine(st.PID, st.Dir) {
		if err := WaitReady(ctx, dir, timeout); err != nil {
			return State{}, fmt.Errorf("warehouse: engine %d runs but does not answer (stop it with `adhouse warehouse stop`): %w", st.PID, err)
		}
		return Status(ctx, dir)
	}
	library, err := filepath.Abs(opts.Library)
	if err != nil {
		return State{}, fmt.Errorf("warehouse: %w", err)
	}
	if _, err := os.Stat(library); err != nil {
		return State{}, fmt.Errorf("warehouse: the ClickHouse engine library is missing (%w); run `make tools` to install it", err)
	}
	if _, err := loadSecrets(dir, true); err != nil {
		return State{}, err
	}
	spec, err := newSpec(dir, opts)
	if err != nil {
		return State{}, err
	}
	if opts.Cluster != nil {
		if err := os.WriteFile(filepath.Join(dir, clusterFile), []byte(opts.Cluster.Secret.Reveal()), 0o600); err != nil {
			return State{}, fmt.Errorf("warehouse: %w", err)
		}
	}
	if err := writeJSON(filepath.Join(dir, specFile), spec); err != nil {
		return State{}, err
	}
	binary := opts.Binary
	if binary == "" {
		if binary, err = os.Executable(); err != nil {
			return State{}, fmt.Errorf("warehouse: %w", err)
		}
	}
	logf, err := os.OpenFile(filepath.Join(dir, logFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return State{}, fmt.Errorf("warehouse: %w", err)
	}
	defer logf.Close()
	_ = os.Remove(filepath.Join(dir, stateFile))
	cmd := exec.Command(binary, "warehouse", "engine", "--dir", dir, "--library", library)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session, so the engine outlives `adhouse warehouse start` and a
	// terminal's Ctrl-C aimed at a later command does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if opts.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return State{}, fmt.Errorf("warehouse: starting the engine: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }() // reaps the child when this process outlives it

	st, err := waitStarted(ctx, dir, cmd.Process.Pid, exited, timeout)
	if err != nil {
		_ = cmd.Process.Kill()
		return State{}, fmt.Errorf("%w\n%s", err, logTail(filepath.Join(dir, logFile)))
	}
	if err := writeJSON(filepath.Join(dir, portsFile), State{TCPPort: st.TCPPort, HTTPPort: st.HTTPPort}); err != nil {
		return State{}, err
	}
	return st, nil
}

// newSpec chooses the ports of a start: the configured ones, else the last
// run's when they are free (so BI tools set up against them keep working),
// else free ones.
func newSpec(dir string, opts EngineOptions) (engineSpec, error) {
	database := opts.Database
	if database == "" {
		database = DefaultDatabase
	}
	if !identifier.MatchString(database) {
		return engineSpec{}, fmt.Errorf("warehouse: database %q is not a plain identifier", database)
	}
	bi := opts.BI
	if bi == (config.BI{}) {
		bi = config.Default().BI
	}
	spec := engineSpec{Database: database, BI: NewBIProfile(bi, runtime.NumCPU()), HTTPPort: opts.HTTPPort, TCPPinned: opts.Native && opts.TCPPort != 0}
	if c := opts.Cluster; c != nil {
		if !opts.Native || opts.TCPPort == 0 {
			return engineSpec{}, errors.New("warehouse: a cluster node needs native on a fixed port: the other nodes dial it")
		}
		if !identifier.MatchString(c.Name) {
			return engineSpec{}, fmt.Errorf("warehouse: cluster name %q is not a plain identifier", c.Name)
		}
		spec.Cluster = &clusterSpec{Name: c.Name}
		for _, a := range c.Shards {
			host, port, err := net.SplitHostPort(a)
			if err != nil {
				return engineSpec{}, fmt.Errorf("warehouse: cluster shard %q: %w", a, err)
			}
			p, err := strconv.Atoi(port)
			if err != nil {
				return engineSpec{}, fmt.Errorf("warehouse: cluster shard %q: port %q is not a number", a, port)
			}
			spec.Cluster.Shards = append(spec.Cluster.Shards, clusterShard{Host: host, Port: p})
		}
	}
	if opts.Native {
		spec.TCPPort = opts.TCPPort
	}
	var last State
	if b, err := os.ReadFile(filepath.Join(dir, portsFile)); err == nil && json.Unmarshal(b, &last) == nil {
		if spec.HTTPPort == 0 && portFree(last.HTTPPort) {
			spec.HTTPPort = last.HTTPPort
		}
		if opts.Native && spec.TCPPort == 0 && portFree(last.TCPPort) {
			spec.TCPPort = last.TCPPort
		}
	}
	ports, err := freePorts(2)
	if err != nil {
		return engineSpec{}, err
	}
	if spec.HTTPPort == 0 {
		spec.HTTPPort = ports[0]
	}
	if opts.Native && spec.TCPPort == 0 {
		spec.TCPPort = ports[1]
	}
	return spec, nil
}

// Status returns the state of the warehouse serving dir, or [ErrNotRunning],
// or why it does not answer. It proves the engine's identity first, so it
// also tells when another process holds the warehouse's port.
func Status(ctx context.Context, dir string) (State, error) {
	st, err := readState(dir)
	if err != nil {
		return State{}, err
	}
	if !isEngine(st.PID, st.Dir) {
		return State{}, notRunning{dir, fmt.Sprintf("stale state: process %d is gone", st.PID)}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := ping(pingCtx, st); err != nil {
		return State{}, fmt.Errorf("warehouse: engine %d does not answer: %w", st.PID, err)
	}
	return st, nil
}

// readState reads the state file of dir, or returns [ErrNotRunning].
func readState(dir string) (State, error) {
	var st State
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return State{}, notRunning{dir: dir, why: "no " + stateFile}
	}
	if err != nil {
		return State{}, fmt.Errorf("warehouse: %w", err)
	}
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("warehouse: %s: %w", stateFile, err)
	}
	return st, nil
}

// Stop ends the engine serving dir and waits until it is gone. Stopping a
// stopped warehouse is not an error.
func Stop(ctx context.Context, dir string) error {
	st, err := readState(dir)
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	// Not while a Start of the same folder is under way (unless the folder
	// cannot even hold the lock, e.g. a disk gone read-only: stop anyway).
	if unlock, err := lock(filepath.Join(dir, lockFile)); err == nil {
		defer unlock()
	}
	if isEngine(st.PID, st.Dir) {
		_ = syscall.Kill(st.PID, syscall.SIGTERM)
		deadline := time.Now().Add(15 * time.Second)
		for isEngine(st.PID, st.Dir) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(st.PID, syscall.SIGKILL)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	waitGone(st.Dir)
	if err := os.Remove(filepath.Join(dir, stateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("warehouse: %w", err)
	}
	return nil
}

// Kill ends the engine at once with SIGKILL, as a crash would; tests use it.
func Kill(st State) error {
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	waitGone(st.Dir)
	return nil
}

// waitGone waits until no process serves dir any more, the supervisor's
// child included, so a restart finds its ports free.
func waitGone(dir string) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if len(enginePIDs(dir)) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// enginePIDs lists the live processes serving dir.
func enginePIDs(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && isEngine(pid, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// AdminPassword returns the generated admin password of the warehouse in dir.
func AdminPassword(dir string) (string, error) {
	return readPassword(dir, passwordFile, "admin")
}

// BIPassword returns the generated password of BIUser in the warehouse in dir.
func BIPassword(dir string) (string, error) {
	return readPassword(dir, biPasswordFile, "BI")
}

func readPassword(dir, file, who string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return "", fmt.Errorf("warehouse: reading the %s password: %w", who, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// identifier is what a database name must look like to be written into
// users.xml grants unquoted.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// generatedPassword returns the password kept in file, generating and
// storing (0600) a random one on first use.
func generatedPassword(dir, file string) (string, error) {
	if pw, err := readPassword(dir, file, file); err == nil && pw != "" {
		return pw, nil
	}
	buf := make([]byte, 24)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("warehouse: %w", err)
	}
	pw := hex.EncodeToString(buf)
	if err := os.WriteFile(filepath.Join(dir, file), []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("warehouse: %w", err)
	}
	return pw, nil
}

// WaitReady waits until the engine serving dir answers on both ports.
func WaitReady(ctx context.Context, dir string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		_, err := Status(ctx, dir)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("warehouse: not ready within %s: %w", timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitStarted waits until the supervisor pid records its state and the
// warehouse answers through its gateway.
func waitStarted(ctx context.Context, dir string, pid int, exited <-chan error, timeout time.Duration) (State, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	last := errors.New("no state recorded yet")
	for {
		if st, err := readState(dir); err == nil && st.PID == pid {
			if last = ping(ctx, st); last == nil {
				return st, nil
			}
		}
		select {
		case err := <-exited:
			return State{}, fmt.Errorf("warehouse: the engine's supervisor exited while starting (%v)", err)
		case <-ctx.Done():
			return State{}, fmt.Errorf("warehouse: the engine did not answer within %s: %w", timeout, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// ping checks that the warehouse answers /ping through its gateway, over a
// connection that proved the gateway's identity, and that the native port
// (when open) accepts connections.
func ping(ctx context.Context, st State) error {
	secret, err := readPassword(st.Dir, identityFile, "identity")
	if err != nil {
		return err
	}
	dial := verifiedDialer(secret, 5*time.Second)
	client := &http.Client{Transport: &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		DialContext:       func(ctx context.Context, _, addr string) (net.Conn, error) { return dial(ctx, addr) },
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+st.HTTPAddr()+"/ping", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", strings.TrimSpace(string(body)))
	}
	if st.TCPPort != 0 {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", st.NativeAddr())
		if err != nil {
			return fmt.Errorf("native port: %w", err)
		}
		conn.Close()
	}
	return nil
}

// isEngine tells whether pid is alive and is the engine of dir, so a stale pid
// file after a reboot or a kill -9 never points at an unrelated process.
func isEngine(pid int, dir string) bool {
	if pid <= 0 {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err == nil {
		// A zombie (state Z) has exited; it is only waiting to be reaped.
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return false
		}
	}
	args := strings.Split(string(cmdline), "\x00")
	for i, a := range args {
		if a == "--dir" && i+1 < len(args) && args[i+1] == dir {
			return true
		}
	}
	return false
}

func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("warehouse: finding a free port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func portFree(port int) bool {
	if port <= 0 {
		return false
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("warehouse: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("warehouse: locking %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("warehouse: %w", err)
	}
	return nil
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	const max = 2000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "engine log (" + path + "):\n" + string(b)
}
