package web

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// Hostile clients of /events (issue 12, D4 and D5): clients that never read,
// and too many clients.

// stuckClient opens GET /events on addr as a client that never reads (its
// receive buffer as small as the kernel allows, so the server's writes
// block soon) and returns the connection and the status line.
func stuckClient(t testing.TB, addr string, header ...string) (net.Conn, string) {
	t.Helper()
	return stuckGet(t, addr, "/events", header...)
}

// stuckGet is stuckClient for any path.
func stuckGet(t testing.TB, addr, path string, header ...string) (net.Conn, string) {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	req := "GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\n"
	for i := 0; i+1 < len(header); i += 2 {
		req += header[i] + ": " + header[i+1] + "\r\n"
	}
	if _, err := conn.Write([]byte(req + "\r\n")); err != nil {
		t.Fatal(err)
	}
	// The status line only: the rest stays unread in the socket.
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line := make([]byte, 0, 64)
	one := make([]byte, 1)
	for len(line) < 64 {
		if _, err := conn.Read(one); err != nil || one[0] == '\n' {
			break
		}
		line = append(line, one[0])
	}
	return conn, strings.TrimSpace(string(line))
}

// endedStreams records when the server ended each response on a
// connection: it closed the connection, or (the end written) made it idle.
type endedStreams struct {
	mu     sync.Mutex
	closed []time.Time
}

func (c *endedStreams) hook(_ net.Conn, s http.ConnState) {
	if s == http.StateClosed || s == http.StateIdle {
		c.mu.Lock()
		c.closed = append(c.closed, time.Now())
		c.mu.Unlock()
	}
}

func (c *endedStreams) count() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.closed) }

func (c *endedStreams) last() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed[len(c.closed)-1]
}

func metricsText(f *fixture) string { return f.get("/metrics").Body.String() }

// D4: a client that stops reading leaves the handler blocked in Write once
// the kernel's buffers are full. The write deadline cuts it within
// sseWriteTimeout (it waited forever before); a client the hub drops for
// being too far behind is cut at once, not at the deadline.
func TestSSEClientThatNeverReadsIsCut(t *testing.T) {
	t.Parallel()
	f := setup(t)
	var conns endedStreams
	srv := httptest.NewUnstartedServer(f.handler)
	srv.Config.ConnState = conns.hook
	srv.Start()
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	big := []byte(`"` + strings.Repeat("x", 1<<20) + `"`)

	// Past the deadline: 8 events of 1 MB fill the socket (a few hundred KB
	// at most) but not the hub's buffer of 16, so the hub keeps the client.
	if _, status := stuckClient(t, addr); !strings.Contains(status, "200") {
		t.Fatalf("/events: %q", status)
	}
	waitFor(t, "the stuck client joins", func() bool { return f.hub.Clients() == 1 })
	for range 8 {
		f.hub.Send(sseEvent{Name: "gallery", Data: big})
	}
	sent := time.Now()
	waitFor(t, "the server closes the stuck stream", func() bool { return conns.count() == 1 })
	took := conns.last().Sub(sent)
	if took > sseWriteTimeout+10*time.Second {
		t.Errorf("cut %s after the last event; the write deadline is %s", took, sseWriteTimeout)
	}
	if !strings.Contains(metricsText(f), "sdkeda_webui_sse_cut_total 1\n") {
		t.Error("sdkeda_webui_sse_cut_total is not 1")
	}
	t.Logf("a client that never reads was cut %s after the last event", took.Round(time.Millisecond))

	// Dropped by the hub (its buffer of 16 full): cut at once.
	if _, status := stuckClient(t, addr); !strings.Contains(status, "200") {
		t.Fatalf("/events: %q", status)
	}
	waitFor(t, "the second stuck client joins", func() bool { return f.hub.Clients() == 1 })
	for range 8 {
		f.hub.Send(sseEvent{Name: "gallery", Data: big})
	}
	waitFor(t, "the handler is blocked in a write (the hub holds the rest)", func() bool {
		n := hubBacklog(f.hub)
		time.Sleep(500 * time.Millisecond)
		return n > 0 && hubBacklog(f.hub) == n
	})
	for f.hub.Clients() > 0 {
		f.hub.Send(sseEvent{Name: "gallery", Data: []byte("{}")})
	}
	dropped := time.Now()
	waitFor(t, "the server closes the dropped stream", func() bool { return conns.count() == 2 })
	if took := conns.last().Sub(dropped); took >= sseWriteTimeout {
		t.Errorf("a dropped client was cut %s after its drop: it waited for the write deadline", took)
	}
}

// hubBacklog is the number of events waiting in the clients' buffers.
func hubBacklog(h *Hub) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for c := range h.clients {
		n += len(c.events)
	}
	return n
}

// D5: the streams of one address are capped (429), and all streams (503),
// both with Retry-After; a stream that ends frees its place. Behind a
// trusted proxy the address is the forwarded one.
func TestSSEStreamsAreCapped(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *config.WebUI) {
		c.MaxStreams, c.MaxStreamsPerClient = 3, 2
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func(from string) (*http.Response, func()) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/events", nil)
		req.Header.Set("X-Forwarded-For", from)
		sctx, scancel := context.WithCancel(ctx)
		resp, err := http.DefaultClient.Do(req.WithContext(sctx))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			_, _ = bufio.NewReader(resp.Body).ReadString('\n') // the stream is served
		}
		return resp, func() { scancel(); resp.Body.Close() }
	}
	refused := func(resp *http.Response, code int) {
		t.Helper()
		if resp.StatusCode != code || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%d Retry-After %q, want %d with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"), code)
		}
	}
	_, close1 := open("192.0.2.1")
	open("192.0.2.1")
	r, _ := open("192.0.2.1")
	refused(r, http.StatusTooManyRequests)
	open("192.0.2.2")
	r, _ = open("192.0.2.3")
	refused(r, http.StatusServiceUnavailable)
	close1()
	waitFor(t, "the closed stream frees its place", func() bool { return f.hub.Clients() == 2 })
	if r, _ := open("192.0.2.3"); r.StatusCode != http.StatusOK {
		t.Errorf("after a stream ended: %d", r.StatusCode)
	}
	m := metricsText(f)
	for _, want := range []string{`sdkeda_webui_sse_refused_total{code="429"} 1`, `sdkeda_webui_sse_refused_total{code="503"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// D5 on the whole program: 2,000 streams from one address took 92 MB
// before; now the address's 21st stream is refused, and a stream ends when
// its client goes.
func TestRunCapsStreamsPerAddress(t *testing.T) {
	t.Parallel()
	env := map[string]string{"LISTEN_ADDR": fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), "DATA_DIR": t.TempDir(),
		"GENERATOR": "placeholder", "MAX_SSE_STREAMS_PER_CLIENT": "20"}
	r := runWebUI(t, env, true)
	codes := map[string]int{}
	for range 25 {
		// X-Forwarded-For rotated: without TRUSTED_PROXIES it changes nothing.
		_, status := stuckClient(t, env["LISTEN_ADDR"], "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", len(codes)))
		codes[strings.Join(strings.Fields(status)[1:2], "")]++
	}
	if codes["200"] != 20 || codes["429"] != 5 {
		t.Errorf("25 streams from one address: %v, want 20 × 200 and 5 × 429", codes)
	}
	r.stop()
}

// shutdownWithStuckClients runs the whole webui (Run, embedded mode), opens
// n streams that never read, makes gallery events of about 0.5 MB each (20
// entries with a 100,000-character prompt, written into the store as a
// foreign tool would) until every stream's socket is full, then ends Run's
// context, as SIGTERM does, and returns how long Run took to return and
// its error.
func shutdownWithStuckClients(t testing.TB, n int) (time.Duration, error) {
	t.Helper()
	dir := t.TempDir()
	env := map[string]string{"LISTEN_ADDR": fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), "DATA_DIR": dir,
		"GENERATOR": "placeholder", "MAX_PROMPT_LENGTH": "100000", "MAX_SSE_STREAMS_PER_CLIENT": "100"}
	base := "http://" + env["LISTEN_ADDR"]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, nil, func(k string) string { return env[k] }, &syncBuffer{}, &stderr) }()
	waitFor(t, "/readyz", func() bool { return getJSON(base+"/readyz", nil) == http.StatusOK })
	for range n {
		if _, status := stuckClient(t, env["LISTEN_ADDR"]); !strings.Contains(status, "200") {
			t.Fatalf("/events: %q", status)
		}
	}
	prompt := strings.Repeat("x", 100000)
	for i := range 20 {
		id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
		meta := fmt.Sprintf(`{"prompt":%q,"width":512,"height":512}`, prompt)
		for key, body := range map[string]string{store.ImageKey(id, 1): "not a png", store.MetadataKey(id): meta} {
			if err := os.WriteFile(filepath.Join(dir, "images", key), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var page apiImages
	waitFor(t, "the 20 entries are in the gallery", func() bool {
		return getJSON(base+"/api/images?limit=50", &page) == http.StatusOK && len(page.Entries) == 20
	})
	time.Sleep(time.Second) // the events reach the streams, which block
	cancel()
	start := time.Now()
	select {
	case err := <-done:
		return time.Since(start), err
	case <-time.After(time.Minute):
		t.Fatal("Run did not return within a minute of its context ending")
	}
	return 0, nil
}

// D4 on the whole program: 20 streams that never read, each with its socket
// full, must not hold the shutdown up. Before, every handler stayed blocked
// in Write, and Run waited out its whole grace (10 s) and returned an error.
func TestShutdownIsNotHeldUpByStuckStreams(t *testing.T) {
	t.Parallel()
	took, err := shutdownWithStuckClients(t, 20)
	if err != nil {
		t.Errorf("Run: %v", err)
	}
	if took > shutdownGrace/2 {
		t.Errorf("Run took %s to stop with 20 stuck streams; its grace is %s", took, shutdownGrace)
	}
	t.Logf("Run stopped %s after its context ended, with 20 stuck streams", took.Round(time.Millisecond))
}

// BenchmarkShutdownWithStuckStreams: how long Run takes to return after its
// context ends with 20 streams that never read (web/README.md).
func BenchmarkShutdownWithStuckStreams(b *testing.B) {
	for b.Loop() {
		took, err := shutdownWithStuckClients(b, 20)
		if err != nil {
			b.Logf("Run: %v", err)
		}
		b.ReportMetric(took.Seconds(), "shutdown-s")
	}
}
