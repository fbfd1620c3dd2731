package testenv

import (
	"io"
	"net"
	"sync"
	"time"
)

// Service is a loopback stand-in for a Kubernetes Service in front of
// several servers: each connection goes to the next backend that accepts it
// (round robin, skipping the ones that refuse, as kube-proxy skips pods that
// are not ready), and is cut when its backend goes away.
type Service struct {
	Addr string // 127.0.0.1:PORT

	ln       net.Listener
	backends []string
	mu       sync.Mutex
	next     int
	conns    map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
}

// StartService listens on a free loopback port in front of backends (host:port).
func StartService(backends []string) (*Service, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Service{Addr: ln.Addr().String(), ln: ln, backends: backends, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *Service) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.serve(c)
	}
}

// dial connects to the next backend that accepts, trying each once.
func (s *Service) dial() (net.Conn, error) {
	s.mu.Lock()
	start := s.next
	s.next = (s.next + 1) % len(s.backends)
	s.mu.Unlock()
	var last error
	for i := range s.backends {
		b, err := net.DialTimeout("tcp", s.backends[(start+i)%len(s.backends)], 2*time.Second)
		if err == nil {
			return b, nil
		}
		last = err
	}
	return nil, last
}

func (s *Service) track(c net.Conn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add && s.closed {
		return false
	}
	if add {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
	return true
}

func (s *Service) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	b, err := s.dial()
	if err != nil {
		return
	}
	defer b.Close()
	if !s.track(c, true) || !s.track(b, true) {
		return
	}
	defer s.track(c, false)
	defer s.track(b, false)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(b, c)
	go pipe(c, b)
	// Either side ending ends both: a client whose node died sees its
	// connection drop, as through a real Service.
	<-done
}

// Close stops listening and cuts every connection.
func (s *Service) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
}
