package warehouse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Supervision timings: how often the engine is probed, how long it may stay
// silent before it is restarted (longer while it is working, see
// silentVerdict), and the bounds of the wait between restarts. The wait
// grows only while starts keep failing: an engine that served and then died
// is restarted at once, whatever killed it.
const (
	probeEvery   = time.Second
	silentLimit  = 5 * time.Second
	busyLimit    = 2 * time.Minute
	startLimit   = 60 * time.Second
	firstBackoff = 200 * time.Millisecond
	maxBackoff   = 30 * time.Second
)

// Supervise holds the warehouse's public HTTP port with the gateway and
// keeps an engine running behind it, in a child process. It restarts the
// engine when it exits or stops answering (alive but deaf, as after SYSTEM
// STOP LISTEN), backing off between attempts but never giving up; when
// another process holds the engine's private port, the engine moves to
// another. It returns when ctx ends, after stopping the engine.
func Supervise(ctx context.Context, binary, library, dir string, logger *log.Logger) error {
	spec, err := readSpec(dir)
	if err != nil {
		return err
	}
	sec, err := loadSecrets(dir, false)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(spec.HTTPPort)))
	if err != nil {
		return fmt.Errorf("warehouse supervisor: the HTTP port %d is taken by another process: %w", spec.HTTPPort, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gw := newGateway(sec, spec.HTTPPort)
	gatewayDone := make(chan error, 1)
	go func() { gatewayDone <- serveGateway(ctx, l, gw) }()

	s := &supervisor{binary: binary, library: library, dir: dir, spec: spec, sec: sec, gw: gw, log: logger}
	backoff := firstBackoff
	for attempt := 1; ; attempt++ {
		reason, served := s.runOnce(ctx)
		if ctx.Err() != nil {
			gw.setEngine(0, "the warehouse is stopping")
			return <-gatewayDone
		}
		if served {
			backoff, attempt = firstBackoff, 1
		}
		gw.setEngine(0, fmt.Sprintf("the engine is restarting (%s; attempt %d in %s)", reason, attempt, backoff.Round(time.Millisecond)))
		logger.Printf("warehouse supervisor: %s; restarting in %s (attempt %d)", reason, backoff.Round(time.Millisecond), attempt)
		select {
		case <-ctx.Done():
			return <-gatewayDone
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

type supervisor struct {
	binary, library, dir string
	spec                 engineSpec
	sec                  secrets
	gw                   *gateway
	log                  *log.Logger
	pid                  int
}

// runOnce starts one engine and serves it until it fails; it says why it
// ended and whether the engine served at all.
func (s *supervisor) runOnce(ctx context.Context) (reason string, served bool) {
	if err := s.choosePorts(); err != nil {
		return err.Error(), false
	}
	if err := s.writeState(); err != nil {
		return err.Error(), false
	}
	if err := writeEngineConfig(s.dir, s.spec, s.sec); err != nil {
		return err.Error(), false
	}
	args := []string{"warehouse", "engine", "--serve", "--dir", s.dir, "--library", s.library}
	if s.spec.TCPPort != 0 {
		args = append(args, "--native")
	}
	cmd := exec.Command(s.binary, args...)
	cmd.Stdout, cmd.Stderr = s.log.Writer(), s.log.Writer()
	// The engine must never outlive its supervisor, even after a SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	master, terminal, err := openPTY()
	if err != nil {
		s.log.Printf("warehouse supervisor: %v; a failed native login will abort the engine", err)
	} else {
		cmd.Stdin = terminal
		defer master.Close()
		go func() { _, _ = io.Copy(io.Discard, master) }() // a full terminal buffer would block the engine
	}
	if err := cmd.Start(); err != nil {
		if terminal != nil {
			terminal.Close()
		}
		return fmt.Sprintf("starting the engine: %v", err), false
	}
	if terminal != nil {
		terminal.Close()
	}
	s.pid = cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	up := false
	lastAnswer := time.Now()
	var work progress
	toldBusy := false // the log says once per silence that the engine is kept
	tick := time.NewTicker(probeEvery / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stop()
			return "stopped", up
		case err := <-exited:
			if up {
				return fmt.Sprintf("the engine exited (%v)", err), true
			}
			return fmt.Sprintf("the engine exited while starting (%v); see %s", err, logFile), false
		case <-tick.C:
		}
		probeCtx, cancel := context.WithTimeout(ctx, probeEvery)
		err := s.probe(probeCtx)
		cancel()
		switch {
		case err == nil:
			if toldBusy {
				s.log.Printf("warehouse supervisor: engine %d answers again after %s", s.pid, time.Since(lastAnswer).Round(time.Second))
			}
			lastAnswer = time.Now()
			work, toldBusy = progress{}, false
			if !up {
				up = true
				s.gw.setEngine(s.spec.EnginePort, "")
				s.log.Printf("warehouse supervisor: engine %d serves HTTP on the gateway's port %d (engine port %d, native %d)",
					s.pid, s.spec.HTTPPort, s.spec.EnginePort, s.spec.TCPPort)
			}
			tick.Reset(probeEvery)
		case up && silentVerdict(time.Since(lastAnswer), errors.Is(err, syscall.ECONNREFUSED), work.observe(s.pid, time.Now())):
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Sprintf("the engine is alive but has not answered for %s (%v)", time.Since(lastAnswer).Round(time.Second), err), true
		case up && !toldBusy && time.Since(lastAnswer) > silentLimit:
			toldBusy = true
			s.log.Printf("warehouse supervisor: engine %d has not answered for %s but keeps working; it is replaced if it stops working or stays silent for %s (%v)",
				s.pid, time.Since(lastAnswer).Round(time.Second), busyLimit, err)
		case !up && time.Since(lastAnswer) > startLimit:
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Sprintf("the engine did not answer within %s of starting (%v)", startLimit, err), false
		}
	}
}

// silentVerdict says whether an engine that has not answered the probes
// for silent is to be replaced. One that refuses connections (its listeners
// stopped) or does no work (frozen) is replaced after silentLimit. One
// that keeps working while it does not answer, as on a host whose cores
// are all taken, is given until busyLimit: replacing it would cut every
// load and query it is running, turning a slow warehouse into a failed
// one. idle is how long it has done no work.
func silentVerdict(silent time.Duration, refused bool, idle time.Duration) bool {
	if silent <= silentLimit {
		return false
	}
	return refused || idle > silentLimit || silent > busyLimit
}

// progress follows the CPU time a process uses, to tell a busy engine from
// a frozen one.
type progress struct {
	ticks      uint64    // CPU time at the last good reading, in clock ticks
	read, work time.Time // the last good reading, and the last that found work done
	started    bool      // work is set: the first observation was made
}

// busyShare is the share of a core an engine must use to count as working;
// an idle engine's background threads use far less.
const busyShare = 0.05

// observe reads pid's CPU time at now and returns how long the process has
// done no work, counted from the first observation: all the time since
// then when its CPU time cannot be read.
func (p *progress) observe(pid int, now time.Time) time.Duration {
	ticks, ok := processTicks(pid)
	return p.record(ticks, ok, now)
}

// record is observe for a reading already taken (ok false: none could be).
func (p *progress) record(ticks uint64, ok bool, now time.Time) time.Duration {
	if !p.started {
		p.started, p.work = true, now
	}
	if !ok {
		return now.Sub(p.work)
	}
	if !p.read.IsZero() && ticks >= p.ticks && float64(ticks-p.ticks)/100 >= busyShare*now.Sub(p.read).Seconds() {
		p.work = now
	}
	p.ticks, p.read = ticks, now
	return now.Sub(p.work)
}

// processTicks is the CPU time (user and system) process pid has used, in
// the clock ticks of /proc (USER_HZ, 100 a second on every Linux
// architecture Go builds for), and false where /proc cannot tell.
func processTicks(pid int) (uint64, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: fields start after it.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(f) < 13 {
		return 0, false
	}
	user, err1 := strconv.ParseUint(f[11], 10, 64)
	sys, err2 := strconv.ParseUint(f[12], 10, 64)
	return user + sys, err1 == nil && err2 == nil
}

// probe checks that our engine answers on each of its ports.
func (s *supervisor) probe(ctx context.Context) error {
	conn, err := verifiedDialer(s.sec.identity, probeEvery)(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(s.spec.EnginePort)))
	if err != nil {
		return err
	}
	conn.Close()
	if s.spec.TCPPort != 0 {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(s.spec.TCPPort)))
		if err != nil {
			return fmt.Errorf("native port: %w", err)
		}
		c.Close()
	}
	return nil
}

// choosePorts keeps the engine's ports when they are free and moves them
// when another process holds them: the private HTTP port always, the native
// port unless the configuration pinned it.
func (s *supervisor) choosePorts() error {
	if !portFree(s.spec.EnginePort) {
		old := s.spec.EnginePort
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		s.spec.EnginePort = ports[0]
		if old != 0 {
			s.log.Printf("warehouse supervisor: another process holds the engine port %d; moving it to %d", old, s.spec.EnginePort)
		}
	}
	if s.spec.TCPPort != 0 && !portFree(s.spec.TCPPort) {
		if s.spec.TCPPinned {
			return fmt.Errorf("another process holds the native port %d (warehouse.tcp_port)", s.spec.TCPPort)
		}
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		s.log.Printf("warehouse supervisor: another process holds the native port %d; moving it to %d", s.spec.TCPPort, ports[0])
		s.spec.TCPPort = ports[0]
	}
	return writeJSON(s.dir+"/"+specFile, s.spec)
}

// writeState records where the warehouse serves, for Status and clients.
func (s *supervisor) writeState() error {
	st := State{PID: os.Getpid(), TCPPort: s.spec.TCPPort, HTTPPort: s.spec.HTTPPort, StartedAt: time.Now().UTC(), Dir: s.dir}
	if err := writeJSON(s.dir+"/"+stateFile, st); err != nil {
		return errors.Join(errors.New("warehouse supervisor: recording the state"), err)
	}
	return nil
}
