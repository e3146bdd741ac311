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

func TestBackoff(t *testing.T) {
	for attempt := -1; attempt < 70; attempt++ {
		nominal := push.BackoffMax
		if a := max(attempt, 0); a < 20 && push.BackoffBase<<a < push.BackoffMax {
			nominal = push.BackoffBase << a
		}
		seen := map[time.Duration]bool{}
		for range 50 {
			d := push.Backoff(attempt)
			if d < nominal/2 || d > nominal {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", attempt, d, nominal/2, nominal)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Backoff(%d) has no jitter: always %v", attempt, push.Backoff(attempt))
		}
	}
	if push.Backoff(0) > time.Second || push.Backoff(3) < 4*time.Second || push.Backoff(1000) < push.BackoffMax/2 {
		t.Error("Backoff does not grow exponentially up to its cap")
	}
}
