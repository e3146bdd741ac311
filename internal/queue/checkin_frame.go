package queue

import (
	"context"
	"errors"

	"github.com/koto-portal/portal/internal/auth"
	"github.com/koto-portal/portal/internal/camscan"
)

// MaxFrameReads is how many camera frames one portal instance decodes at
// once; a frame that finds them all busy is turned away (ErrFrameBusy) and
// the kiosk sends its next one, so kiosks never queue up CPU work.
const MaxFrameReads = 2

// ErrFrameBusy: every frame reader of this instance is at work.
var ErrFrameBusy = errors.New("queue: camera frame readers busy")

// ReadCheckInFrame looks for an appointment's QR code in one frame of a
// kiosk's camera (camscan's format) and returns the code's text, "" when
// the frame shows none. Only a paired kiosk may send frames. It checks in
// nothing: the kiosk sends the text as it sends a typed code, so the
// check-in's one path counts wrong codes and answers alike. The frame is
// read where it lies and forgotten when this returns.
func (s *Service) ReadCheckInFrame(ctx context.Context, k Device, frame []byte) (string, error) {
	if k.Kind != auth.KindKiosk {
		return "", ErrUnknownDevice
	}
	// The kiosk's screen is cached, so a paired kiosk's frames cost no
	// database round trip once its first screen was shown.
	if _, err := s.KioskScreen(ctx, k); err != nil {
		return "", err
	}
	f, err := camscan.Parse(frame)
	if err != nil {
		return "", err
	}
	select {
	case s.frameReads <- struct{}{}:
		defer func() { <-s.frameReads }()
	default:
		return "", ErrFrameBusy
	}
	text, _ := camscan.Read(f)
	return text, nil
}
