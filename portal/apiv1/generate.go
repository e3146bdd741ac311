// Package apiv1 is the JSON API's server glue, generated from the contract
// (internal/api/openapi.yaml) by oapi-codegen: the request and answer
// types, and the Fiber routes that bind parameters and call the handlers.
// Never edit apiv1.gen.go; change the contract and run go generate.
package apiv1

//go:generate go tool oapi-codegen -config oapi-codegen.yaml ../../internal/api/openapi.yaml
