package gallery

import (
	"testing"
	"time"
)

func TestResyncEveryIsBoundedAndProportional(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ took, want time.Duration }{
		{0, time.Second},
		{10 * time.Millisecond, time.Second},
		{200 * time.Millisecond, 4 * time.Second},
		{time.Minute, 5 * time.Minute},
	} {
		if got := resyncEvery(c.took, time.Second, 5*time.Minute); got != c.want {
			t.Errorf("after a %v listing: got %v, want %v", c.took, got, c.want)
		}
	}
}
