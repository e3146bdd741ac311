package portal

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/koto-portal/portal/internal/clients"
	"github.com/koto-portal/portal/internal/forms"
)

type clientsPage struct {
	Page
	Form           formView
	Results        clients.Results
	Mine           bool
	PrevURL        string
	NextURL        string
	PageNo         int
	ShowPointField bool
	names          map[int64]string
}

// PointName names a client's service point in the page's language.
func (p clientsPage) PointName(id int64) string { return p.names[id] }

// decodeClientQuery reads the search form (a GET, so a search can be
// bookmarked and paged). "mine" is the actor's own clients.
func decodeClientQuery(v url.Values, self int64) (clients.Query, bool, forms.Errors) {
	f := forms.New(v)
	q := clients.Query{Text: f.Text("q", false, 200), Limit: clients.DefaultPageSize}
	q.Status = f.Choice("status", false, clients.StatusActive, clients.StatusEnded)
	mine := f.Bool("mine")
	if n, ok := f.Int("expert", false, 1, 1<<62); ok {
		q.ExpertID = n
	}
	if mine {
		q.ExpertID = self
		f.Values.Set("expert", strconv.FormatInt(self, 10))
	}
	if n, ok := f.Int("sp", false, 1, 1<<62); ok {
		q.ServicePointID = n
	}
	if n, ok := f.Int("page", false, 1, 10000); ok {
		q.Offset = int(n-1) * q.Limit
	}
	return q, mine, f.Errors
}

// showClients lists and searches the clients of the expert's service
// points.
func (s *Server) showClients(c *fiber.Ctx) error {
	actor := principal(c)
	v, err := url.ParseQuery(string(c.Request().URI().QueryString()))
	if err != nil {
		v = url.Values{}
	}
	q, mine, errs := decodeClientQuery(v, actor.StaffID)
	res, err := s.clients.Search(c.UserContext(), actor, q)
	if err != nil {
		return err
	}
	p := s.page(c, "")
	page := clientsPage{Page: p, Form: newFormView(p.T, "", v, errs), Results: res, Mine: mine,
		PageNo: q.Offset/q.Limit + 1, ShowPointField: len(res.Points) > 1, names: servicePointNames(res.Points, p.T.Lang.Code)}
	page.Body = "staff clients"
	page.Title = p.T.Get("clients.title")
	if mine {
		page.Title = p.T.Get("clients.my")
	}
	pageURL := func(n int) string {
		w := url.Values{}
		for k, vs := range v {
			w[k] = vs
		}
		w.Set("page", strconv.Itoa(n))
		return "/staff/clients?" + w.Encode()
	}
	if page.PageNo > 1 {
		page.PrevURL = pageURL(page.PageNo - 1)
	}
	if res.More {
		page.NextURL = pageURL(page.PageNo + 1)
	}
	if len(errs) > 0 {
		return s.renderStatus(c, fiber.StatusUnprocessableEntity, "clients", page)
	}
	return s.render(c, "clients", page)
}
