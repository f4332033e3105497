package cpustat_test

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/internal/cpustat"
)

func skipWithoutSchedstat(t *testing.T) {
	if _, err := os.Stat("/proc/self/schedstat"); err != nil {
		t.Skip("no /proc/PID/schedstat here")
	}
}

// After this process has spun for 50 ms of CPU (getrusage), its threads'
// count from the scheduler has grown by about as much.
func TestThreadsAgreeWithSelf(t *testing.T) {
	skipWithoutSchedstat(t)
	self, threads := cpustat.Self(), cpustat.Threads(os.Getpid())
	x := 0
	for cpustat.Self().Minus(self).CPU < 50*time.Millisecond {
		for i := range 100_000 {
			x += i
		}
	}
	require.InDelta(t, cpustat.Self().Minus(self).CPU.Seconds(), cpustat.Threads(os.Getpid()).Minus(threads).CPU.Seconds(), 0.02, "x=%d", x)
}

// A thread that sleeps 50 times, alone on its thread, is switched off and
// back onto a CPU at least as often, in both counts.
func TestSwitchesCountEachWake(t *testing.T) {
	skipWithoutSchedstat(t)
	self, threads := cpustat.Self(), cpustat.Threads(os.Getpid())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for range 50 {
			// A system call that blocks, so that the thread itself sleeps
			// rather than the goroutine leaving it for another.
			_ = syscall.Nanosleep(&syscall.Timespec{Nsec: int64(time.Millisecond)}, nil)
		}
	}()
	<-done
	require.GreaterOrEqual(t, cpustat.Self().Minus(self).Switches, int64(50))
	require.GreaterOrEqual(t, cpustat.Threads(os.Getpid()).Minus(threads).Switches, int64(50))
}

// A shell that counts to 200,000 and then sleeps is counted among the
// processes named sh while it sleeps.
func TestProcessesCountsEveryProcessOfAName(t *testing.T) {
	skipWithoutSchedstat(t)
	before := cpustat.Processes("sh")
	sh := exec.Command("sh", "-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo counted; sleep 10")
	out, err := sh.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, sh.Start())
	t.Cleanup(func() { _ = sh.Process.Kill(); _ = sh.Wait() })
	buf := make([]byte, len("counted\n"))
	_, err = out.Read(buf)
	require.NoError(t, err)
	require.Equal(t, "counted\n", string(buf))
	used := cpustat.Processes("sh").Minus(before)
	require.Greater(t, used.CPU, 20*time.Millisecond, "the shell's count is missing")
	require.Positive(t, used.Switches, "the shell's switches are missing")
	require.Zero(t, cpustat.Processes("no-such-process-name"))
}
