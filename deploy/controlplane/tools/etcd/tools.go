//go:build tools

// Package tools pins the etcd server the API server test builds.
package tools

import _ "go.etcd.io/etcd/server/v3"
