package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image/jpeg"
	"net/http"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
)

// D1: "NaN" and "Infinity" in number fields: the entry is served, the bad
// fields dropped, every answer whole.
func (h *hostile) numbers(t *testing.T) {
	h.t = t
	id := uuid.NewString()
	h.entry(id, gallerytest.Metadata("kept", 5, map[string]any{"guidance_scale": "NaN", "seed": "Infinity",
		"image_width": "-Infinity", "generation_seconds": "NaN"}), gallerytest.PNG(8, 8))
	e := h.waitEntries(id)[id]
	if string(e.Meta["prompt"]) != `"kept"` || e.Meta["guidance_scale"] != nil || e.Meta["width"] != nil {
		t.Errorf("meta sent: %v", e.Meta)
	}
	if _, body := h.get("/", http.StatusOK); !bytes.Contains(body, []byte(id)) {
		t.Error("the page does not show the entry")
	}
}

// D12: invalid UTF-8 in foreign metadata is U+FFFD wherever it is shown or
// sent.
func (h *hostile) invalidUTF8(t *testing.T) {
	h.t = t
	id := uuid.NewString()
	h.entry(id, []byte("{\"prompt\":\"bad\xff\xfebytes\",\"lcm_model_id\":\"m\xc3\"}"), gallerytest.PNG(8, 8))
	e := h.waitEntries(id)[id]
	if string(e.Meta["prompt"]) != `"bad`+"\uFFFD"+`bytes"` {
		t.Errorf("prompt sent: %s", e.Meta["prompt"])
	}
	_, body := h.get("/", http.StatusOK)
	if !utf8.Valid(body) || !bytes.Contains(body, []byte("bad\uFFFDbytes")) {
		t.Errorf("the page is not valid UTF-8 or lacks U+FFFD")
	}
}

// Control characters in foreign metadata (an ANSI escape, a NUL) reach
// neither the page nor the API: U+FFFD, and spaces for a prompt's newlines.
func (h *hostile) controlCharacters(t *testing.T) {
	h.t = t
	id := uuid.NewString()
	h.entry(id, []byte(`{"prompt":"ansi\u001b[31mred\u0000nul\nnext line","lcm_model_id":"m\u0007"}`), gallerytest.PNG(8, 8))
	e := h.waitEntries(id)[id]
	if string(e.Meta["prompt"]) != `"ansi`+"\uFFFD"+`[31mred`+"\uFFFD"+`nul next line"` || string(e.Meta["model"]) != `"m`+"\uFFFD"+`"` {
		t.Errorf("sent: prompt %s, model %s", e.Meta["prompt"], e.Meta["model"])
	}
	_, body := h.get("/", http.StatusOK)
	if !bytes.Contains(body, []byte("ansi\uFFFD[31mred\uFFFDnul next line")) {
		t.Error("the page does not show the prompt with U+FFFD")
	}
	_, page := h.get("/api/images?limit=200", http.StatusOK)
	for _, b := range [][]byte{body, page} {
		if bytes.ContainsAny(b, "\x00\x07\x1b") || bytes.Contains(b, []byte(`\u001b`)) || bytes.Contains(b, []byte(`\u0000`)) {
			t.Errorf("a control character was sent: %.200q", b)
		}
	}
}

// D10: an image that is not a PNG: a placeholder thumbnail, made once and
// stored, the failure logged once.
func (h *hostile) notAPNG(t *testing.T) {
	h.t = t
	id := uuid.NewString()
	h.entry(id, gallerytest.Metadata("not a png", 1, nil), []byte("<html>not an image</html>"))
	h.waitEntries(id)
	var etags []string
	for range 3 {
		resp, body := h.get("/images/"+store.ThumbKey(id, 1), http.StatusOK)
		if _, err := jpeg.Decode(bytes.NewReader(body)); err != nil || resp.Header.Get("Content-Type") != store.TypeJPEG {
			t.Fatalf("not a JPEG placeholder: %s, %v", resp.Header.Get("Content-Type"), err)
		}
		etags = append(etags, resp.Header.Get("ETag"))
	}
	if etags[0] == "" || etags[1] != etags[0] || etags[2] != etags[0] {
		t.Errorf("ETags %v: the placeholder changed", etags)
	}
	if !h.has(store.ThumbKey(id, 1)) {
		t.Error("the placeholder is not stored: the failure is not cached")
	}
	if n := strings.Count(h.stderr.String(), "key="+store.ImageKey(id, 1)); n != 1 {
		t.Errorf("the image is logged %d times, want once", n)
	}
}

// D3: five 16-bit 4096² PNGs (130 KB each, 128 MB decoded), their
// thumbnails asked for at once: placeholders, nothing decoded.
func (h *hostile) overBudget(t *testing.T) {
	h.t = t
	png := gallerytest.PNG16(4096, 4096)
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = uuid.NewString()
		h.entry(ids[i], gallerytest.Metadata("16-bit", 1, nil), png)
	}
	h.waitEntries(ids...)
	before := heap()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			resp, body := h.get("/images/"+store.ThumbKey(id, 1), http.StatusOK)
			if img, err := jpeg.Decode(bytes.NewReader(body)); err != nil || img.Bounds().Dx() != 256 {
				t.Errorf("%s: %s, %v", id, resp.Header.Get("Content-Type"), err)
			}
		})
	}
	wg.Wait()
	after := heap()
	// One full decoding alone would allocate 128 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("five thumbnails allocated %d MB", alloc>>20)
	}
	t.Logf("five thumbnails over budget: %.1f MB allocated, heap in use %.1f → %.1f MB",
		mb(after.TotalAlloc-before.TotalAlloc), mb(before.HeapInuse), mb(after.HeapInuse))
}

// D2: 40 entries whose JSON is 1 MB (a 1 MB prompt) and one whose 50 KB
// prompt fits the read limit: pages, the API and SSE events stay small, the
// heap does not hold them, the shown prompt is cut at MAX_PROMPT_LENGTH.
func (h *hostile) largeMetadata(t *testing.T) {
	h.t = t
	sizes := h.gallerySizes()
	before := heap()
	big := gallerytest.BigMetadata(1 << 20)
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = uuid.NewString()
		h.entry(ids[i], big, gallerytest.PNG(8, 8))
	}
	long := uuid.NewString()
	h.entry(long, gallerytest.Metadata(strings.Repeat("é", 25_000), 1, nil), gallerytest.PNG(8, 8))
	p := h.waitEntries(append(ids, long)...)
	var prompt string
	_ = json.Unmarshal(p[long].Meta["prompt"], &prompt)
	if n := utf8.RuneCountInString(prompt); n != 1000 {
		t.Errorf("the shown prompt has %d characters, want MAX_PROMPT_LENGTH (1000)", n)
	}
	if string(p[ids[0]].Meta["prompt"]) != `""` {
		t.Errorf("an entry whose JSON is too large has metadata: %v", p[ids[0]].Meta)
	}
	_, page := h.get("/", http.StatusOK)
	_, api := h.get("/api/images?limit=200", http.StatusOK)
	after := heap()
	if len(page) > 256<<10 || len(api) > 256<<10 {
		t.Errorf("GET / is %d bytes, /api/images?limit=200 %d", len(page), len(api))
	}
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 16<<20 {
		t.Errorf("the heap grew by %d MB", grew>>20)
	}
	if n := strings.Count(h.stderr.String(), "metadata JSON too large"); n != len(ids) {
		t.Errorf("logged %d times for %d entries, want once each", n, len(ids))
	}
	largest, events := sizes()
	if largest > 32<<10 || events < len(ids) {
		t.Errorf("%d gallery events, the largest %d bytes", events, largest)
	}
	t.Logf("GET / %d bytes, /api/images %d bytes, %d SSE gallery events of %d bytes at most; heap in use %.1f → %.1f MB",
		len(page), len(api), events, largest, mb(before.HeapInuse), mb(after.HeapInuse))
}

func mb(b uint64) float64 { return float64(b) / (1 << 20) }

// gallerySizes follows /events; it returns the size of the largest gallery
// event so far and their number.
func (h *hostile) gallerySizes() func() (int, int) {
	resp, err := http.Get(h.base + "/events")
	if err != nil || resp.StatusCode != http.StatusOK {
		h.t.Fatalf("/events: %v", err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	var mu sync.Mutex
	largest, n := 0, 0
	go func() {
		r := bufio.NewReader(resp.Body)
		name := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = strings.TrimSpace(v)
			} else if strings.HasPrefix(line, "data: ") && name == "gallery" {
				mu.Lock()
				largest, n = max(largest, len(line)), n+1
				mu.Unlock()
			}
		}
	}()
	return func() (int, int) { mu.Lock(); defer mu.Unlock(); return largest, n }
}
