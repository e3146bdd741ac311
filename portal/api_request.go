package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// decodeJSON reads a request body as one JSON value of T. A body that is
// not JSON is 415 or 400; unknown fields and values of the wrong type are
// 422 naming the field, so a program learns what to fix.
func decodeJSON[T any](contentType string, body []byte) (T, error) {
	var v T
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/json" {
		return v, problemOf(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send the body as application/json.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return v, jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return v, problemOf(http.StatusBadRequest, "bad_request", "The body holds more than one JSON value.")
	}
	return v, nil
}

// jsonProblem says what was wrong with a body encoding/json refused.
func jsonProblem(err error) *apiProblem {
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return invalid(fieldErr(strings.ReplaceAll(typeErr.Field, ".", "/"), "invalid", "Expected "+jsonKind(typeErr.Type.Kind().String())+"."))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(fieldErr(name, "unknown_field", "No such field."))
	}
	return problemOf(http.StatusBadRequest, "bad_request", "The body is not valid JSON of the expected shape.")
}

// jsonKind names a Go kind as JSON calls it.
func jsonKind(kind string) string {
	switch {
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "slice", kind == "array":
		return "an array"
	}
	return "an object"
}
