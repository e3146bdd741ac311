package portal

import (
	"net"

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
	d, err := s.deviceFromCookie(c)
	return d, err == nil
}

// ClientAddrForTest runs clientAddr on a request from peer carrying the
// given X-Forwarded-For headers.
func (s *Server) ClientAddrForTest(peer string, xff []string) string {
	var req fasthttp.Request
	for _, v := range xff {
		req.Header.Add("X-Forwarded-For", v)
	}
	fctx := &fasthttp.RequestCtx{}
	fctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(peer), Port: 4000}, nil)
	c := s.app.AcquireCtx(fctx)
	defer s.app.ReleaseCtx(c)
	return s.clientAddr(c).String()
}
