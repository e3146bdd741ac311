package portal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/demo"
	"github.com/koto-portal/portal/portal/portaltest"
)

var shownCode = regexp.MustCompile(`<p class="pair-code"[^>]*>(\d{4}-\d{4})</p>`)

// pairingCode reads the one-time code a devices page shows.
func pairingCode(t *testing.T, body string) string {
	t.Helper()
	m := shownCode.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no pairing code on the page:\n%.3000s", body)
	}
	return m[1]
}

// pairDevice types code on a fresh, never-logged-in browser at path
// (/kiosk/pair or /display/pair).
func pairDevice(t *testing.T, in *portaltest.Instance, path, code string) (*http.Response, string) {
	t.Helper()
	d := newSetupAgent(t, in)
	resp, body := d.get(path)
	wantStatus(t, "pair page", resp, body, http.StatusOK)
	return d.post(path, url.Values{"code": {code}})
}

func deviceToken(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "koto_device" {
			return c
		}
	}
	t.Fatalf("no device cookie; cookies %v", resp.Cookies())
	return nil
}

func TestDevicePairingEndToEnd(t *testing.T) {
	in, owner := setupStart(t)
	lead := setupLogin(t, in, demo.LeadEmail)

	resp, body := lead.get("/staff/setup/demo/devices")
	wantStatus(t, "devices page", resp, body, http.StatusOK)
	if !strings.Contains(body, demo.KioskName) || !strings.Contains(body, demo.DisplayName) {
		t.Error("the demo's devices are not listed")
	}
	resp, body = lead.post("/staff/setup/demo/devices", url.Values{"kind": {"kiosk"}, "name": {"Aulan automaatti"}})
	wantStatus(t, "create device", resp, body, http.StatusOK)
	code := pairingCode(t, body)
	if !strings.Contains(body, "/kiosk/pair") {
		t.Error("the code's instructions do not name /kiosk/pair")
	}
	deviceID := setupID(t, owner, `SELECT id FROM devices WHERE name = 'Aulan automaatti' AND kind = 'kiosk' AND pair_expires_at > now() + interval '9 minutes'`)
	if !strings.Contains(body, "Odottaa liittämistä") {
		t.Error("the new device is not listed as waiting for pairing")
	}

	// The code typed on a display does not pair a kiosk (and stays usable).
	resp, body = pairDevice(t, in, "/display/pair", code)
	wantStatus(t, "kiosk code on a display", resp, body, http.StatusUnprocessableEntity)

	resp, body = pairDevice(t, in, "/kiosk/pair", " "+code[:4]+" "+code[5:]+" ")
	wantStatus(t, "pair", resp, body, http.StatusSeeOther)
	if loc := resp.Header.Get("Location"); loc != "/kiosk/demo" {
		t.Errorf("paired kiosk sent to %q", loc)
	}
	cookie := deviceToken(t, resp)
	raw := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=34560000"} {
		if !strings.Contains(strings.ToLower(raw), strings.ToLower(want)) {
			t.Errorf("device cookie lacks %s: %s", want, raw)
		}
	}
	d, ok := in.Server.DeviceFromCookieForTest(cookie.Value)
	if !ok || d.ID != deviceID || d.Kind != auth.KindKiosk || d.ServicePoint != demo.ServicePoint || d.Name != "Aulan automaatti" {
		t.Fatalf("deviceFromCookie: %+v %v", d, ok)
	}
	if _, ok := in.Server.DeviceFromCookieForTest(cookie.Value + "x"); ok {
		t.Error("a wrong credential was taken")
	}
	if _, body = lead.get("/staff/setup/demo/devices"); !strings.Contains(body, "Liitetty") {
		t.Error("the device is not listed as paired")
	}

	// A code works once.
	resp, body = pairDevice(t, in, "/kiosk/pair", code)
	wantStatus(t, "reused code", resp, body, http.StatusUnprocessableEntity)
	if !strings.Contains(body, "Koodi on väärä, jo käytetty tai vanhentunut.") || !strings.Contains(body, `value="`+code+`"`) {
		t.Error("the reused code's page lacks the message or what was typed")
	}

	// An expired code does not work either.
	path := "/staff/setup/demo/devices/" + strconv.FormatInt(deviceID, 10)
	resp, body = lead.post(path+"/code", nil)
	wantStatus(t, "new code", resp, body, http.StatusOK)
	expired := pairingCode(t, body)
	if _, ok := in.Server.DeviceFromCookieForTest(cookie.Value); ok {
		t.Error("the old credential still works after a new code was made")
	}
	if _, err := owner.Exec(t.Context(), `UPDATE devices SET pair_expires_at = now() - interval '1 second' WHERE id = $1`, deviceID); err != nil {
		t.Fatal(err)
	}
	resp, body = pairDevice(t, in, "/kiosk/pair", expired)
	wantStatus(t, "expired code", resp, body, http.StatusUnprocessableEntity)
	if _, body = lead.get("/staff/setup/demo/devices"); !strings.Contains(body, "Liitoskoodi on vanhentunut") {
		t.Error("the device is not listed with an expired code")
	}

	// Pair again, then revoke: the cookie stops working.
	resp, body = lead.post(path+"/code", nil)
	wantStatus(t, "another code", resp, body, http.StatusOK)
	resp, body = pairDevice(t, in, "/kiosk/pair", pairingCode(t, body))
	wantStatus(t, "pair again", resp, body, http.StatusSeeOther)
	cookie = deviceToken(t, resp)
	if _, ok := in.Server.DeviceFromCookieForTest(cookie.Value); !ok {
		t.Fatal("the re-paired device's credential does not work")
	}
	resp, body = lead.post(path+"/revoke", nil)
	wantStatus(t, "revoke", resp, body, http.StatusSeeOther)
	if _, ok := in.Server.DeviceFromCookieForTest(cookie.Value); ok {
		t.Error("a revoked device's credential still works")
	}
	if _, body = lead.get("/staff/setup/demo/devices"); !strings.Contains(body, "Käyttöoikeus poistettu") {
		t.Error("the device is not listed as revoked")
	}

	// Nobody else's device: another service point's id is not found here.
	other := setupID(t, owner, `INSERT INTO service_points (municipality_id, slug) SELECT municipality_id, 'toinen' FROM service_points WHERE slug = 'demo' RETURNING id`)
	foreign := setupID(t, owner, `INSERT INTO devices (municipality_id, service_point_id, kind, name) SELECT municipality_id, id, 'display', 'Vieras' FROM service_points WHERE id = $1 RETURNING id`, other)
	resp, body = lead.post("/staff/setup/demo/devices/"+strconv.FormatInt(foreign, 10)+"/code", nil)
	wantStatus(t, "another service point's device", resp, body, http.StatusNotFound)
	if n := setupCount(t, owner, `SELECT count(*) FROM devices WHERE id = $1 AND pair_code_hash IS NULL`, foreign); n != 1 {
		t.Error("a refused request gave another service point's device a code")
	}
}

func TestDeviceFormBadInput(t *testing.T) {
	in, owner := setupStart(t)
	lead := setupLogin(t, in, demo.LeadEmail)
	before := setupCount(t, owner, `SELECT count(*) FROM devices`)
	for _, form := range []url.Values{
		{"kind": {"printer"}, "name": {"<i>Tulostin</i>"}},
		{"kind": {"kiosk"}, "name": {""}},
		{"kind": {"display"}, "name": {strings.Repeat("n", 61)}},
		{"name": {"Ilman lajia"}},
	} {
		resp, body := lead.post("/staff/setup/demo/devices", form)
		wantStatus(t, form.Encode(), resp, body, http.StatusUnprocessableEntity)
		wantShown(t, form.Encode(), body, form.Get("name"))
		if shownCode.MatchString(body) {
			t.Error("a refused form showed a pairing code")
		}
	}
	if after := setupCount(t, owner, `SELECT count(*) FROM devices`); after != before {
		t.Errorf("bad forms added devices: %d → %d", before, after)
	}
}

func TestPairingPageRefusesBadCodesAndThrottles(t *testing.T) {
	in, _ := setupStart(t)
	d := newSetupAgent(t, in)
	resp, body := d.get("/display/pair?lang=en")
	wantStatus(t, "display pair page", resp, body, http.StatusOK)
	if !strings.Contains(body, `inputmode="numeric"`) || !strings.Contains(body, `action="/display/pair?lang=en"`) {
		t.Error("the pairing form is not numeric or posts elsewhere")
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy %q", resp.Header.Get("Referrer-Policy"))
	}
	// Not a code at all: said so, without counting as a guess.
	for _, code := range []string{"", "abcd-efgh", "123", "<script>alert(1)</script>"} {
		resp, body = d.post("/display/pair?lang=en", url.Values{"code": {code}})
		wantStatus(t, code, resp, body, http.StatusUnprocessableEntity)
		wantShown(t, code, body, code)
		if !strings.Contains(body, `aria-invalid="true"`) {
			t.Errorf("%q: the code field is not marked invalid", code)
		}
	}
	// Wrong codes count; after five the client waits.
	for i := range 5 {
		resp, body = d.post("/display/pair?lang=en", url.Values{"code": {"0000-000" + strconv.Itoa(i)}})
		wantStatus(t, "wrong code", resp, body, http.StatusUnprocessableEntity)
		if !strings.Contains(body, "This code is wrong, already used or expired.") {
			t.Error("a wrong code did not get its message")
		}
	}
	resp, body = d.post("/display/pair?lang=en", url.Values{"code": {"1111-2222"}})
	wantStatus(t, "throttled", resp, body, http.StatusTooManyRequests)
	if !strings.Contains(body, "Too many wrong codes.") || !strings.Contains(body, `value="1111-2222"`) {
		t.Error("the throttled page lacks its message or what was typed")
	}
}
