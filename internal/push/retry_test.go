package push_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/koto-portal/portal/internal/push"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	cases := map[string]time.Duration{
		"7":                       7 * time.Second,
		" 120 ":                   2 * time.Minute,
		"3600":                    time.Hour,
		"3601":                    push.MaxRetryAfter,
		"99999999999999999999999": push.MaxRetryAfter,
		"0":                       push.MinRetryAfter,
		"":                        push.DefaultRetryAfter,
		"soon":                    push.DefaultRetryAfter,
		"-5":                      push.DefaultRetryAfter,
		"7.5":                     push.DefaultRetryAfter,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).Format(http.TimeFormat):       push.MinRetryAfter,
		now.Add(48 * time.Hour).Format(http.TimeFormat):   push.MaxRetryAfter,
		now.Add(5 * time.Minute).Format(time.RFC850):      5 * time.Minute,
		now.Add(30 * time.Second).Format(time.ANSIC):      30 * time.Second,
		"Mon, 02 Mar 2026 10:00:45 GMT":                   45 * time.Second,
		"Mon, 02 Mar 2026 10:00:45 +0200":                 push.DefaultRetryAfter,
	}
	for in, want := range cases {
		if got := push.ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
