package jobstest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Instance is another portal instance, as a process of its own: the test
// binary run again for one test that works a job queue until killed, so
// that a test can kill it with SIGKILL mid-job.
type Instance struct {
	Cmd *exec.Cmd
	log string
}

// StartInstance runs the test binary's test named test in a child process
// with env set to the words of args (the child reads them with
// os.Getenv(env) and strings.Fields). Its output goes to a file read by
// Log; the child is killed when the test ends if it is still running.
func StartInstance(t testing.TB, test, env string, args ...string) *Instance {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env+"="+strings.Join(args, " "))
	out, err := os.Create(filepath.Join(t.TempDir(), "instance.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); _ = out.Close() })
	return &Instance{Cmd: cmd, log: out.Name()}
}

// Log is what the instance has written so far.
func (i *Instance) Log() string {
	b, _ := os.ReadFile(i.log)
	return string(b)
}
