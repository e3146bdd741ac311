package outreach

import (
	"errors"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/i18n"
)

func TestCheckTextPlaceholders(t *testing.T) {
	for text, want := range map[string]string{
		"Hei {first_name}, aika {date} klo {time}, {place}.": "",
		"No placeholders at all":                             "",
		"Hei {name}":                                         ProblemUnknownPlaceholder,
		"Hei {First_Name}":                                   ProblemUnknownPlaceholder,
		"Hei {first_name":                                    ProblemMalformedPlaceholder,
		"Hei first_name}":                                    ProblemMalformedPlaceholder,
		"Hei {}":                                             ProblemMalformedPlaceholder,
		"Hei {{first_name}}":                                 ProblemMalformedPlaceholder,
		"{date}} ":                                           ProblemMalformedPlaceholder,
	} {
		if got := CheckText(text); got != want {
			t.Errorf("CheckText(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestRenderWritesDateAndTimeAsTheLanguageDoes(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	fill := Fill{FirstName: "Amina", At: at, Place: "Pasila"}
	text := "{first_name}: {date} {time} {place}"
	for code, want := range map[string]string{
		"fi": "Amina: 3.12.2026 09.30 Pasila", "en": "Amina: 2026-12-03 09:30 Pasila",
		"ar": "Amina: 03/12/2026 09:30 Pasila", "zh-Hans": "Amina: 2026/12/03 09:30 Pasila",
	} {
		l, _ := clientLanguage(code)
		if got := Render(text, l, fill); got != want {
			t.Errorf("%s: %q, want %q", code, got, want)
		}
	}
	texts := map[string]string{"fi": "suomeksi", "so": "af-soomaali"}
	for code, want := range map[string]string{"so": "af-soomaali", "ar": "suomeksi", "fi-x-selko": "suomeksi"} {
		l, _ := clientLanguage(code)
		if got, _ := PickText(texts, l); got != want {
			t.Errorf("PickText %s: %q, want %q", code, got, want)
		}
	}
}

func TestTemplatesAreVersionedAndChecked(t *testing.T) {
	f := newFixture(t)
	lead := f.owner.Staff(f.tenant, "Lea")
	f.owner.Grant(f.tenant, lead, f.sp, auth.RoleLead)
	leader := auth.Principal{StaffID: lead, Tenant: f.tenant, Grants: []auth.Grant{{Role: auth.RoleLead, ServicePointID: f.sp}}}

	// Field errors, each beside its field.
	_, err := f.svc.SaveTemplate(f.ctx, leader, 0, TemplateInput{Name: " ", Texts: map[string]string{
		"so": "Hei {nimi}", "ar": "{date", "xx": "hello"}})
	var bad Invalid
	if !errors.As(err, &bad) || bad["name"] != "form.required" || bad["text_fi"] != "form.required" ||
		bad["text_so"] != ProblemUnknownPlaceholder || bad["text_ar"] != ProblemMalformedPlaceholder || bad["text_xx"] != "form.invalid_choice" {
		t.Fatalf("invalid template: %v %v", err, bad)
	}

	tpl, err := f.svc.SaveTemplate(f.ctx, leader, 0, TemplateInput{Name: "Muistutus", Texts: map[string]string{
		"fi": "Hei {first_name}, tervetuloa {date} klo {time}.", "so": "  ", "en": "Hi {first_name}"}})
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Version != 1 || len(tpl.Texts) != 2 || tpl.UpdatedBy != "Lea" {
		t.Errorf("first version %+v", tpl)
	}
	first := tpl.VersionID
	tpl, err = f.svc.SaveTemplate(f.ctx, leader, tpl.ID, TemplateInput{Name: "Muistutus", Texts: map[string]string{
		"fi": "Hei {first_name}!"}})
	if err != nil || tpl.Version != 2 || tpl.VersionID == first || tpl.Texts["fi"] != "Hei {first_name}!" {
		t.Fatalf("second version %+v, %v", tpl, err)
	}
	if _, err := f.svc.SaveTemplate(f.ctx, leader, 0, TemplateInput{Name: "muistutus", Texts: map[string]string{"fi": "x"}}); !errors.As(err, &bad) ||
		bad["name"] != ProblemNameTaken {
		t.Errorf("a second template of the same name: %v", err)
	}
	var versions int
	if err := f.owner.QueryRow(f.ctx, `SELECT count(*) FROM message_template_versions WHERE template_id = $1`, tpl.ID).Scan(&versions); err != nil || versions != 2 {
		t.Errorf("%d versions, %v", versions, err)
	}

	// Experts use templates but do not write them; another municipality
	// finds none of them.
	if _, err := f.svc.Templates(f.ctx, f.actor(f.anna)); !errors.Is(err, ErrForbidden) {
		t.Errorf("an expert listed templates: %v", err)
	}
	stranger, _ := f.stranger()
	stranger.Grants = []auth.Grant{{Role: auth.RoleAdmin}}
	if _, err := f.svc.Template(f.ctx, stranger, tpl.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("another municipality read the template: %v", err)
	}
	if _, err := f.svc.SaveTemplate(f.ctx, stranger, tpl.ID, TemplateInput{Name: "Taken over", Texts: map[string]string{"fi": "x"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("another municipality wrote the template: %v", err)
	}
	list, err := f.svc.Templates(f.ctx, leader)
	if err != nil || len(list) != 1 || list[0].Name != "Muistutus" {
		t.Errorf("templates %+v, %v", list, err)
	}
	_ = i18n.Default
}
