package portal

import (
	"github.com/valyala/fasthttp"

	"github.com/koto-portal/portal/internal/auth"
)

// DeviceFromCookieForTest runs deviceFromCookie on a request that carries
// token in the device cookie, for the HTTP tests in portal_test.
func (s *Server) DeviceFromCookieForTest(token string) (auth.Device, bool) {
	fctx := &fasthttp.RequestCtx{}
	fctx.Request.Header.SetCookie(deviceCookie, token)
	c := s.app.AcquireCtx(fctx)
	defer s.app.ReleaseCtx(c)
	return s.deviceFromCookie(c)
}
