package store

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// ThumbPrefix holds derived thumbnails: thumbs/<id>-<n>.jpg.
const ThumbPrefix = "thumbs/"

// Kind is what a key is in the layout.
type Kind int

// The kinds of key in the bucket.
const (
	Other    Kind = iota // not part of the layout: ignored
	Image                // <id>-<n>.png
	Metadata             // <id>.json
	Thumb                // thumbs/<id>-<n>.jpg
)

var idRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// ValidID reports whether id can name an entry (and so a key) safely.
func ValidID(id string) bool { return idRe.MatchString(id) && !strings.Contains(id, "..") }

// ImageKey is the key of image n (from 1) of job id.
func ImageKey(id string, n int) string { return fmt.Sprintf("%s-%d.png", id, n) }

// MetadataKey is the key of the metadata JSON of job id.
func MetadataKey(id string) string { return id + ".json" }

// ThumbKey is the key of the thumbnail of image n of job id.
func ThumbKey(id string, n int) string { return fmt.Sprintf("%s%s-%d.jpg", ThumbPrefix, id, n) }

// ParseKey tells what key is and, for images and thumbnails, their number.
func ParseKey(key string) (kind Kind, id string, n int) {
	name, k := key, Image
	if rest, ok := strings.CutPrefix(key, ThumbPrefix); ok {
		name, k = rest, Thumb
	}
	if strings.Contains(name, "/") {
		return Other, "", 0
	}
	if k == Image {
		if id, ok := strings.CutSuffix(name, ".json"); ok && ValidID(id) {
			return Metadata, id, 0
		}
	}
	ext := ".png"
	if k == Thumb {
		ext = ".jpg"
	}
	base, ok := strings.CutSuffix(name, ext)
	if !ok {
		return Other, "", 0
	}
	i := strings.LastIndexByte(base, '-')
	if i <= 0 {
		return Other, "", 0
	}
	num, err := strconv.Atoi(base[i+1:])
	if err != nil || num < 1 || num > 999 || base[i+1] == '0' || !ValidID(base[:i]) {
		return Other, "", 0
	}
	return k, base[:i], num
}

// Entry is one job's result in the bucket: its metadata JSON and its images.
// An entry is complete when its JSON exists (the worker uploads it last).
type Entry struct {
	ID       string
	Metadata Object
	Images   []Object // in image-number order
}

// Complete reports whether the metadata JSON exists.
func (e Entry) Complete() bool { return e.Metadata.Key != "" }

// Entries groups objects into entries and returns the complete ones, newest
// first (by the time of their metadata JSON, then by id).
func Entries(objs []Object) []Entry {
	type acc struct {
		e    Entry
		imgs map[int]Object
	}
	by := map[string]*acc{}
	get := func(id string) *acc {
		a := by[id]
		if a == nil {
			a = &acc{e: Entry{ID: id}, imgs: map[int]Object{}}
			by[id] = a
		}
		return a
	}
	for _, o := range objs {
		switch kind, id, n := ParseKey(o.Key); kind {
		case Metadata:
			get(id).e.Metadata = o
		case Image:
			get(id).imgs[n] = o
		}
	}
	out := make([]Entry, 0, len(by))
	for _, a := range by {
		if !a.e.Complete() {
			continue
		}
		nums := make([]int, 0, len(a.imgs))
		for n := range a.imgs {
			nums = append(nums, n)
		}
		sort.Ints(nums)
		for _, n := range nums {
			a.e.Images = append(a.e.Images, a.imgs[n])
		}
		out = append(out, a.e)
	}
	sort.Slice(out, func(i, j int) bool { return Newer(out[i], out[j]) })
	return out
}

// Newer orders entries newest first, by metadata time then id.
func Newer(a, b Entry) bool {
	if !a.Metadata.Modified.Equal(b.Metadata.Modified) {
		return a.Metadata.Modified.After(b.Metadata.Modified)
	}
	return a.ID > b.ID
}

// ListEntries lists the complete entries of s, newest first.
func ListEntries(ctx context.Context, s Store) ([]Entry, error) {
	objs, err := s.List(ctx, "")
	if err != nil {
		return nil, err
	}
	return Entries(objs), nil
}

// SameETag compares ETags whatever their quoting.
func SameETag(a, b string) bool {
	return strings.Trim(a, `"`) == strings.Trim(b, `"`) && a != ""
}
