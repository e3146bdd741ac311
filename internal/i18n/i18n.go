// Package i18n owns the portal's languages: the go-i18n bundles over
// locales/, choosing a visitor's language, each language's own name, its
// text direction, which pages it covers, and how far its translation has
// been reviewed.
package i18n

import (
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"slices"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/koto-portal/portal/locales"
)

// Language is one language the portal speaks.
type Language struct {
	Code  string // BCP 47 tag, as in <html lang> and ?lang=
	Name  string // its own name in its own script (an endonym), never a flag
	RTL   bool   // written right to left
	Voice string // the tag a speech synthesiser is asked for
	Date  DateStyle
	// Base is set for a plain-language variant: the language whose text
	// stands in where the variant has none of its own.
	Base string
	// Staff tells that the staff pages are written in it as well; the
	// other languages cover what visitors and clients see.
	Staff bool
	// Spoken is the spoken language's own name where Name is not one
	// (Chinese is named by its script; an interpreter speaks Mandarin).
	Spoken string
}

// Dir is the value of the HTML dir attribute.
func (l Language) Dir() string {
	if l.RTL {
		return "rtl"
	}
	return "ltr"
}

// SpokenName names the language as a person speaks it, for the
// interpreter's sentence.
func (l Language) SpokenName() string {
	if l.Spoken != "" {
		return l.Spoken
	}
	return l.Name
}

// Languages lists every supported language in the order pickers show them:
// the national languages, their plain-language variants and English first.
// English writes dates as ISO yyyy-mm-dd: staff who read English here come
// from everywhere, and 03/04/2026 means March to some and April to others;
// ISO cannot be misread.
//
// Plain Finnish and plain Swedish (selkosuomi, lättläst svenska) carry a
// private-use subtag of their language: BCP 47 registers no subtag for plain
// language, and "x-" is what it keeps for such agreements. Browsers, screen
// readers and speech voices read only the primary subtag ("fi", "sv"), so
// these pages are spelled, hyphenated and read aloud as Finnish and Swedish,
// which they are; golang.org/x/text and go-i18n parse them as well.
//
// Dari and Kurmanji have their own ISO 639-3 codes (prs, kmr), but the
// locale data that browsers, screen readers, speech voices and plural rules
// (CLDR, and go-i18n with it) are built on knows Dari as Persian of
// Afghanistan (fa-AF) and Kurmanji as Kurdish (ku): with those tags a
// screen reader picks a voice that can read the page, and the plural rules
// exist. ?lang=prs and ?lang=kmr lead to them too. Persian (fa) stays the
// Persian of Iran; Dari speakers get their own words under fa-AF.
var Languages = []Language{
	{Code: "fi", Name: "Suomi", Voice: "fi-FI", Date: DateStyle{Sep: '.', TimeSep: '.'}, Staff: true},
	{Code: "fi-x-selko", Name: "Selkosuomi", Voice: "fi-FI", Date: DateStyle{Sep: '.', TimeSep: '.'}, Base: "fi"},
	{Code: "sv", Name: "Svenska", Voice: "sv-SE", Date: dateSwedish, Staff: true},
	{Code: "sv-x-lattlast", Name: "Lättläst svenska", Voice: "sv-SE", Date: dateSwedish, Base: "sv"},
	{Code: "en", Name: "English", Voice: "en-GB", Date: dateISO, Staff: true},
	{Code: "ru", Name: "Русский", Voice: "ru-RU", Date: dateDotted, Staff: true},
	{Code: "et", Name: "Eesti", Voice: "et-EE", Date: dateDotted, Staff: true},
	{Code: "ar", Name: "العربية", RTL: true, Voice: "ar", Date: dateSlash, Staff: true},
	{Code: "uk", Name: "Українська", Voice: "uk-UA", Date: dateDotted, Staff: true},
	{Code: "so", Name: "Soomaali", Voice: "so", Date: dateSlash, Staff: true},
	{Code: "fa", Name: "فارسی", RTL: true, Voice: "fa-IR", Date: dateYMDSlash, Staff: true},
	{Code: "fa-AF", Name: "دری", RTL: true, Voice: "fa", Date: dateYMDSlash},
	{Code: "ckb", Name: "کوردیی ناوەندی", RTL: true, Voice: "ckb", Date: dateSlash, Staff: true},
	{Code: "ku", Name: "Kurmancî", Voice: "ku", Date: dateDotted},
	{Code: "tr", Name: "Türkçe", Voice: "tr-TR", Date: dateDotted},
	{Code: "sq", Name: "Shqip", Voice: "sq-AL", Date: dateDotted},
	{Code: "zh-Hans", Name: "简体中文", Voice: "zh-CN", Date: dateYMDSlash, Staff: true, Spoken: "普通话"},
	{Code: "vi", Name: "Tiếng Việt", Voice: "vi-VN", Date: dateSlash, Staff: true},
	{Code: "th", Name: "ไทย", Voice: "th-TH", Date: dateSlash},
	{Code: "fr", Name: "Français", Voice: "fr-FR", Date: dateSlash},
	{Code: "es", Name: "Español", Voice: "es-ES", Date: dateSlash},
	{Code: "ti", Name: "ትግርኛ", Voice: "ti", Date: dateSlash},
}

// aliases lead other tags people use for a language to the one the portal
// writes (see Languages for why).
var aliases = map[string]string{"prs": "fa-AF", "kmr": "ku", "ku-latn": "ku", "fa-af": "fa-AF"}

// byCode finds a language by its tag or an alias, in any case.
var byCode = func() map[string]Language {
	m := map[string]Language{}
	for _, l := range Languages {
		m[strings.ToLower(l.Code)] = l
	}
	for alias, code := range aliases {
		m[alias] = m[strings.ToLower(code)]
	}
	return m
}()

// lookup returns the supported language with this tag or alias, if any.
func lookup(code string) (Language, bool) {
	l, ok := byCode[strings.ToLower(strings.TrimSpace(code))]
	return l, ok
}

// Default is the language when nothing else is known.
const Default = "fi"

// StaffFallback is the language of a staff page asked for in a language
// that covers only the visitors' pages: English is the likeliest second
// language of a visitor who wanders there.
const StaffFallback = "en"

// Catalog is the loaded bundles, the matchers over their languages and the
// review status of every translation.
type Catalog struct {
	bundles map[string]*i18n.Bundle // one per language: nothing falls back by accident
	visitor matcher
	staff   matcher
	logger  *slog.Logger
	status  map[string][]Status
	areas   map[string]string // message id → the area of its English file
}

// matcher picks among a set of languages by Accept-Language.
type matcher struct {
	m     language.Matcher
	langs []Language
}

// newMatcher matches among langs. Nobody's browser asks for a
// plain-language variant (it is chosen on the page), so langs has none.
func newMatcher(langs []Language) matcher {
	tags := make([]language.Tag, len(langs))
	for i, l := range langs {
		tags[i] = language.MustParse(l.Code)
	}
	return matcher{m: language.NewMatcher(tags), langs: langs}
}

// New loads every message file from locales.
func New(logger *slog.Logger) (*Catalog, error) {
	return Load(locales.FS, logger)
}

// Load loads message files and review status from fsys (tests point it at
// broken copies).
func Load(fsys fs.FS, logger *slog.Logger) (*Catalog, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Catalog{bundles: map[string]*i18n.Bundle{}, logger: logger,
		visitor: newMatcher(SpokenLanguages()), staff: newMatcher(StaffLanguages())}
	// Messages are split by area (core.fi.json, walkin.fi.json, …); a
	// language has a file for each area it covers.
	for _, l := range Languages {
		tag := language.MustParse(l.Code)
		b := i18n.NewBundle(tag)
		names, err := fs.Glob(fsys, "*."+l.Code+".json")
		if err != nil || len(names) == 0 {
			return nil, fmt.Errorf("locales: no message files for %s", l.Code)
		}
		for _, name := range names {
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("locales: %s: %w", name, err)
			}
			if _, err := b.ParseMessageFileBytes(data, name); err != nil {
				return nil, fmt.Errorf("locales: %s: %w", name, err)
			}
		}
		c.bundles[l.Code] = b
	}
	en, err := readMessages(fsys, "en")
	if err != nil {
		return nil, err
	}
	c.areas = map[string]string{}
	for id, m := range en {
		c.areas[id] = m.Area
	}
	if c.status, err = loadStatus(fsys); err != nil {
		return nil, err
	}
	return c, nil
}

// SeenByVisitors tells a message that visitors' and clients' pages show,
// which every language has.
func (c *Catalog) SeenByVisitors(id string) bool { return ForVisitors(c.areas[id], id) }

// Lookup returns the supported language with this code, if any.
func (c *Catalog) Lookup(code string) (Language, bool) { return lookup(code) }

// Negotiate picks the language of a visitor's page from an explicit
// choice, then a remembered one, then the browser's Accept-Language, then
// the default.
func (c *Catalog) Negotiate(query, cookie, acceptLanguage string) Language {
	return c.negotiate(false, query, cookie, acceptLanguage)
}

// NegotiateStaff does the same for a staff page, among the languages the
// staff pages are written in: a staff page never mixes languages.
func (c *Catalog) NegotiateStaff(query, cookie, acceptLanguage string) Language {
	return c.negotiate(true, query, cookie, acceptLanguage)
}

func (c *Catalog) negotiate(staff bool, query, cookie, acceptLanguage string) Language {
	mt := c.visitor
	if staff {
		mt = c.staff
	}
	for _, code := range []string{query, cookie} {
		if l, ok := c.Lookup(code); ok {
			if staff {
				return c.ForStaff(l)
			}
			return l
		}
	}
	if acceptLanguage != "" {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil && len(tags) > 0 {
			for i, t := range tags {
				if to, ok := aliases[strings.ToLower(t.String())]; ok {
					tags[i] = language.MustParse(to)
				}
			}
			_, idx, conf := mt.m.Match(tags...)
			if conf != language.No {
				return mt.langs[idx]
			}
		}
	}
	l, _ := c.Lookup(Default)
	return l
}

// ForStaff is the language a staff page takes for l: l itself where the
// staff pages are written in it, else the language a plain variant stands
// on, else StaffFallback.
func (c *Catalog) ForStaff(l Language) Language {
	if l.Staff {
		return l
	}
	if b, ok := c.Lookup(l.Base); ok && b.Staff {
		return b
	}
	en, _ := c.Lookup(StaffFallback)
	return en
}

// StaffLanguages lists the languages the staff pages are written in.
func StaffLanguages() []Language {
	return slices.DeleteFunc(slices.Clone(Languages), func(l Language) bool { return !l.Staff })
}

// SpokenLanguages lists the languages a person can speak: every language
// but the plain-language variants, which are ways of writing one.
func SpokenLanguages() []Language {
	return slices.DeleteFunc(slices.Clone(Languages), func(l Language) bool { return l.Base != "" })
}

// For returns the translator for a language.
func (c *Catalog) For(l Language) *T {
	t := &T{Lang: l, loc: c.localizer(l), logger: c.logger}
	if base, ok := c.Lookup(l.Base); ok {
		t.fallback = &T{Lang: base, loc: c.localizer(base), logger: c.logger}
	}
	return t
}

func (c *Catalog) localizer(l Language) *i18n.Localizer {
	return i18n.NewLocalizer(c.bundles[l.Code], l.Code)
}

// T translates for one language; templates call its methods.
type T struct {
	Lang     Language
	loc      *i18n.Localizer
	fallback *T // a plain variant's base language, for a text it lacks
	logger   *slog.Logger
}

// Get returns the message; args are name/value pairs for its placeholders.
func (t *T) Get(id string, args ...any) string {
	return t.localize(id, nil, args)
}

// Plural returns the plural form of the message for count (CLDR rules).
func (t *T) Plural(id string, count int, args ...any) string {
	return t.localize(id, count, args)
}

// HTML is Get for messages that are known to hold safe markup.
func (t *T) HTML(id string, args ...any) template.HTML {
	return template.HTML(t.localize(id, nil, args))
}

func (t *T) localize(id string, count any, args []any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		data[fmt.Sprint(args[i])] = args[i+1]
	}
	if count != nil {
		data["Count"] = count
	}
	lc := localizeConfig(id, count)
	lc.TemplateData = data
	s, err := t.loc.Localize(lc)
	var notFound *i18n.MessageNotFoundErr
	if errors.As(err, &notFound) && t.fallback != nil {
		return t.fallback.localize(id, count, args)
	}
	if err != nil {
		// A missing message shows its id rather than breaking the page; the
		// translation tests keep this from reaching production.
		t.logger.Warn("missing translation", "id", id, "lang", t.Lang.Code, "err", err)
		return id
	}
	return s
}

func localizeConfig(id string, count any) *i18n.LocalizeConfig {
	return &i18n.LocalizeConfig{MessageID: id, PluralCount: count}
}
