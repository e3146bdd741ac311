package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeRelPath is where `npm install --prefix .cache/npm axe-core@4` (the
// Makefile's test-deps) leaves the script, relative to the repository root.
var axeRelPath = filepath.Join(".cache", "npm", "node_modules", "axe-core", "axe.min.js")

// WCAGTags are the axe-core rule tags the portal is held to: WCAG 2.1 level
// A and AA, which is what Finnish public-sector services must meet.
var WCAGTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeScripts caches the script by path: it is over half a megabyte and
// every page check injects it.
var axeScripts sync.Map // path -> string

// axePath finds axe.min.js, or ends the test when it is missing.
func axePath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KOTO_AXE_JS"); p != "" {
		if _, err := os.Stat(p); err != nil {
			unavailable(t, "KOTO_AXE_JS=%s: %v", p, err)
		}
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for {
		p := filepath.Join(dir, axeRelPath)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	unavailable(t, "no axe-core: neither KOTO_AXE_JS nor %s above the working directory (run `make test-deps`)", axeRelPath)
	return ""
}

func axeScript(t testing.TB) string {
	t.Helper()
	p := axePath(t)
	if s, ok := axeScripts.Load(p); ok {
		return s.(string)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("read axe-core: %v", err)
	}
	axeScripts.Store(p, string(b))
	return string(b)
}

// AxeResult is what one axe run found, reduced to what a report needs.
type AxeResult struct {
	Violations []AxeRule `json:"violations"`
	// Incomplete are checks axe could not decide (for example contrast
	// over a background image); they need a person's look, not a failure.
	Incomplete []AxeRule `json:"incomplete"`
}

// AxeRule is one rule that failed (or could not be decided) on the page.
type AxeRule struct {
	ID     string    `json:"id"`
	Impact string    `json:"impact"` // minor, moderate, serious or critical
	Help   string    `json:"help"`
	URL    string    `json:"helpUrl"`
	Nodes  []AxeNode `json:"nodes"`
}

// AxeNode is one element a rule failed on.
type AxeNode struct {
	// Target is axe's selector path; an entry is an array when the
	// element sits inside a shadow root or a frame, so keep it raw.
	Target  []json.RawMessage `json:"target"`
	HTML    string            `json:"html"`
	Summary string            `json:"failureSummary"`
}

// blocking tells which impacts fail a test. Serious and critical ones lock
// people out (no name on a control, unreadable contrast); minor and
// moderate ones are logged so they are seen and fixed without blocking.
func blocking(impact string) bool { return impact == "serious" || impact == "critical" }

// axeRun is evaluated after the script is in the page; it keeps only the
// fields AxeResult reads, so a big page does not ship axe's whole report
// through the protocol.
const axeRun = `axe.run(document, {
  runOnly: {type: 'tag', values: %s},
  resultTypes: ['violations', 'incomplete']
}).then(r => {
  const pick = rules => rules.map(v => ({
    id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target, html: n.html, failureSummary: n.failureSummary || ''}))
  }));
  return {violations: pick(r.violations), incomplete: pick(r.incomplete)};
})`

// RunAxe injects axe-core into the current page and runs the WCAG 2.1 A/AA
// rules. It is the building block of Axe, for tests that want to judge the
// result themselves (such as a test proving a known fault is caught).
//
// The script is injected with Runtime.evaluate, which the DevTools protocol
// runs outside the page's Content-Security-Policy, so the portal's strict
// policy (no inline scripts, no eval) does not stop it and need not be
// bypassed: the page is tested under the policy it really has.
func RunAxe(ctx context.Context, t testing.TB) AxeResult {
	t.Helper()
	src := axeScript(t)
	sctx, cancel := step(ctx)
	defer cancel()
	// Ending with typeof axe both discards the script's own last value and
	// proves the injection took.
	kind, err := chromedp.Run(sctx, chromedp.Evaluate[string](src+"\n;typeof axe"))
	if err != nil {
		t.Fatalf("inject axe-core: %v", err)
	}
	if kind != "object" {
		t.Fatalf("inject axe-core: window.axe is %s, want object", kind)
	}
	tags, _ := json.Marshal(WCAGTags)
	res, err := chromedp.Run(sctx, chromedp.Evaluate[AxeResult](fmt.Sprintf(axeRun, tags), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe-core: %v", err)
	}
	return res
}

// Axe checks the current page against WCAG 2.1 A and AA with axe-core. It
// fails the test on every serious or critical violation and logs minor and
// moderate ones and the undecided checks.
func Axe(ctx context.Context, t testing.TB) {
	t.Helper()
	res := RunAxe(ctx, t)
	var failing, notes []string
	for _, v := range res.Violations {
		if blocking(v.Impact) {
			failing = append(failing, v.describe())
		} else {
			notes = append(notes, v.describe())
		}
	}
	for _, v := range res.Incomplete {
		notes = append(notes, "needs review: "+v.describe())
	}
	if len(notes) > 0 {
		t.Logf("axe-core: %d note(s):\n%s", len(notes), strings.Join(notes, "\n"))
	}
	if len(failing) > 0 {
		// Errorf, not Fatalf: the test goes on to its screenshot, which is
		// often the quickest way to see what axe means.
		t.Errorf("axe-core: %d serious or critical WCAG 2.1 A/AA violation(s):\n%s", len(failing), strings.Join(failing, "\n"))
	}
}

// maxNodes keeps a report readable when a rule fails on every list item;
// the first few show the pattern.
const maxNodes = 3

func (v AxeRule) describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "- %s [%s]: %s (%s)", v.ID, v.Impact, v.Help, v.URL)
	for i, n := range v.Nodes {
		if i == maxNodes {
			fmt.Fprintf(&b, "\n    … and %d more element(s)", len(v.Nodes)-maxNodes)
			break
		}
		targets := make([]string, len(n.Target))
		for j, raw := range n.Target {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw)
			}
			targets[j] = s
		}
		fmt.Fprintf(&b, "\n    %s  %s", strings.Join(targets, " >> "), n.HTML)
		if n.Summary != "" {
			fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
	}
	return b.String()
}
