// Command portal runs Koto Portal: `portal serve` (the default), `portal
// migrate`, `portal municipality create`, `portal translations`, `portal
// vapid-keys`, `portal version`. Wiring only: the parts live in internal/ and portal/.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"

	"github.com/koto-portal/portal/internal/config"
	"github.com/koto-portal/portal/internal/push"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `usage: portal [command] [flags]

commands:
  serve        run the portal (the default)
  migrate      bring the database schema up to date and exit
  municipality create
               start a municipality and its first admin (see --help)
  translations export|import
               a translator's XLIFF file of one language, out and back in (see --help)
  vapid-keys   print a new VAPID key pair for Web Push
  version      print the version

configuration comes from the environment; see README.md.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "version":
		fmt.Fprintln(stdout, version)
		return 0
	case "vapid-keys":
		pub, priv, err := push.GenerateVAPIDKeys()
		if err != nil {
			fmt.Fprintln(stderr, "portal:", err)
			return 1
		}
		fmt.Fprintf(stdout, "PORTAL_VAPID_PUBLIC_KEY=%s\nPORTAL_VAPID_PRIVATE_KEY=%s\n", pub, priv)
		return 0
	case "municipality":
		return municipalityCommand(args, stdout, stderr)
	case "translations":
		return translationsCommand(args, stdout, stderr)
	case "serve", "migrate":
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "portal: unknown command %q\n\n%s", cmd, usage)
		return 2
	}

	cfg, ok := loadConfig(args, stderr)
	if !ok {
		return 2
	}
	logger := newLogger(cfg.LogFormat, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	var err error
	if cmd == "migrate" {
		err = migrateOnly(ctx, cfg, logger)
	} else {
		err = serve(ctx, cfg, logger)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("portal stopped", "err", err)
		return 1
	}
	return 0
}

// loadConfig reads and checks the configuration, telling every problem on
// stderr, one line each.
func loadConfig(args []string, stderr io.Writer) (config.Config, bool) {
	cfg, err := config.FromEnv(args)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintf(stderr, "portal: configuration:\n%s\n", indent(err.Error()))
		return cfg, false
	}
	return cfg, true
}

func newLogger(format string, w io.Writer) *slog.Logger {
	text := format == "text"
	if format == "auto" {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			text = true
		}
	}
	if text {
		return slog.New(slog.NewTextHandler(w, nil))
	}
	return slog.New(slog.NewJSONHandler(w, nil))
}

func indent(s string) string {
	out := ""
	for _, line := range splitLines(s) {
		out += "  - " + line + "\n"
	}
	return out
}

func splitLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			lines = append(lines, s[start:i])
			start = i + 1
		}
	}
	return append(lines, s[start:])
}
