package web

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sdkeda/sdkeda/internal/config"
)

// Hostile clients (issue 12): forged forwarded headers (D7), a forged Host
// (D11), invalid UTF-8 in a form (D12).

func trust(cidrs ...string) func(*config.WebUI) {
	return func(c *config.WebUI) {
		for _, s := range cidrs {
			c.TrustedProxies = append(c.TrustedProxies, netip.MustParsePrefix(s))
		}
	}
}

// post submits a job from peer with the X-Forwarded-For header xff (none
// when empty) and returns the status.
func (f *fixture) postFrom(peer, xff string) int {
	r := httptestPost("/api/jobs", `{"prompt":"dog"}`)
	r.RemoteAddr = peer + ":40000"
	if xff != "" {
		r.Header.Set("X-Forwarded-For", xff)
	}
	return f.do(r).Code
}

// D7: without TRUSTED_PROXIES a rotated X-Forwarded-For from a private peer
// (the LAN, the pod network, `make run`) is one client: it bypassed the
// rate limit before (40 of 40 accepted).
func TestRateLimitWithoutTrustedProxiesIgnoresForwardedHeaders(t *testing.T) {
	t.Parallel()
	for _, peer := range []string{"10.1.2.3", "127.0.0.1", "192.168.1.20", "203.0.113.9"} {
		f := setup(t, func(c *config.WebUI) { c.RateLimit = 3 })
		accepted := 0
		for i := range 40 {
			if f.postFrom(peer, fmt.Sprintf("198.51.100.%d", i)) == http.StatusAccepted {
				accepted++
			}
		}
		if accepted != 3 {
			t.Errorf("peer %s, X-Forwarded-For rotated: %d of 40 accepted, want 3 (RATE_LIMIT)", peer, accepted)
		}
	}
}

// D7 with TRUSTED_PROXIES: behind a trusted proxy each forwarded client has
// its own budget, found right to left past the trusted hops, so what a
// client writes into the header itself (the left part) changes nothing.
func TestRateLimitWithTrustedProxiesFollowsTheForwardedClient(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *config.WebUI) { c.RateLimit = 3 }, trust("10.0.0.0/8", "2001:db8:ffff::/48"))
	accepted := 0
	for i := range 40 {
		if f.postFrom("10.1.2.3", fmt.Sprintf("198.51.100.%d", i)) == http.StatusAccepted {
			accepted++
		}
	}
	if accepted != 40 {
		t.Errorf("40 forwarded clients: %d accepted, want 40", accepted)
	}
	cases := []struct {
		name, peer, xff string
		want            int // accepted of 10
	}{
		// The client forges a left part; the proxy appends the real address.
		{"forged left part", "10.1.2.3", "9.9.9.%d, 203.0.113.5", 3},
		// Two trusted hops (an ingress behind a load balancer).
		{"two trusted hops", "10.1.2.3", "203.0.113.6, 10.9.9.%d", 3},
		// A peer that is not trusted: its header is not read at all.
		{"untrusted peer", "203.0.113.7", "198.51.100.%d", 3},
		// Garbage in the chain: nothing left of it is believed.
		{"garbage", "10.1.2.3", "198.51.100.%d, not-an-address, 10.0.0.1", 3},
		// IPv6 clients share a budget per /64.
		{"ipv6 /64", "2001:db8:ffff::1", "2001:db8:1:2::%x", 3},
	}
	for _, tc := range cases {
		got := 0
		for i := range 10 {
			if f.postFrom(tc.peer, fmt.Sprintf(tc.xff, i+1)) == http.StatusAccepted {
				got++
			}
		}
		if got != tc.want {
			t.Errorf("%s: %d of 10 accepted, want %d", tc.name, got, tc.want)
		}
	}
}

// D7 against RabbitMQ, as issue 12 tried it: 40 submissions over loopback
// HTTP with a rotated X-Forwarded-For, RATE_LIMIT=5. Without TRUSTED_PROXIES
// 5 are queued and 35 refused; with the loopback trusted, 40 clients are
// queued. The broker holds exactly what was accepted: none lost, none twice.
func TestRateLimitOnRabbitMQWithAndWithoutTrustedProxies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		trusted []string
		want    int
	}{{"without TRUSTED_PROXIES", nil, 5}, {"TRUSTED_PROXIES=127.0.0.0/8", []string{"127.0.0.0/8"}, 40}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := startStack(t, func(c *config.WebUI) { c.RateLimit = 5 }, trust(tc.trusted...))
			codes := burst(t, 40, st.url, `{"prompt":"dog"}`, func(i int) []string {
				return []string{"X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i)}
			})
			if codes[http.StatusAccepted] != tc.want || codes[http.StatusTooManyRequests] != 40-tc.want {
				t.Errorf("answers %v, want %d × 202 and the rest 429", codes, tc.want)
			}
			if n, err := st.q.Len(context.Background()); err != nil || n != tc.want {
				t.Errorf("the queue holds %d jobs (%v), want %d", n, err, tc.want)
			}
		})
	}
}

// D11: a page on a name its attacker controls, rebound in DNS to a local
// webui, sends that name as Host and a matching Origin. The embedded mode
// (make run) answers for localhost and IP literals only; the probes answer
// whatever the name.
func TestForgedHostIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *config.WebUI) { c.AllowedHosts = []string{"localhost"} })
	req := func(method, target, host, origin string) int {
		r := httptestPost(target, `{"prompt":"dog"}`)
		r.Method, r.Host = method, host
		if origin != "" {
			r.Header.Set("Origin", origin)
			r.Header.Set("Sec-Fetch-Site", "same-origin") // what the rebound page's browser says
		}
		return f.do(r).Code
	}
	for _, host := range []string{"evil.example", "evil.example:3000", "localhost.evil.example", "LOCALHOST.evil.example."} {
		if code := req(http.MethodPost, "/api/jobs", host, "http://"+host); code != http.StatusMisdirectedRequest {
			t.Errorf("POST with Host %s: %d, want 421", host, code)
		}
		if code := req(http.MethodGet, "/", host, ""); code != http.StatusMisdirectedRequest {
			t.Errorf("GET / with Host %s: %d, want 421", host, code)
		}
		if code := req(http.MethodGet, "/healthz", host, ""); code != http.StatusOK {
			t.Errorf("GET /healthz with Host %s: %d, want 200", host, code)
		}
	}
	if n := len(f.queue.messages()); n != 0 {
		t.Errorf("%d jobs published for forged hosts", n)
	}
	for _, host := range []string{"localhost:3000", "LocalHost.", "127.0.0.1:3000", "[::1]:3000", "192.168.1.20:3000"} {
		if code := req(http.MethodPost, "/api/jobs", host, "http://"+host); code != http.StatusAccepted {
			t.Errorf("POST with Host %s: %d, want 202", host, code)
		}
	}
	// A cross-origin POST to an allowed name is still refused.
	r := httptestPost("/api/jobs", `{"prompt":"dog"}`)
	r.Host = "localhost:3000"
	r.Header.Set("Origin", "http://evil.example")
	if w := f.do(r); w.Code != http.StatusForbidden {
		t.Errorf("cross-origin POST to localhost: %d, want 403", w.Code)
	}
}

func TestAllowedHostPatterns(t *testing.T) {
	t.Parallel()
	allowed := []string{"example.com", "*.example.org"}
	for host, want := range map[string]bool{
		"example.com": true, "EXAMPLE.com:443": true, "example.com.": true, "www.example.com": false,
		"a.example.org": true, "a.b.example.org:8080": true, "example.org": false, "evilexample.org": false,
		"10.0.0.1": true, "[2001:db8::1]:80": true, "": true,
	} {
		if got := hostAllowed(host, allowed); got != want {
			t.Errorf("%q: %v, want %v", host, got, want)
		}
	}
}

// D12: invalid UTF-8 in a form field becomes U+FFFD before it goes anywhere:
// the form shown again, the job card, the published job, and the page of a
// "reuse" link.
func TestInvalidUTF8InTheFormBecomesReplacementCharacters(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := url.Values{"prompt": {"green \xff\xfe dog"}, "negative_prompt": {"blur\xc3"}}
	w := f.postForm(v, "HX-Request", "true")
	body := w.Body.String()
	if w.Code != http.StatusOK || !utf8.ValidString(body) || !strings.Contains(body, "green \uFFFD dog") {
		t.Fatalf("status %d, valid UTF-8 %v:\n%s", w.Code, utf8.ValidString(body), body)
	}
	msgs := f.queue.messages()
	if len(msgs) != 1 || msgs[0].Prompt != "green \uFFFD dog" || msgs[0].NegativePrompt != "blur\uFFFD" {
		t.Fatalf("published %+v", msgs)
	}
	// Shown again with an error (a bad seed), the page is valid UTF-8.
	v.Set("seed", "12\xff")
	w = f.postForm(v)
	if w.Code != http.StatusBadRequest || !utf8.ValidString(w.Body.String()) || !strings.Contains(w.Body.String(), "green \uFFFD dog") {
		t.Errorf("form shown again: status %d, valid UTF-8 %v", w.Code, utf8.ValidString(w.Body.String()))
	}
	// Rate limited: the form shown back too.
	g := setup(t, func(c *config.WebUI) { c.RateLimit = 1 })
	g.postForm(validForm())
	if w := g.postForm(v); w.Code != http.StatusTooManyRequests || !utf8.ValidString(w.Body.String()) {
		t.Errorf("rate limited: status %d, valid UTF-8 %v", w.Code, utf8.ValidString(w.Body.String()))
	}
	// A reuse link with a broken prompt.
	if w := f.get("/?prompt=cat%FF%FE"); !utf8.ValidString(w.Body.String()) || !strings.Contains(w.Body.String(), "cat\uFFFD") {
		t.Errorf("GET /?prompt=: valid UTF-8 %v", utf8.ValidString(w.Body.String()))
	}
	// The JSON API: encoding/json replaces invalid UTF-8 as it decodes.
	if w := f.postJSON("{\"prompt\":\"api \xff dog\"}"); w.Code != http.StatusAccepted {
		t.Fatalf("API: %d %s", w.Code, w.Body)
	}
	if msgs := f.queue.messages(); msgs[len(msgs)-1].Prompt != "api \uFFFD dog" {
		t.Errorf("API published %q", msgs[len(msgs)-1].Prompt)
	}
}

// A forwarded request from a private peer that TRUSTED_PROXIES does not
// name is most likely an ingress nobody told the webui about: logged once.
func TestForwardedRequestFromAnUntrustedProxyIsLoggedOnce(t *testing.T) {
	t.Parallel()
	var log syncBuffer
	c := &clientAddr{log: slog.New(slog.NewTextHandler(&log, nil))}
	for i := range 3 {
		r := httptestPost("/api/jobs", "{}")
		r.RemoteAddr = fmt.Sprintf("10.0.0.%d:5000", i+1)
		r.Header.Set("X-Forwarded-For", "198.51.100.7")
		if got := c.resolve(r); got.String() != fmt.Sprintf("10.0.0.%d", i+1) {
			t.Errorf("client %s, want the peer", got)
		}
	}
	if n := strings.Count(log.String(), "TRUSTED_PROXIES"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, log.String())
	}
}
