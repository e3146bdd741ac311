package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/internal/queue"
)

var (
	csrfField   = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)
	ticketLabel = regexp.MustCompile(`id="ticket-number"[^>]*>([^<]+)<`)
)

// kiosk is one browser at the demo kiosk: its own cookie jar and connection,
// and the CSRF token its form carries, fetched once and reused as a kiosk
// left on its interpreter screen would.
type kiosk struct {
	client *http.Client
	base   string
	topic  string
	form   string // the POST body but for the one-time key, the same every time
}

// newKiosk readies a kiosk on its interpreter screen. With a pairing code
// it first pairs, as a new kiosk does, and takes tickets as that device;
// without one it is the demo's own kiosk, which demo mode lets in unpaired.
func newKiosk(ctx context.Context, base string, topic int64, pairCode string) (*kiosk, error) {
	jar, _ := cookiejar.New(nil)
	k := &kiosk{
		client: &http.Client{
			Jar:     jar,
			Timeout: 10 * time.Second,
			// Each kiosk keeps its own connection, as a browser would.
			Transport: &http.Transport{MaxIdleConnsPerHost: 2, DisableCompression: true, IdleConnTimeout: time.Minute},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
		base:  base,
		topic: strconv.FormatInt(topic, 10),
	}
	if pairCode != "" {
		if err := k.pair(ctx, pairCode); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		base+"/kiosk/"+demo.ServicePoint+"?lang=en&topic="+k.topic, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return nil, fmt.Errorf("GET /kiosk/demo: status %d, CSRF field found: %v", resp.StatusCode, m != nil)
	}
	k.form = url.Values{"_csrf": {html.UnescapeString(string(m[1]))}, "lang": {"en"}, "topic": {k.topic}, "interpreter": {"0"}}.Encode()
	return k, nil
}

// pair enters a pairing code on /kiosk/pair; the answer sets the device
// cookie this kiosk then carries.
func (k *kiosk) pair(ctx context.Context, code string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.base+"/kiosk/pair", nil)
	if err != nil {
		return err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return err
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		return fmt.Errorf("GET /kiosk/pair: status %d, CSRF field found: %v", resp.StatusCode, m != nil)
	}
	form := url.Values{"_csrf": {html.UnescapeString(string(m[1]))}, "code": {code}}.Encode()
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, k.base+"/kiosk/pair", strings.NewReader(form))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", k.base)
	resp, err = k.client.Do(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/kiosk/"+demo.ServicePoint {
		return fmt.Errorf("POST /kiosk/pair: status %d (to %q): %s", resp.StatusCode, resp.Header.Get("Location"), snippet(body))
	}
	return nil
}

// take takes one ticket and returns its label ("A 12"). Anything but a 200
// page showing a number is an error: the test must not count failures.
// Each take is a new tap, so it carries a new one-time key, as a kiosk's
// freshly drawn interpreter screen would (the same key would answer with
// the same ticket).
func (k *kiosk) take(ctx context.Context) (string, error) {
	body := k.form + "&key=" + queue.NewTakeKey()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.base+"/kiosk/"+demo.ServicePoint+"/tickets", strings.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A browser sends Origin with every POST; the portal checks it.
	req.Header.Set("Origin", k.base)
	resp, err := k.client.Do(req)
	if err != nil {
		return "", err
	}
	var page bytes.Buffer
	_, err = io.Copy(&page, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /kiosk/demo/tickets: status %d: %s", resp.StatusCode, snippet(page.Bytes()))
	}
	m := ticketLabel.FindSubmatch(page.Bytes())
	if m == nil {
		return "", fmt.Errorf("POST /kiosk/demo/tickets: 200 without a ticket number: %s", snippet(page.Bytes()))
	}
	return strings.TrimSpace(html.UnescapeString(string(m[1]))), nil
}

func (k *kiosk) close() { k.client.CloseIdleConnections() }

// snippet is the readable start of a page, for error messages.
func snippet(b []byte) string {
	if i := bytes.Index(b, []byte("<main")); i >= 0 {
		b = b[i:]
	}
	s := strings.Join(strings.Fields(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(string(b), " ")), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// getText fetches a small page, such as /metrics.
func getText(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return b, err
}
