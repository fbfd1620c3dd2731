package web

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallSendBuffers is a listener whose connections have the smallest send
// buffer the kernel allows: a handler's writes then block as soon as its
// client stops reading (loopback buffers otherwise hold megabytes).
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// imageServer serves f's handler over loopback with small send buffers,
// recording when each connection ends.
func imageServer(t *testing.T, f *fixture) (*httptest.Server, *endedStreams) {
	t.Helper()
	var conns endedStreams
	srv := httptest.NewUnstartedServer(f.handler)
	srv.Listener = smallSendBuffers{srv.Listener}
	srv.Config.ConnState = conns.hook
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// A client that stops reading a large image is cut within one write
// deadline (imageWriteTimeout), not held for as long as a whole download
// may take: a shutdown begun meanwhile ends well within its grace. (With
// one deadline of 5 minutes for the whole image, the shutdown used its
// 10 s and failed.)
func TestImageClientThatNeverReadsIsCut(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.gallery.add(entry("big", "a large image", time.Minute, f.now), bytes.Repeat([]byte("x"), 16<<20))
	srv, conns := imageServer(t, f)
	start := time.Now()
	if _, status := stuckGet(t, strings.TrimPrefix(srv.URL, "http://"), "/images/big-1.png"); !strings.Contains(status, "200") {
		t.Fatalf("GET the image: %q", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Config.Shutdown(ctx)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("shutdown with a client that never reads: %v after %s (grace %s)", err, took.Round(time.Millisecond), shutdownGrace)
	}
	if conns.count() != 1 {
		t.Fatalf("%d connections ended, want the stuck one", conns.count())
	}
	t.Logf("the stuck download was cut and the shutdown done %s after the request (write deadline %s)",
		took.Round(time.Millisecond), imageWriteTimeout)
}

// throttled reads at most n bytes per period: a slow phone that keeps
// reading.
type throttled struct {
	r      io.Reader
	n      int
	period time.Duration
	left   int
}

func (t *throttled) Read(p []byte) (int, error) {
	if t.left == 0 {
		time.Sleep(t.period)
		t.left = t.n
	}
	n, err := t.r.Read(p[:min(len(p), t.left)])
	t.left -= n
	return n, err
}

// A client that reads slowly but steadily gets the whole image, however
// much longer than one write deadline the download takes: each chunk
// written extends it.
func TestImageToASlowReaderArrivesWhole(t *testing.T) {
	t.Parallel()
	f := setup(t)
	img := make([]byte, 384<<10)
	_, _ = rand.Read(img)
	f.gallery.add(entry("slow", "a slow phone", time.Minute, f.now), img)
	srv, _ := imageServer(t, f)
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/images/slow-1.png", nil)
	start := time.Now()
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	// 16 KiB each half second: 32 KB/s, 12 s for the image.
	resp, err := http.ReadResponse(bufio.NewReaderSize(&throttled{r: conn, n: 16 << 10, period: 500 * time.Millisecond}, 4096), req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, img) {
		t.Fatalf("status %d, %d of %d bytes, equal %v, err %v after %s", resp.StatusCode, len(got), len(img), bytes.Equal(got, img), err, took)
	}
	if took < 2*imageWriteTimeout {
		t.Fatalf("the download took %s: not slow enough to outlast two write deadlines (%s)", took, imageWriteTimeout)
	}
	t.Logf("%d KiB at 32 KB/s arrived whole in %s (write deadline %s a chunk)", len(img)>>10, took.Round(time.Millisecond), imageWriteTimeout)
}
