package api

import _ "embed"

// Contract is the OpenAPI document of the API, as YAML: the web layer's
// routes and types are generated from it, and it is served as JSON.
//
//go:embed openapi.yaml
var Contract []byte
