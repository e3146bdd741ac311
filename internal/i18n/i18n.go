// Package i18n owns the portal's languages: the go-i18n bundle over
// locales/, choosing a visitor's language, each language's own name and its
// text direction.
package i18n

import (
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
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
}

// Dir is the value of the HTML dir attribute.
func (l Language) Dir() string {
	if l.RTL {
		return "rtl"
	}
	return "ltr"
}

// Languages lists every supported language in the order pickers show them:
// the national languages and English first. English writes dates as ISO
// yyyy-mm-dd: staff who read English here come from everywhere, and
// 03/04/2026 means March to some and April to others; ISO cannot be misread.
var Languages = []Language{
	{Code: "fi", Name: "Suomi", Voice: "fi-FI", Date: DateStyle{Sep: '.'}},
	{Code: "sv", Name: "Svenska", Voice: "sv-SE", Date: dateISO},
	{Code: "en", Name: "English", Voice: "en-GB", Date: dateISO},
	{Code: "ru", Name: "Русский", Voice: "ru-RU", Date: dateDotted},
	{Code: "et", Name: "Eesti", Voice: "et-EE", Date: dateDotted},
	{Code: "ar", Name: "العربية", RTL: true, Voice: "ar", Date: dateSlash},
	{Code: "uk", Name: "Українська", Voice: "uk-UA", Date: dateDotted},
	{Code: "so", Name: "Soomaali", Voice: "so", Date: dateSlash},
	{Code: "fa", Name: "فارسی", RTL: true, Voice: "fa-IR", Date: dateYMDSlash},
	{Code: "ckb", Name: "کوردیی ناوەندی", RTL: true, Voice: "ckb", Date: dateSlash},
	{Code: "zh-Hans", Name: "简体中文", Voice: "zh-CN", Date: dateYMDSlash},
	{Code: "vi", Name: "Tiếng Việt", Voice: "vi-VN", Date: dateSlash},
}

// Default is the language when nothing else is known.
const Default = "fi"

// Catalog is the loaded bundle and the matcher over its languages.
type Catalog struct {
	bundle  *i18n.Bundle
	matcher language.Matcher
	byCode  map[string]Language
	logger  *slog.Logger
}

// New loads every message file from locales.
func New(logger *slog.Logger) (*Catalog, error) {
	return Load(locales.FS, logger)
}

// Load loads message files from fsys (tests point it at broken copies).
func Load(fsys fs.FS, logger *slog.Logger) (*Catalog, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := i18n.NewBundle(language.MustParse(Default))
	// Messages are split by area (core.fi.json, walkin.fi.json, …); each
	// language must have a file for every area English has.
	for _, l := range Languages {
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
	}
	tags := make([]language.Tag, len(Languages))
	byCode := map[string]Language{}
	for i, l := range Languages {
		tags[i] = language.MustParse(l.Code)
		byCode[strings.ToLower(l.Code)] = l
	}
	return &Catalog{bundle: b, matcher: language.NewMatcher(tags), byCode: byCode, logger: logger}, nil
}

// Lookup returns the supported language with this code, if any.
func (c *Catalog) Lookup(code string) (Language, bool) {
	l, ok := c.byCode[strings.ToLower(strings.TrimSpace(code))]
	return l, ok
}

// Negotiate picks the language from an explicit choice, then a remembered
// one, then the browser's Accept-Language, then the default.
func (c *Catalog) Negotiate(query, cookie, acceptLanguage string) Language {
	if l, ok := c.Lookup(query); ok {
		return l
	}
	if l, ok := c.Lookup(cookie); ok {
		return l
	}
	if acceptLanguage != "" {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil && len(tags) > 0 {
			_, idx, conf := c.matcher.Match(tags...)
			if conf != language.No {
				return Languages[idx]
			}
		}
	}
	l, _ := c.Lookup(Default)
	return l
}

// For returns the translator for a language.
func (c *Catalog) For(l Language) *T {
	return &T{Lang: l, loc: i18n.NewLocalizer(c.bundle, l.Code, Default), logger: c.logger}
}

// T translates for one language; templates call its methods.
type T struct {
	Lang   Language
	loc    *i18n.Localizer
	logger *slog.Logger
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
