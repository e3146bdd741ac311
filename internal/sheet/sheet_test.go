package sheet

import "testing"

func TestDefuseNeutralisesEveryFormulaStart(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"Aino", "Aino"},
		{"=HYPERLINK(\"http://evil.example\";\"x\")", "'=HYPERLINK(\"http://evil.example\";\"x\")"},
		{"+358 40 123", "'+358 40 123"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"a=1", "a=1"},
		{" =1", " =1"}, // a leading space makes it text already
		{"'=1", "'=1"},
	} {
		if got := Defuse(tc.in); got != tc.want {
			t.Errorf("Defuse(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if IsFormula(tc.in) != (tc.in != tc.want) {
			t.Errorf("IsFormula(%q) disagrees with Defuse", tc.in)
		}
	}
}
