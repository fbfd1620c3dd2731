//go:build tools

// Package tools pins the KEDA operator the API server test builds.
package tools

import _ "github.com/kedacore/keda/v2/cmd/operator"
