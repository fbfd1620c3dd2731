package web

import (
	"strings"
	"unicode"
)

// nsfwList is the server-side stop list: whole words, any case.
type nsfwList struct {
	words map[string]bool
}

func newNSFWList(words []string) *nsfwList {
	l := &nsfwList{words: map[string]bool{}}
	for _, w := range words {
		if w = strings.ToLower(strings.TrimSpace(w)); w != "" {
			l.words[w] = true
		}
	}
	return l
}

// find returns the first word of text on the list, or "".
func (l *nsfwList) find(text string) string {
	if len(l.words) == 0 {
		return ""
	}
	for _, w := range strings.FieldsFunc(strings.ToLower(text), notWordRune) {
		if l.words[w] {
			return w
		}
	}
	return ""
}

func notWordRune(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
