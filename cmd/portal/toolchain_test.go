package main

import (
	goversion "go/version"
	"os"
	"regexp"
	"runtime"
	"testing"
)

// A plain `go build` must not fall back to a Go whose standard library has
// known vulnerabilities: go.mod names the toolchain, the same one the
// Makefile pins, and the binary under test was built with at least that.
func TestToolchainIsPinned(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^toolchain (go\S+)\s*$`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no toolchain line: a plain go build may use a vulnerable Go")
	}
	pinned := string(m[1])
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	mk := regexp.MustCompile(`(?m)^GOTOOLCHAIN \?= (go\S+)\s*$`).FindSubmatch(makefile)
	if mk == nil {
		t.Fatal("the Makefile pins no GOTOOLCHAIN")
	}
	if string(mk[1]) != pinned {
		t.Errorf("go.mod pins %s, the Makefile %s: keep them one", pinned, mk[1])
	}
	if v := runtime.Version(); goversion.IsValid(v) && goversion.Compare(v, pinned) < 0 {
		t.Errorf("built with %s, older than the pinned %s", v, pinned)
	}
}
