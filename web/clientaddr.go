package web

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/go-chi/httprate"
)

// clientAddrKey holds the client's address (clientAddr) in a request's context.
type clientAddrKey struct{}

// clientAddr resolves who the client is, for the rate limit and the caps on
// event streams: the TCP peer, unless the peer is one of the trusted proxies
// (TRUSTED_PROXIES), in which case X-Forwarded-For is walked from the right,
// past the trusted hops, to the first address that is not one. Headers of an
// untrusted peer are ignored whatever they say (issue 12, D7): a client that
// rotates X-Forwarded-For is still one client. X-Real-IP and Forwarded are
// never read: the proxies in front of the webui all append to
// X-Forwarded-For.
type clientAddr struct {
	trusted []netip.Prefix
	log     *slog.Logger
	warned  atomic.Bool // a forwarded request from an untrusted private peer was logged
}

func (c *clientAddr) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := c.resolve(r); a.IsValid() {
			r = r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, a))
		}
		next.ServeHTTP(w, r)
	})
}

func (c *clientAddr) resolve(r *http.Request) netip.Addr {
	peer := peerAddr(r)
	if !peer.IsValid() {
		return peer
	}
	xff := r.Header.Values("X-Forwarded-For")
	if !c.trusts(peer) {
		if len(xff) > 0 && (peer.IsPrivate() || peer.IsLoopback()) && c.warned.CompareAndSwap(false, true) {
			// Probably an ingress we were not told about: every client
			// behind it shares one rate limit and one stream cap.
			c.log.Warn("a request came through a proxy that TRUSTED_PROXIES does not name: "+
				"its X-Forwarded-For is ignored, every client behind it counts as the proxy (logged once)",
				"peer", peer.String())
		}
		return peer
	}
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		hops := strings.Split(xff[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(hops[j]))
			if err != nil {
				return client // garbage left of a trusted hop: believe nothing further
			}
			client = a.Unmap().WithZone("")
			if !c.trusts(client) {
				return client
			}
		}
	}
	return client // every hop is trusted: the leftmost is the client
}

func (c *clientAddr) trusts(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// peerAddr is the TCP peer of r.
func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// clientKey is the client's key for the rate limit and the stream caps: its
// address (an IPv6 address by its /64, as httprate does).
func clientKey(r *http.Request) string {
	a, ok := r.Context().Value(clientAddrKey{}).(netip.Addr)
	if !ok {
		a = peerAddr(r)
	}
	if !a.IsValid() {
		return r.RemoteAddr
	}
	return httprate.CanonicalizeIP(a.String())
}

// hostCheck answers only for the names of ALLOWED_HOSTS (any name when it is
// *), and for IP literals. A page on a name its attacker controls, rebound
// in DNS to a webui on loopback or a LAN (`make run`), sends that name as
// Host and a matching Origin: the cross-origin check alone, which compares
// the two, would let its POSTs through (issue 12, D11). The probes' routes
// answer whatever the name.
func hostCheck(allowed []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if len(allowed) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || hostAllowed(r.Host, allowed) {
				next.ServeHTTP(w, r)
				return
			}
			writeError(w, http.StatusMisdirectedRequest,
				"this server does not answer for that host name: open it by a name it serves (ALLOWED_HOSTS)", nil)
		})
	}
}

func hostAllowed(hostport string, allowed []string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" {
		return true // HTTP/1.0 without Host: no browser sends that
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return true // an address typed as such cannot be rebound
	}
	for _, a := range allowed {
		if host == a || strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:]) {
			return true
		}
	}
	return false
}
