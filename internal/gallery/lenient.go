package gallery

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Lenient JSON field types: a value of another type leaves them zero, and
// they never return an error, which would stop the whole decoding.
type (
	lstr  string // valid UTF-8 text: invalid bytes and controls become U+FFFD (cleanText)
	lbool bool
	lnum  string // the text of a finite number, from a number or a string
	lnums []lnum
	ltime time.Time // RFC 3339 or Unix seconds, years 1–9999
	lora  struct{ BaseModelID lstr }
)

func (s *lstr) UnmarshalJSON(b []byte) error {
	if len(b) > 1 && b[0] == '"' {
		if bytes.IndexByte(b, '\\') < 0 {
			// Raw bytes: encoding/json would replace invalid UTF-8, this
			// shortcut must too.
			*s = lstr(cleanText(strings.ToValidUTF8(string(b[1:len(b)-1]), "\uFFFD")))
			return nil
		}
		var v string
		if json.Unmarshal(b, &v) == nil {
			*s = lstr(cleanText(v))
		}
	}
	return nil
}

// cleanText keeps control characters out of what the pages and the API
// show, as U+FFFD keeps invalid UTF-8 out: tab, line feed and carriage
// return (a prompt written on several lines) become spaces; every other C0
// control (NUL, ESC and the rest), DEL and the C1 controls (U+0080 to
// U+009F, some terminals' escapes) become U+FFFD. JSON escapes them
// (\u001b), but a browser or a terminal that shows the decoded text would
// not. s is valid UTF-8.
func cleanText(s string) string {
	if !hasControl(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20 || r >= 0x7f && r <= 0x9f:
			return utf8.RuneError
		}
		return r
	}, s)
}

// hasControl reports whether s holds a character cleanText replaces: a C0
// control or DEL (one byte), or a C1 control (0xC2 0x80 to 0xC2 0x9F).
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c == 0x7f:
			return true
		case c == 0xc2 && i+1 < len(s) && s[i+1] <= 0x9f:
			return true
		}
	}
	return false
}

func (v *lbool) UnmarshalJSON(b []byte) error {
	*v = string(b) == "true" || string(b) == `"true"`
	return nil
}

func (n *lnum) UnmarshalJSON(b []byte) error {
	t := string(bytes.Trim(b, `"`))
	// ParseFloat also takes "NaN", "Inf" and "Infinity", which JSON cannot
	// encode: the API would fail on them.
	if f, err := strconv.ParseFloat(t, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
		*n = lnum(t)
	}
	return nil
}

func (n lnum) float() float64 {
	f, _ := strconv.ParseFloat(string(n), 64)
	return f
}

// int is exact for integers beyond float64's 53 bits; a number out of
// int64's range is 0.
func (n lnum) int() int64 {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i
	}
	if f := n.float(); f >= math.MinInt64 && f < math.MaxInt64 {
		return int64(f)
	}
	return 0
}

func (ns *lnums) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var v []lnum
		_ = json.Unmarshal(b, &v)
		*ns = v
	}
	return nil
}

// maxUnix is the start of year 10000: JSON (RFC 3339) cannot write later.
const maxUnix = 253402300800

func (t *ltime) UnmarshalJSON(b []byte) error {
	var s lstr
	_ = s.UnmarshalJSON(b)
	if s != "" {
		if v, err := time.Parse(time.RFC3339Nano, string(s)); err == nil {
			if _, err := v.MarshalJSON(); err == nil { // a year or zone it cannot write
				*t = ltime(v)
			}
		}
		return nil
	}
	var n lnum
	_ = n.UnmarshalJSON(b)
	if f := n.float(); f > 0 && f < maxUnix {
		sec, frac := math.Modf(f)
		*t = ltime(time.Unix(int64(sec), int64(frac*1e9)).UTC())
	}
	return nil
}

func (l *lora) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '{' {
		var v struct {
			BaseModelID lstr `json:"base_model_id"`
		}
		_ = json.Unmarshal(b, &v)
		l.BaseModelID = v.BaseModelID
	}
	return nil
}

// clipChars cuts s to at most n characters (n >= 1), the last one "…" when
// cut. The result never shares the memory of a long s.
func clipChars(s string, n int) string {
	if len(s) <= n { // bytes >= characters
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
		count++
	}
	if i == len(s) || utf8.RuneCountInString(s[i:]) <= 1 {
		return s // n characters at most after all
	}
	return s[:i] + "…"
}

// clipBytes cuts a name to maxShortField bytes at most, at a character
// boundary.
func clipBytes(s string) string {
	if len(s) <= maxShortField {
		return s
	}
	i := maxShortField
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return strings.Clone(s[:i])
}
