package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/i18n"
	"github.com/koto-portal/portal/internal/org"
	"github.com/koto-portal/portal/internal/store"
)

const municipalityUsage = `usage: portal municipality create --slug SLUG --name NAME --admin-email EMAIL [flags]

Starts a municipality and its first admin, and prints a one-time link with
which the admin sets a password. The database is DATABASE_URL (the schema
owner) or the embedded default under PORTAL_DATA_DIR; the link starts with
PORTAL_BASE_URL.

flags:
`

// founding is what the command line asked for, checked.
type founding struct {
	org.Founding
	migrate bool
}

// municipalityCommand runs `portal municipality create`. Exit codes: 0 done,
// 1 refused or failed (nothing was created), 2 a mistake on the command line.
func municipalityCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, municipalityUsage)
		return 2
	}
	f, err := parseFounding(args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	cfg, ok := loadConfig(nil, stderr)
	if !ok {
		return 2
	}
	cfg.Migrate = cfg.Migrate || f.migrate
	logger := newLogger(cfg.LogFormat, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	dbURL, stopDB, err := database(ctx, cfg, logger)
	if err != nil {
		fmt.Fprintln(stderr, "portal:", err)
		return 1
	}
	defer stopDB()
	if err := ensureSchema(ctx, cfg, dbURL, logger); err != nil {
		fmt.Fprintln(stderr, "portal:", err)
		return 1
	}
	done, err := org.FoundMunicipality(ctx, store.Owner(dbURL), f.Founding, time.Now())
	switch {
	case errors.Is(err, org.ErrMunicipalityExists):
		fmt.Fprintf(stderr, "portal: a municipality with the short name %q already exists; nothing was created\n", f.Slug)
		return 1
	case errors.Is(err, org.ErrEmailInUse):
		fmt.Fprintf(stderr, "portal: %s already has a staff account (in this or another municipality); nothing was created\n", f.AdminEmail)
		return 1
	case err != nil:
		fmt.Fprintln(stderr, "portal:", err)
		return 1
	}
	if cfg.BaseURL == "" {
		fmt.Fprintf(stderr, "portal: PORTAL_BASE_URL is unset, so the link below starts with %s; set it to the portal's public address\n", cfg.PublicURL())
	}
	// The link is a secret: it goes to the operator's terminal, not the log.
	fmt.Fprintf(stdout, "Municipality %q (%s) is ready, with %s as its admin.\n\n"+
		"The admin sets a password with this one-time link, before %s:\n\n  %s/password/%s\n\n"+
		"Give the link to the admin alone, in a safe way: whoever opens it first owns the account.\n",
		f.Slug, f.Name, f.AdminEmail, done.LinkExpires.UTC().Format("2006-01-02 15:04 MST"), cfg.PublicURL(), done.LinkToken)
	return 0
}

// errBadFlags says that parseFounding has told on stderr what is wrong.
var errBadFlags = errors.New("bad flags")

// parseFounding reads and checks the flags with the rules the portal's own
// forms use, and says what is wrong with each, in English.
func parseFounding(args []string, stderr io.Writer) (founding, error) {
	fs := flag.NewFlagSet("municipality create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, municipalityUsage)
		fs.PrintDefaults()
	}
	slug := fs.String("slug", "", "the municipality's short name, unique in the deployment: lower-case letters a-z, digits and dashes (required)")
	name := fs.String("name", "", "the municipality's name, as staff see it (required)")
	email := fs.String("admin-email", "", "the first admin's e-mail address, which is their login (required)")
	adminName := fs.String("admin-name", "", "the first admin's name (default: the part of the address before @)")
	lang := fs.String("language", i18n.Default, "the first admin's language in the portal")
	valid := fs.Duration("link-valid", auth.FirstAdminLinkValidity, "how long the password link works")
	migrate := fs.Bool("migrate", false, "bring the database schema up to date first (PORTAL_MIGRATE)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return founding{}, err
	} else if err != nil {
		return founding{}, errBadFlags // the flag package has said why
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "portal: unexpected %q: every value goes with a flag, e.g. --name \"Espoo\"\n", fs.Arg(0))
		return founding{}, errBadFlags
	}
	form := forms.New(url.Values{"slug": {*slug}, "name": {*name}, "admin-email": {*email}, "admin-name": {*adminName}})
	f := founding{migrate: *migrate, Founding: org.Founding{
		Slug:         form.Slug("slug", true),
		Name:         form.Text("name", true, 200),
		AdminEmail:   form.Email("admin-email", true),
		AdminName:    form.Text("admin-name", false, 100),
		AdminLocale:  *lang,
		LinkValidity: *valid,
	}}
	if f.AdminName == "" && f.AdminEmail != "" {
		f.AdminName, _, _ = strings.Cut(f.AdminEmail, "@")
	}
	catalog, err := i18n.New(nil)
	if err != nil {
		fmt.Fprintln(stderr, "portal:", err)
		return founding{}, errBadFlags
	}
	ok := true
	english, _ := catalog.Lookup("en")
	for _, field := range []string{"slug", "name", "admin-email", "admin-name"} {
		if key := form.Errors[field]; key != "" {
			fmt.Fprintf(stderr, "portal: --%s: %s\n", field, catalog.For(english).Get(key))
			ok = false
		}
	}
	// The admin reads staff pages, which exist in the staff languages only.
	if l, known := catalog.Lookup(*lang); known && l.Staff {
		f.AdminLocale = l.Code
	} else {
		var codes []string
		for _, l := range i18n.StaffLanguages() {
			codes = append(codes, l.Code)
		}
		fmt.Fprintf(stderr, "portal: --language: use one of %s\n", strings.Join(codes, ", "))
		ok = false
	}
	if *valid < time.Minute || *valid > 7*24*time.Hour {
		fmt.Fprintln(stderr, "portal: --link-valid: from 1m to 168h (a week)")
		ok = false
	}
	if !ok {
		return f, errBadFlags
	}
	return f, nil
}
