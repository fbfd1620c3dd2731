package s3store

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/store/storetest"
)

// The same contract suite runs against the embedded store (fsstore).
func TestContract(t *testing.T) {
	// The suite's subtests run in parallel: each opens its store and
	// changes it behind its back at the same time as the others.
	var mu sync.Mutex
	fixtures := map[store.Store]*fixture{}
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) store.Store {
			f := setup(t)
			mu.Lock()
			fixtures[f.s] = f
			mu.Unlock()
			return f.s
		},
		LossyWatch: "the pinned MinIO build does not flush its notification stream " +
			"(see TestWatchOpensAndEndsWithContext); the gallery's resync is tested against it instead",
		// Another client, as `mc cp` / `mc rm` would be.
		External: func(t *testing.T, s store.Store, key string, data []byte, remove bool) {
			mu.Lock()
			f := fixtures[s]
			mu.Unlock()
			ctx := ctxT(t, 10*time.Second)
			var err error
			if remove {
				err = f.other.RemoveObject(ctx, f.bucket, key, minio.RemoveObjectOptions{})
			} else {
				_, err = f.other.PutObject(ctx, f.bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
			}
			if err != nil {
				t.Fatal(err)
			}
		},
	})
}
