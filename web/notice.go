package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// A page without JavaScript learns what its last action did after a
// redirect: the action sets a short-lived cookie with a notice code, and the
// next page shows its text once and deletes it. Only codes travel, never
// text: a cookie written by someone else can at worst show one of ours.
const noticeCookie = "sd_notice"

func noticeQueued(n int) string { return "queued-" + strconv.Itoa(n) }

const (
	noticeCancelled = "cancelled"
	noticeRetried   = "retried"
	noticeCleared   = "cleared"
)

// noticeText is what a code says, or "" for a code that is not ours.
func noticeText(code string) string {
	switch code {
	case noticeCancelled:
		return "Cancelled: that job will not run."
	case noticeRetried:
		return "Queued the job again, with the same settings."
	case noticeCleared:
		return "Cleared the finished jobs."
	}
	if n, err := strconv.Atoi(strings.TrimPrefix(code, "queued-")); err == nil && strings.HasPrefix(code, "queued-") && n > 0 && n <= 100 {
		return fmt.Sprintf("Queued %d job%s.", n, plural(n))
	}
	return ""
}

func setNotice(w http.ResponseWriter, r *http.Request, code string) {
	http.SetCookie(w, &http.Cookie{Name: noticeCookie, Value: code, Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
}

// takeNotice returns the text of the pending notice and deletes it.
func takeNotice(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(noticeCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: noticeCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	return noticeText(c.Value)
}
