package warehouse

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Supervise runs the engine in a child process and starts it again when it
// dies without being asked to. chDB 26.7 aborts its whole process when a
// native-protocol login fails; the supervisor turns that into a restart of
// under a second, with every committed part intact on disk. It returns when
// ctx ends (after stopping the engine) or when the engine keeps crashing.
func Supervise(ctx context.Context, binary, library, dir string, logger *log.Logger) error {
	var crashes []time.Time
	for {
		cmd := exec.Command(binary, "warehouse", "engine", "--serve", "--dir", dir, "--library", library)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		// The engine must never outlive its supervisor, even after a SIGKILL.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("warehouse supervisor: %w", err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
			return nil
		case err := <-done:
			now := time.Now()
			crashes = append(crashes, now)
			for len(crashes) > 0 && now.Sub(crashes[0]) > time.Minute {
				crashes = crashes[1:]
			}
			logger.Printf("warehouse supervisor: engine exited (%v); restarting", err)
			if len(crashes) > 10 {
				return errors.New("warehouse supervisor: the engine crashed more than 10 times in a minute; giving up")
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}
