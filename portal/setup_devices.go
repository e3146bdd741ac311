package portal

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5"

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
	return s.renderDevicesPage(c, fiber.StatusOK, nil, nil, nil)
}

// submitDevice adds a device and shows its first pairing code.
func (s *Server) submitDevice(c *fiber.Ctx) error {
	v := formValues(c)
	in, errs := decodeDeviceForm(v)
	var code string
	var id int64
	err := s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		sp, err := managedServicePoint(ctx, tx, c)
		if err != nil {
			return err
		}
		if len(errs) > 0 {
			return errFormInvalid
		}
		if id, err = org.CreateDevice(ctx, tx, principal(c), sp.ID, in.Kind, in.Name); err != nil {
			return err
		}
		code, err = org.IssueDeviceCode(ctx, tx, principal(c), s.auth, sp.ID, id)
		return err
	})
	if errors.Is(err, errFormInvalid) {
		return s.renderDevicesPage(c, fiber.StatusUnprocessableEntity, v, errs, nil)
	} else if err != nil {
		return err
	}
	return s.renderDevicesPage(c, fiber.StatusOK, nil, nil, &newCode{Code: code, Device: org.DeviceRow{ID: id}})
}

// submitDeviceCode gives a device a fresh pairing code, to pair it (again).
func (s *Server) submitDeviceCode(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var code string
	err = s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		sp, err := managedServicePoint(ctx, tx, c)
		if err != nil {
			return err
		}
		code, err = org.IssueDeviceCode(ctx, tx, principal(c), s.auth, sp.ID, id)
		return err
	})
	if err != nil {
		return err
	}
	return s.renderDevicesPage(c, fiber.StatusOK, nil, nil, &newCode{Code: code, Device: org.DeviceRow{ID: id}})
}

// submitDeviceRevoke ends a device's credential: a lost or replaced screen
// stops working at its next request.
func (s *Server) submitDeviceRevoke(c *fiber.Ctx) error {
	id, err := idParam(c, "id")
	if err != nil {
		return err
	}
	var sp org.ServicePoint
	err = s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		if sp, err = managedServicePoint(ctx, tx, c); err != nil {
			return err
		}
		return org.RevokeDevice(ctx, tx, principal(c), s.auth, sp.ID, id)
	})
	if err != nil {
		return err
	}
	return c.Redirect("/staff/setup/"+sp.Slug+"/devices?saved=1", fiber.StatusSeeOther)
}

// renderDevicesPage shows the device list; typed and errs are a failed
// new-device form, code a pairing code just made.
func (s *Server) renderDevicesPage(c *fiber.Ctx, status int, typed url.Values, errs forms.Errors, code *newCode) error {
	page := devicesPage{Page: s.page(c, ""), Saved: c.Query("saved") != "" && code == nil && typed == nil}
	page.Body = "staff setup"
	if typed == nil {
		typed = url.Values{"kind": {auth.KindKiosk}}
	}
	page.Form = newFormView(page.T, "device-", typed, errs)
	now := time.Now()
	err := s.inTenant(c, func(ctx context.Context, tx pgx.Tx) error {
		sp, err := managedServicePoint(ctx, tx, c)
		if err != nil {
			return err
		}
		page.SP, page.SPName = sp, spName(sp, page.T.Lang.Code)
		devices, err := org.ListDevices(ctx, tx, sp.ID)
		if err != nil {
			return err
		}
		loc := sp.Location()
		for _, d := range devices {
			row := deviceRow{DeviceRow: d, Status: deviceStatus(d, now)}
			if row.Status == devicePending {
				row.Expires = d.PairExpires.In(loc).Format(timeOfDayLayout)
			}
			page.Devices = append(page.Devices, row)
			if code != nil && code.Device.ID == d.ID {
				code.Device, code.Expires = d, row.Expires
				// The whole address when the public one is known: the
				// device's browser has no link to follow.
				code.PairPath = strings.TrimRight(s.cfg.BaseURL, "/") + "/" + d.Kind + "/pair"
				page.New = code
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	page.Title = page.T.Get("setup.devices.title", "Name", page.SPName)
	return s.renderStatus(c, status, "setup_devices", page)
}
