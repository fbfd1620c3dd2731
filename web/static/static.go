// Package static holds the page's assets, embedded in the binary: the
// stylesheet, htmx (see web/README.md for its pinned version) and app.js.
package static

import "embed"

// FS holds every asset at its file name.
//
//go:embed style.css app.js theme.js htmx.min.js favicon.svg
var FS embed.FS
