package push

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry timing.
const (
	// DefaultRetryAfter is used when a 429 carries no usable Retry-After.
	DefaultRetryAfter = 60 * time.Second
	// MaxRetryAfter caps Retry-After so a bad header cannot park a job for days.
	MaxRetryAfter = time.Hour
	// MinRetryAfter is the floor, so "0" or a past date cannot make callers spin.
	MinRetryAfter = time.Second
)

// ParseRetryAfter reads a Retry-After value, either delay-seconds or an
// HTTP-date relative to now. Missing or unparsable values give
// DefaultRetryAfter; results are kept within [MinRetryAfter, MaxRetryAfter].
func ParseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return DefaultRetryAfter
	}
	var d time.Duration
	if isDigits(value) {
		secs, err := strconv.ParseInt(value, 10, 64)
		if err != nil || secs > int64(MaxRetryAfter/time.Second) {
			// Overflowing digits are still "a long time", not garbage.
			return MaxRetryAfter
		}
		d = time.Duration(secs) * time.Second
	} else {
		t, err := http.ParseTime(value)
		if err != nil {
			return DefaultRetryAfter
		}
		d = t.Sub(now)
	}
	return min(max(d, MinRetryAfter), MaxRetryAfter)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
