package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/koto-portal/portal/internal/i18n"
)

const translationsUsage = `usage:
  portal translations export --lang CODE [--dir locales] [--out FILE]
      write the language's messages as an XLIFF 2.0 file for a translator
      (standard output unless --out)
  portal translations import [--dir locales] [--reviewer NAME] [--date YYYY-MM-DD] FILE
      bring a translator's XLIFF 2.0 file back into the message files; texts
      marked reviewed or final are recorded as read by --reviewer on --date
      (today unless given). Placeholders, plural forms and empty texts are
      checked first: one problem anywhere writes nothing.

Run it in the source tree and rebuild: the messages are part of the binary.
`

// translationsCommand exports and imports translators' files. It works on
// the message files of a source tree, not on a running portal's.
func translationsCommand(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		fmt.Fprint(stderr, translationsUsage)
		return 2
	}
	fs := flag.NewFlagSet("portal translations "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, translationsUsage) }
	dir := fs.String("dir", "locales", "the locales folder of the source tree")
	lang := fs.String("lang", "", "the language to export (export)")
	out := fs.String("out", "", "the file to write (export; standard output if empty)")
	reviewer := fs.String("reviewer", "", "who reviewed the texts marked reviewed (import)")
	date := fs.String("date", time.Now().Format(time.DateOnly), "when they were reviewed (import)")
	if err := fs.Parse(args[1:]); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if args[0] == "export" {
		if *lang == "" || fs.NArg() != 0 {
			fmt.Fprint(stderr, translationsUsage)
			return 2
		}
		w := stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				fmt.Fprintln(stderr, "portal:", err)
				return 1
			}
			defer f.Close()
			w = f
		}
		if err := i18n.Export(os.DirFS(*dir), *lang, w); err != nil {
			fmt.Fprintln(stderr, "portal:", err)
			return 1
		}
		return 0
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, translationsUsage)
		return 2
	}
	if _, err := time.Parse(time.DateOnly, *date); err != nil {
		fmt.Fprintf(stderr, "portal: --date %q is not a day as YYYY-MM-DD\n", *date)
		return 2
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "portal:", err)
		return 1
	}
	defer f.Close()
	res, err := i18n.Import(*dir, f, *reviewer, *date)
	if err != nil {
		fmt.Fprintln(stderr, "portal:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: %d texts changed, %d recorded as reviewed, %d unchanged, %d without text left as they were\n",
		res.Lang, res.Changed, res.Reviewed, res.UnchangedMessages, res.SkippedWithoutText)
	for _, name := range res.Files {
		fmt.Fprintln(stdout, "  wrote", name)
	}
	return 0
}
