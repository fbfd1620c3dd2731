package store

import (
	"testing"
)

func TestParseKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		key  string
		kind Kind
		id   string
		n    int
	}{
		{"08d90897-1b75-4f10-bd79-7fd341c7b6f8-1.png", Image, "08d90897-1b75-4f10-bd79-7fd341c7b6f8", 1},
		{"08d90897-1b75-4f10-bd79-7fd341c7b6f8-12.png", Image, "08d90897-1b75-4f10-bd79-7fd341c7b6f8", 12},
		{"08d90897-1b75-4f10-bd79-7fd341c7b6f8.json", Metadata, "08d90897-1b75-4f10-bd79-7fd341c7b6f8", 0},
		{"thumbs/abc-2.jpg", Thumb, "abc", 2},
		{"abc-0.png", Other, "", 0},
		{"abc-01.png", Other, "", 0},
		{"abc.png", Other, "", 0},
		{"-1.png", Other, "", 0},
		{"../x.json", Other, "", 0},
		{"a/b.json", Other, "", 0},
		{"thumbs/abc-1.png", Other, "", 0},
		{".sdkeda/x.json", Other, "", 0},
		{"a..b.json", Other, "", 0},
		{"ballast/1", Other, "", 0},
	}
	for _, c := range cases {
		kind, id, n := ParseKey(c.key)
		if kind != c.kind || id != c.id || n != c.n {
			t.Errorf("%s: got %v %q %d, want %v %q %d", c.key, kind, id, n, c.kind, c.id, c.n)
		}
	}
	for _, id := range []string{"abc", "08d90897-1b75-4f10-bd79-7fd341c7b6f8"} {
		if k, got, n := ParseKey(ImageKey(id, 3)); k != Image || got != id || n != 3 {
			t.Errorf("ImageKey round trip %s", id)
		}
		if k, got, _ := ParseKey(MetadataKey(id)); k != Metadata || got != id {
			t.Errorf("MetadataKey round trip %s", id)
		}
		if k, got, n := ParseKey(ThumbKey(id, 2)); k != Thumb || got != id || n != 2 {
			t.Errorf("ThumbKey round trip %s", id)
		}
	}
}
