package config

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// The embedded mode (make run) listens on loopback and answers for
// localhost; with RabbitMQ and MinIO (a pod) it listens on every interface
// and answers for any name. No proxy is trusted unless named.
func TestClientsDefaultsByMode(t *testing.T) {
	t.Parallel()
	e, err := LoadWebUI(env())
	if err != nil {
		t.Fatal(err)
	}
	if e.ListenAddr != "127.0.0.1:3000" || !slices.Equal(e.AllowedHosts, []string{"localhost"}) ||
		e.TrustedProxies != nil || e.MaxStreams != 1000 || e.MaxStreamsPerClient != 20 {
		t.Errorf("embedded: %+v %q", e.Clients, e.ListenAddr)
	}
	p, err := LoadWebUI(env("AMQP_URL", "amqp://u:p@rabbitmq:5672/", "MINIO_ENDPOINT", "minio:9000",
		"MINIO_ACCESS_KEY", "a", "MINIO_SECRET_KEY", "s"))
	if err != nil {
		t.Fatal(err)
	}
	if p.ListenAddr != ":3000" || p.AllowedHosts != nil || p.TrustedProxies != nil {
		t.Errorf("production: %+v %q", p.Clients, p.ListenAddr)
	}
	for _, s := range []string{"TRUSTED_PROXIES=", "ALLOWED_HOSTS=*", "MAX_SSE_STREAMS=1000", "MAX_SSE_STREAMS_PER_CLIENT=20"} {
		if !strings.Contains(p.String(), s+"\n") {
			t.Errorf("effective configuration lacks %s:\n%s", s, p.String())
		}
	}
}

func TestClientsParsed(t *testing.T) {
	t.Parallel()
	c, err := LoadWebUI(env("TRUSTED_PROXIES", " 10.0.0.0/8, 192.0.2.7 ,::ffff:172.16.0.0/108,2001:db8::/32",
		"ALLOWED_HOSTS", "Example.com, *.example.org", "MAX_SSE_STREAMS", "5", "MAX_SSE_STREAMS_PER_CLIENT", "2",
		"LISTEN_ADDR", ":8080"))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("2001:db8::/32")}
	if !slices.Equal(c.TrustedProxies, want) || !slices.Equal(c.AllowedHosts, []string{"example.com", "*.example.org"}) ||
		c.MaxStreams != 5 || c.MaxStreamsPerClient != 2 || c.ListenAddr != ":8080" {
		t.Errorf("%+v %q", c.Clients, c.ListenAddr)
	}
	if c, _ := LoadWebUI(env("ALLOWED_HOSTS", "localhost,*")); c.AllowedHosts != nil {
		t.Errorf("* among names: %v, want any", c.AllowedHosts)
	}
	_, err = LoadWebUI(env("TRUSTED_PROXIES", "10.0.0.0/33,ingress", "ALLOWED_HOSTS", "example.com:3000",
		"MAX_SSE_STREAMS", "0", "MAX_SSE_STREAMS_PER_CLIENT", "x"))
	for _, name := range []string{"TRUSTED_PROXIES: ", "ALLOWED_HOSTS: ", "MAX_SSE_STREAMS: ", "MAX_SSE_STREAMS_PER_CLIENT: "} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
	if _, err := LoadWebUI(env("ALLOWED_HOSTS", " , ")); err == nil || !strings.Contains(err.Error(), "ALLOWED_HOSTS") {
		t.Errorf("an empty list: %v", err)
	}
}
