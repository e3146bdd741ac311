package portal

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gofiber/fiber/v2"
)

// serveContract answers GET /api/v1/openapi.json: the contract the API is
// generated from, as JSON.
func (s *Server) serveContract(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	return c.Send(s.contract.json)
}

// The reference page's view of the contract.
type (
	docParam struct {
		Name, In, Type, Description string
		Required                    bool
	}
	docResponse  struct{ Status, Description, Schema string }
	docOperation struct {
		ID, Method, Path, Summary, Description, Scope, Body string
		Params                                              []docParam
		Responses                                           []docResponse
	}
	docProperty struct {
		Name, Type, Description string
		Required                bool
	}
	docSchema struct {
		Name, Description string
		Properties        []docProperty
	}
	apiDocsPage struct {
		Page
		Version    string
		Intro      []string
		Operations []docOperation
		Schemas    []docSchema
		Problems   []string
	}
)

// showAPIDocs renders the contract as a reference page, by the portal
// itself and in English, the language of the contract.
func (s *Server) showAPIDocs(c *fiber.Ctx) error {
	if en, ok := s.catalog.Lookup("en"); ok {
		c.Locals(keyLang, en)
	}
	doc := s.contract.doc
	page := apiDocsPage{Page: s.page(c, doc.Info.Title), Version: doc.Info.Version}
	page.Body = "api-docs"
	for _, p := range strings.Split(strings.TrimSpace(doc.Info.Description), "\n\n") {
		page.Intro = append(page.Intro, strings.NewReplacer("**", "", "`", "", "\n", " ").Replace(p))
	}
	paths := doc.Paths.InMatchingOrder()
	sort.Strings(paths)
	for _, path := range paths {
		item := doc.Paths.Value(path)
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			page.Operations = append(page.Operations, docOperationOf(doc, method, path, item, op))
		}
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		page.Schemas = append(page.Schemas, docSchemaOf(name, doc.Components.Schemas[name].Value))
	}
	for _, code := range fiberProblems {
		page.Problems = append(page.Problems, code)
	}
	for _, d := range apiDomainProblems {
		page.Problems = append(page.Problems, d.problem.Code)
	}
	page.Problems = append(page.Problems, "insufficient_scope", "rate_limited", "internal")
	slices.Sort(page.Problems)
	page.Problems = slices.Compact(page.Problems)
	return s.render(c, "api_docs", page)
}

func docOperationOf(doc *openapi3.T, method, path string, item *openapi3.PathItem, op *openapi3.Operation) docOperation {
	o := docOperation{ID: op.OperationID, Method: method, Path: apiBase + path, Summary: op.Summary,
		Description: strings.TrimSpace(op.Description), Scope: operationScope(doc, op)}
	for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
		v := p.Value
		o.Params = append(o.Params, docParam{Name: v.Name, In: v.In, Required: v.Required, Description: v.Description,
			Type: schemaType(v.Schema)})
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
			o.Body = schemaType(mt.Schema)
		}
	}
	codes := make([]string, 0, op.Responses.Len())
	for code := range op.Responses.Map() {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		r := op.Responses.Value(code).Value
		resp := docResponse{Status: code, Description: deref(r.Description)}
		for _, mt := range r.Content {
			resp.Schema = schemaType(mt.Schema)
		}
		o.Responses = append(o.Responses, resp)
	}
	return o
}

func docSchemaOf(name string, s *openapi3.Schema) docSchema {
	out := docSchema{Name: name, Description: strings.TrimSpace(s.Description)}
	props := s.Properties
	if len(s.AllOf) > 0 {
		props = openapi3.Schemas{}
		for _, part := range s.AllOf {
			for k, v := range part.Value.Properties {
				props[k] = v
			}
			if part.Ref != "" {
				out.Description = strings.TrimSpace(out.Description + " All of " + refName(part.Ref) + ", and:")
			}
		}
	}
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out.Properties = append(out.Properties, docProperty{Name: k, Type: schemaType(props[k]),
			Required: slices.Contains(s.Required, k), Description: strings.TrimSpace(props[k].Value.Description)})
	}
	if len(keys) == 0 && s.Type != nil {
		out.Description = strings.TrimSpace(out.Description + " (" + schemaType(openapi3.NewSchemaRef("", s)) + ")")
	}
	return out
}

// schemaType names a schema shortly: a component's name, "array of X", a
// type with its format, one of an enum.
func schemaType(r *openapi3.SchemaRef) string {
	if r == nil {
		return ""
	}
	if r.Ref != "" {
		return refName(r.Ref)
	}
	s := r.Value
	var t string
	switch {
	case s.Type == nil:
		t = "object"
	case s.Type.Is("array"):
		t = "array of " + schemaType(s.Items)
	default:
		t = strings.Join(s.Type.Slice(), "|")
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i, e := range s.Enum {
			vals[i] = fmt.Sprint(e)
		}
		t += ": " + strings.Join(vals, ", ")
	}
	if s.Nullable {
		t += ", or null"
	}
	return t
}

func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
