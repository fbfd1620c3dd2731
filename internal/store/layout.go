package store

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ThumbPrefix holds derived thumbnails: thumbs/<id>-<n>.jpg.
const ThumbPrefix = "thumbs/"

// CancelPrefix holds the cancel markers: cancelled/<id>, an empty object
// written by the webui when a person cancels a job that waits. The worker
// that reaches the job's message finds it and acks the message unrun: a
// marker in the store outlives every pod (a ScaledJob's pod starts fresh)
// and needs nothing of the queue. Markers are kept (a few bytes each): a
// duplicate of the message, which RabbitMQ's at-least-once delivery allows,
// must find the marker too.
const CancelPrefix = "cancelled/"

// CancelKey is the key of the cancel marker of job id.
func CancelKey(id string) string { return CancelPrefix + id }

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

// SameETag compares ETags whatever their quoting.
func SameETag(a, b string) bool {
	return strings.Trim(a, `"`) == strings.Trim(b, `"`) && a != ""
}
