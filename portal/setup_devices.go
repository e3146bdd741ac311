package portal

import (
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/forms"
	"github.com/koto-portal/portal/internal/org"
)

const maxDeviceNameLen = 60

type deviceInput struct {
	Kind, Name string
}

// decodeDeviceForm reads the new-device form: a kiosk or a display, and a
// name that tells the staff which screen it is.
func decodeDeviceForm(v url.Values) (deviceInput, forms.Errors) {
	f := forms.New(v)
	in := deviceInput{
		Kind: f.Choice("kind", true, auth.KindKiosk, auth.KindDisplay),
		Name: f.Text("name", true, maxDeviceNameLen),
	}
	return in, f.Errors
}

// Device states as the list shows them.
const (
	deviceRevoked   = "revoked"
	devicePending   = "pending"
	deviceExpired   = "expired"
	devicePaired    = "paired"
	deviceUnpaired  = "unpaired"
	timeOfDayLayout = "15:04"
)

func deviceStatus(d org.DeviceRow, now time.Time) string {
	switch {
	case d.RevokedAt != nil:
		return deviceRevoked
	case d.PairExpires != nil && d.PairExpires.After(now):
		return devicePending
	case d.PairExpires != nil:
		return deviceExpired
	case d.PairedAt != nil:
		return devicePaired
	}
	return deviceUnpaired
}

type deviceRow struct {
	org.DeviceRow
	Status  string // one of the device states
	Expires string // a pending code's expiry, as the service point's clock shows it
}

// newCode is a pairing code just made: shown once, never stored readable.
type newCode struct {
	Code     string
	Device   org.DeviceRow
	PairPath string
	Expires  string
}

type devicesPage struct {
	Page
	SP      org.ServicePoint
	SPName  string
	Devices []deviceRow
	Form    formView
	New     *newCode
	Saved   bool
}

// showDevices lists the service point's kiosks and displays.
func (s *Server) showDevices(c *fiber.Ctx) error {
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	devices, err := s.org.Devices(c.UserContext(), principal(c), slug)
	if err != nil {
		return err
	}
	return s.renderDevicesPage(c, fiber.StatusOK, devices, nil, nil, org.NewCode{})
}

// submitDevice adds a device and shows its first pairing code.
func (s *Server) submitDevice(c *fiber.Ctx) error {
	slug, err := slugParam(c)
	if err != nil {
		return err
	}
	v := formValues(c)
	in, errs := decodeDeviceForm(v)
	if len(errs) > 0 {
		// The list still shows, under the form that came back.
		devices, err := s.org.Devices(c.UserContext(), principal(c), slug)
		if err != nil {
			return err
		}
		return s.renderDevicesPage(c, fiber.StatusUnprocessableEntity, devices, v, errs, org.NewCode{})
	}
	devices, code, err := s.org.CreateDevice(c.UserContext(), principal(c), slug, in.Kind, in.Name)
	return s.showNewCode(c, devices, code, err)
}

// submitDeviceCode gives a device a fresh pairing code, to pair it (again).
func (s *Server) submitDeviceCode(c *fiber.Ctx) error {
	slug, id, err := deviceParams(c)
	if err != nil {
		return err
	}
	devices, code, err := s.org.IssueDeviceCode(c.UserContext(), principal(c), slug, id)
	return s.showNewCode(c, devices, code, err)
}

// showNewCode shows the device list with the pairing code just made, once.
func (s *Server) showNewCode(c *fiber.Ctx, devices org.Devices, code org.NewCode, err error) error {
	if err != nil {
		return err
	}
	return s.renderDevicesPage(c, fiber.StatusOK, devices, nil, nil, code)
}

// submitDeviceRevoke ends a device's credential: a lost or replaced screen
// stops working at its next request.
func (s *Server) submitDeviceRevoke(c *fiber.Ctx) error {
	slug, id, err := deviceParams(c)
	if err != nil {
		return err
	}
	if err := s.org.RevokeDevice(c.UserContext(), principal(c), slug, id); err != nil {
		return err
	}
	return c.Redirect("/staff/setup/"+slug+"/devices?saved=1", fiber.StatusSeeOther)
}

// deviceParams reads :sp and the device's :id.
func deviceParams(c *fiber.Ctx) (slug string, id int64, err error) {
	if slug, err = slugParam(c); err != nil {
		return "", 0, err
	}
	id, err = idParam(c, "id")
	return slug, id, err
}

// renderDevicesPage shows the device list; typed and errs are a failed
// new-device form, code a pairing code just made (when its Code is set).
func (s *Server) renderDevicesPage(c *fiber.Ctx, status int, d org.Devices, typed url.Values, errs forms.Errors, code org.NewCode) error {
	page := devicesPage{Page: s.page(c, ""), Saved: c.Query("saved") != "" && code.Code == "" && typed == nil}
	page.Body = "staff setup"
	if typed == nil {
		typed = url.Values{"kind": {auth.KindKiosk}}
	}
	page.Form = newFormView(page.T, "device-", typed, errs)
	now := time.Now()
	page.SP, page.SPName = d.ServicePoint, spName(d.ServicePoint, page.T.Lang.Code)
	loc := d.ServicePoint.Location()
	for _, dev := range d.Devices {
		row := deviceRow{DeviceRow: dev, Status: deviceStatus(dev, now)}
		if row.Status == devicePending {
			row.Expires = dev.PairExpires.In(loc).Format(timeOfDayLayout)
		}
		page.Devices = append(page.Devices, row)
		if code.Code != "" && code.DeviceID == dev.ID {
			// The whole address when the public one is known: the
			// device's browser has no link to follow.
			page.New = &newCode{Code: code.Code, Device: dev, Expires: row.Expires,
				PairPath: strings.TrimRight(s.cfg.BaseURL, "/") + "/" + dev.Kind + "/pair"}
		}
	}
	page.Title = page.T.Get("setup.devices.title", "Name", page.SPName)
	return s.renderStatus(c, status, "setup_devices", page)
}
