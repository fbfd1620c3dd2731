//go:build !unix

package fsstore

import (
	"fmt"
	"io/fs"
)

// etag is cheap (no read of the content) and changes on overwrite: size and
// modification time.
func etag(fi fs.FileInfo) string {
	return fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano())
}
