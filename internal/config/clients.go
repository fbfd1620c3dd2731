package config

import (
	"net/netip"
	"strings"
)

// Clients is what the webui trusts of, and grants to, the clients that reach
// it over the network (issue 12: a public page meets hostile clients).
type Clients struct {
	// TrustedProxies (TRUSTED_PROXIES): the peers whose X-Forwarded-For is
	// believed, as CIDRs. Empty (the default): every client is its TCP peer,
	// whatever headers it sends. deploy/ sets the pod network, where the
	// ingress controller runs.
	TrustedProxies []netip.Prefix
	// AllowedHosts (ALLOWED_HOSTS): the names the webui answers for in the
	// Host header; an IP literal is always answered. Empty means any name
	// ("*", the default with RabbitMQ and MinIO); the embedded mode answers
	// for localhost only, so a DNS-rebound name cannot reach `make run`.
	// "*.example.com" matches every name under example.com.
	AllowedHosts []string
	// MaxStreams (MAX_SSE_STREAMS) and MaxStreamsPerClient
	// (MAX_SSE_STREAMS_PER_CLIENT) cap the open /events streams in all and
	// per client address; past them 503 and 429.
	MaxStreams          int
	MaxStreamsPerClient int
}

// clients reads the variables of Clients; the embedded mode has its own
// defaults (a local trial: loopback only).
func (r *reader) clients(embedded bool) Clients {
	c := Clients{
		MaxStreams:          r.integer("MAX_SSE_STREAMS", 1000, 1, 1000000),
		MaxStreamsPerClient: r.integer("MAX_SSE_STREAMS_PER_CLIENT", 20, 1, 1000000),
	}
	for _, v := range list(r.str("TRUSTED_PROXIES", "")) {
		p, err := parsePrefix(v)
		if err != nil {
			r.fail("TRUSTED_PROXIES", "want comma-separated CIDRs or addresses such as 10.0.0.0/8,192.0.2.7, got %q", v)
			continue
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	hosts := r.str("ALLOWED_HOSTS", "*")
	if embedded {
		hosts = r.str("ALLOWED_HOSTS", "localhost")
	}
	for _, h := range list(hosts) {
		h = strings.ToLower(h)
		if h == "*" {
			return c.withAnyHost()
		}
		if strings.ContainsAny(h, "/:@ ") || strings.Contains(h[1:], "*") || h == "*." {
			r.fail("ALLOWED_HOSTS", "want comma-separated host names without ports (example.com, *.example.com) or *, got %q", h)
			continue
		}
		c.AllowedHosts = append(c.AllowedHosts, h)
	}
	if len(c.AllowedHosts) == 0 {
		r.fail("ALLOWED_HOSTS", "lists no host: set * to answer for any name")
	}
	return c
}

func (c Clients) withAnyHost() Clients { c.AllowedHosts = nil; return c }

// parsePrefix reads a CIDR, or an address as a prefix of its own length.
func parsePrefix(v string) (netip.Prefix, error) {
	if !strings.Contains(v, "/") {
		a, err := netip.ParseAddr(v)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// list splits a comma-separated value, dropping empty items.
func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// listenAddr is LISTEN_ADDR. The embedded mode (`make run`, a trial on one
// machine) listens on loopback unless told otherwise; in a container or a
// pod (Dockerfile.webui, deploy/) it is set to :3000.
func (r *reader) listenAddr(embedded bool) string {
	if !embedded {
		return r.addr("LISTEN_ADDR", ":3000")
	}
	return r.addr("LISTEN_ADDR", "127.0.0.1:3000")
}
