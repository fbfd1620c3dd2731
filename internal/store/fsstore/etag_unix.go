//go:build unix

package fsstore

import (
	"fmt"
	"io/fs"
	"syscall"
)

// etag is cheap (no read of the content) and changes on every overwrite:
// size and modification time, plus the inode, because an atomic write
// renames a new file into place and two writes of the same size can share a
// coarse timestamp.
func etag(fi fs.FileInfo) string {
	var ino uint64
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		ino = uint64(st.Ino)
	}
	return fmt.Sprintf(`"%x-%x-%x"`, fi.Size(), fi.ModTime().UnixNano(), ino)
}
