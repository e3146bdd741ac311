package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The translator's round trip from the command line: export a language to
// a file, change one text in it, import it with a reviewer, and a file that
// breaks a placeholder is refused with exit code 1.
func TestTranslationsCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locales")
	if out, err := exec.Command("cp", "-r", "../../locales", dir).CombinedOutput(); err != nil {
		t.Fatalf("copy locales: %v %s", err, out)
	}
	xlf := filepath.Join(t.TempDir(), "es.xlf")
	var out, errs bytes.Buffer
	if code := run([]string{"translations", "export", "--lang", "es", "--dir", dir, "--out", xlf}, &out, &errs); code != 0 {
		t.Fatalf("export: %d %s", code, errs.String())
	}
	b, err := os.ReadFile(xlf)
	if err != nil || !strings.Contains(string(b), `trgLang="es"`) {
		t.Fatalf("export wrote %.300s (%v)", b, err)
	}
	changed := strings.Replace(string(b), "<target>Imprimir</target>", "<target>Imprimir el número</target>", 1)
	changed = strings.Replace(changed, `<segment state="translated">
        <source>Print</source>`, `<segment state="reviewed">
        <source>Print</source>`, 1)
	if changed == string(b) {
		t.Fatal("the export has no Spanish text for Print")
	}
	if err := os.WriteFile(xlf, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run([]string{"translations", "import", "--dir", dir, "--reviewer", "Ana García", "--date", "2026-12-01", xlf}, &out, &errs); code != 0 {
		t.Fatalf("import: %d %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "es: 1 texts changed, 1 recorded as reviewed") {
		t.Errorf("import said %q", out.String())
	}
	status, _ := os.ReadFile(filepath.Join(dir, "status", "es.json"))
	if !strings.Contains(string(status), `"by": "Ana García"`) || !strings.Contains(string(status), "Imprimir el número") {
		t.Errorf("status after import: %s", status)
	}

	broken := strings.Replace(changed, "<target>Ventanilla {{.Name}}</target>", "<target>Ventanilla {{.Nombre}}</target>", 1)
	_ = os.WriteFile(xlf, []byte(broken), 0o644)
	errs.Reset()
	if code := run([]string{"translations", "import", "--dir", dir, xlf}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "placeholders of display.desk") {
		t.Errorf("a broken placeholder: exit %d, %q", code, errs.String())
	}
	if code := run([]string{"translations", "export", "--lang", "fi", "--dir", dir}, &out, &errs); code != 1 {
		t.Errorf("exporting Finnish, which is no translation: exit %d", code)
	}
}
