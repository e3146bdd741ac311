package portal

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/koto-portal/portal/internal/org"
)

// settingsPage is a staff member's own settings: the browsers that take
// their task notifications.
type settingsPage struct {
	Page
	PushOn    bool   // the portal can send Web Push
	PublicKey string // VAPID, for the browser's subscribe
	Devices   []pushDeviceRow
	Message   string
}

type pushDeviceRow struct {
	ID    int64
	Label string
	Since string
}

// showStaffSettings lists the staff member's notified browsers and lets
// this one opt in.
func (s *Server) showStaffSettings(c *fiber.Ctx) error {
	devices, err := s.tasks.Devices(c.UserContext(), principal(c))
	if err != nil {
		return err
	}
	p := s.page(c, "")
	p.Title = p.T.Get("settings.title")
	sp := settingsPage{Page: p, PushOn: s.push != nil}
	if s.push != nil {
		sp.PublicKey = s.push.PublicKey()
	}
	for _, d := range devices {
		label := d.Label
		if label == "" {
			label = p.T.Get("settings.unknown_browser")
		}
		sp.Devices = append(sp.Devices, pushDeviceRow{ID: d.ID, Label: label, Since: p.T.Lang.FormatDate(d.CreatedAt.In(org.Zone("")))})
	}
	if c.Query("msg") == "removed" {
		sp.Message = p.T.Get("settings.removed")
	}
	return s.render(c, "staff_settings", sp)
}

// submitStaffPush stores this browser's push subscription (JSON, sent by
// the settings page's script with the CSRF header) for the staff member's
// task notifications.
func (s *Server) submitStaffPush(c *fiber.Ctx) error {
	raw, err := s.pushSubscription(c)
	if err != nil {
		return err
	}
	d, err := s.tasks.Subscribe(c.UserContext(), principal(c), raw, browserLabel(c.Get(fiber.HeaderUserAgent)))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"id": d.ID})
}

// submitStaffDeviceRemove stops notifications to one of the staff
// member's browsers.
func (s *Server) submitStaffDeviceRemove(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	if err := s.tasks.RemoveDevice(c.UserContext(), principal(c), id); err != nil {
		return err
	}
	return c.Redirect("/staff/settings?msg=removed", fiber.StatusSeeOther)
}

// browserLabel names a browser from its User-Agent the way its owner would
// ("Firefox, Linux"), so they can tell their devices apart in the list.
func browserLabel(ua string) string {
	pick := func(pairs ...string) string {
		for i := 0; i+1 < len(pairs); i += 2 {
			if strings.Contains(ua, pairs[i]) {
				return pairs[i+1]
			}
		}
		return ""
	}
	browser := pick("Edg/", "Edge", "Firefox/", "Firefox", "SamsungBrowser/", "Samsung Internet", "Chrome/", "Chrome", "Safari/", "Safari")
	system := pick("Android", "Android", "iPhone", "iPhone", "iPad", "iPad", "Windows", "Windows", "Mac OS X", "macOS", "CrOS", "ChromeOS", "Linux", "Linux")
	switch {
	case browser != "" && system != "":
		return browser + ", " + system
	case browser != "":
		return browser
	}
	return system
}
