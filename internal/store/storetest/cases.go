package storetest

import (
	"context"
	"github.com/sdkeda/sdkeda/internal/testenv"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/sdkeda/sdkeda/internal/store"
)

// png is the start of a PNG file: enough for content to be recognisable.
const png = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR fake image"

func testPutGetStat(t *testing.T, f *fixture) {
	key := store.ImageKey("job-1", 1)
	f.put(key, png, store.TypePNG)
	data, got := f.get(key)
	if data != png {
		t.Errorf("content: got %q, want %q", data, png)
	}
	st := f.stat(key)
	for _, o := range []store.Object{got, st} {
		if o.Key != key || o.Size != int64(len(png)) || o.ContentType != store.TypePNG {
			t.Errorf("object: got %+v, want key %s, size %d, type %s", o, key, len(png), store.TypePNG)
		}
		if o.ETag == "" || o.Modified.IsZero() {
			t.Errorf("object without ETag or time: %+v", o)
		}
	}
	if !store.SameETag(got.ETag, st.ETag) {
		t.Errorf("ETag of Get %s and of Stat %s differ", got.ETag, st.ETag)
	}
}

func testContentTypes(t *testing.T, f *fixture) {
	objs := map[string]string{
		store.ImageKey("a", 2):    store.TypePNG,
		store.MetadataKey("a"):    store.TypeJSON,
		store.ThumbKey("a", 2):    store.TypeJPEG,
		"thumbs/nested/extra.jpg": store.TypeJPEG,
	}
	for key, ct := range objs {
		f.put(key, "data of "+key, ct)
	}
	for key, ct := range objs {
		if o := f.stat(key); o.ContentType != ct {
			t.Errorf("%s: content type %q, want %q", key, o.ContentType, ct)
		}
		if data, _ := f.get(key); data != "data of "+key {
			t.Errorf("%s: content %q", key, data)
		}
	}
}

func testUnknownSize(t *testing.T, f *fixture) {
	data := strings.Repeat("0123456789", 10000)
	// A reader that hides its length, as a pipe from the generator would.
	r := io.MultiReader(strings.NewReader(data[:5]), strings.NewReader(data[5:]))
	if err := f.s.Put(f.ctx(), "big.json", r, -1, store.TypeJSON); err != nil {
		t.Fatalf("put with size -1: %v", err)
	}
	if got, o := f.get("big.json"); got != data || o.Size != int64(len(data)) {
		t.Errorf("got %d bytes (object size %d), want %d", len(got), o.Size, len(data))
	}
}

func testMissing(t *testing.T, f *fixture) {
	f.notFound("nothing.json")
	f.notFound("thumbs/nothing-1.jpg")
	f.put("a.json", "{}", store.TypeJSON)
	f.put("thumbs/a-1.jpg", "j", store.TypeJPEG)
	f.notFound("a-1.png")
	f.notFound("thumbs") // a prefix is not an object
	f.notFound("thumbs/")
}

func testList(t *testing.T, f *fixture) {
	if got := f.keys(""); len(got) != 0 {
		t.Fatalf("fresh store lists %v", got)
	}
	// "thumbs.json" sorts before "thumbs/...": a directory walk gets it wrong.
	keys := []string{"b.json", "thumbs/a-1.jpg", "a.json", "a-2.png", "a-1.png", "b-1.png", "thumbs/b-1.jpg",
		"a-10.png", "thumbs.json"}
	for _, k := range keys {
		f.put(k, "x", "")
	}
	all := slices.Clone(keys)
	slices.Sort(all)
	cases := map[string][]string{
		"":         all,
		"a":        {"a-1.png", "a-10.png", "a-2.png", "a.json"},
		"a-1":      {"a-1.png", "a-10.png"},
		"b.json":   {"b.json"},
		"thumbs/":  {"thumbs/a-1.jpg", "thumbs/b-1.jpg"},
		"thumbs/b": {"thumbs/b-1.jpg"},
		"c":        {},
		"zzz/":     {},
	}
	for prefix, want := range cases {
		if got := f.keys(prefix); !slices.Equal(got, want) {
			t.Errorf("list %q: got %v, want %v", prefix, got, want)
		}
	}
	objs, err := f.s.List(f.ctx(), "a.json")
	if err != nil || len(objs) != 1 {
		t.Fatalf("list a.json: %v %v", objs, err)
	}
	if o := objs[0]; o.Size != 1 || o.ETag == "" || o.Modified.IsZero() {
		t.Errorf("listed object lacks size, ETag or time: %+v", o)
	}
}

func testDelete(t *testing.T, f *fixture) {
	f.put("a.json", "{}", store.TypeJSON)
	f.put("thumbs/a-1.jpg", "j", store.TypeJPEG)
	for _, k := range []string{"a.json", "thumbs/a-1.jpg"} {
		if err := f.s.Delete(f.ctx(), k); err != nil {
			t.Fatalf("delete %s: %v", k, err)
		}
		f.notFound(k)
	}
	if got := f.keys(""); len(got) != 0 {
		t.Errorf("after delete: list %v", got)
	}
	if err := f.s.Delete(f.ctx(), "never-was.json"); err != nil {
		t.Errorf("delete of a missing key: %v", err)
	}
}

// An overwrite with other content of the same size changes the ETag (the
// webui's caching depends on it) and the content.
func testOverwrite(t *testing.T, f *fixture) {
	f.put("a-1.png", "old image", store.TypePNG)
	before := f.stat("a-1.png")
	f.put("a-1.png", "new image", store.TypePNG)
	data, after := f.get("a-1.png")
	if data != "new image" {
		t.Errorf("content after overwrite: %q", data)
	}
	if store.SameETag(before.ETag, after.ETag) {
		t.Errorf("ETag unchanged by an overwrite: %s", after.ETag)
	}
	if got := f.keys(""); !slices.Equal(got, []string{"a-1.png"}) {
		t.Errorf("after overwrite: list %v", got)
	}
}

func testWatch(t *testing.T, f *fixture) {
	if f.h.LossyWatch != "" {
		t.Skip("notifications not asserted: " + f.h.LossyWatch)
	}
	ch := f.watch()
	f.put("w-1.png", png, store.TypePNG)
	c := f.expect(ch, store.Put, "w-1.png", len(png))
	if c.Object.ETag == "" {
		t.Errorf("put notification without ETag: %+v", c.Object)
	}
	f.put("thumbs/w-1.jpg", "thumb", store.TypeJPEG)
	f.expect(ch, store.Put, "thumbs/w-1.jpg", len("thumb"))
	f.put("w.json", "{}", store.TypeJSON)
	f.expect(ch, store.Put, "w.json", 2)
	if err := f.s.Delete(f.ctx(), "w-1.png"); err != nil {
		t.Fatal(err)
	}
	f.expect(ch, store.Removed, "w-1.png", 0)
	if err := f.s.Delete(f.ctx(), "thumbs/w-1.jpg"); err != nil {
		t.Fatal(err)
	}
	f.expect(ch, store.Removed, "thumbs/w-1.jpg", 0)
}

func testWatchExternal(t *testing.T, f *fixture) {
	if f.h.External == nil {
		t.Skip("the harness cannot change the store behind its back")
	}
	if f.h.LossyWatch != "" {
		t.Skip("notifications not asserted: " + f.h.LossyWatch)
	}
	ch := f.watch()
	f.h.External(t, f.s, "ext.json", []byte(`{"prompt":"cp"}`), false)
	f.expect(ch, store.Put, "ext.json", len(`{"prompt":"cp"}`))
	if data, _ := f.get("ext.json"); data != `{"prompt":"cp"}` {
		t.Errorf("external object: %q", data)
	}
	f.h.External(t, f.s, "thumbs/ext-1.jpg", []byte("jpeg"), false)
	f.expect(ch, store.Put, "thumbs/ext-1.jpg", len("jpeg"))
	f.h.External(t, f.s, "ext.json", nil, true)
	f.expect(ch, store.Removed, "ext.json", 0)
	f.notFound("ext.json")
}

func testWatchEnds(t *testing.T, f *fixture) {
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := f.s.Watch(ctx)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	cancel()
	if !testenv.Closes(ch, f.h.Wait) {
		t.Fatal("the watch channel stayed open after its context ended")
	}
}

func testPing(t *testing.T, f *fixture) {
	if err := f.s.Ping(f.ctx()); err != nil {
		t.Errorf("ping: %v", err)
	}
}
