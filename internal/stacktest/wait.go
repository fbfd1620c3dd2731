package stacktest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// poll is how often the waits look again.
const poll = 20 * time.Millisecond

// WaitFor polls cond until it holds, and fails the test if it does not
// within the given time (generous: a deadline against hanging, never a
// measurement).
func WaitFor(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(poll)
	}
}

// httpClient bounds every request of the harness.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// GetJSON gets url and, on 200, decodes the body into into (when not nil).
// It returns the status, 0 when no answer came or a 200 body did not decode.
func GetJSON(url string, into any) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			return 0
		}
	}
	return resp.StatusCode
}

// WaitUp waits until the program at base answers /healthz and then /readyz
// with 200. exited (may be nil) ends the wait with a failure: the program
// stopped before it came up.
func WaitUp(t testing.TB, base string, within time.Duration, exited <-chan struct{}) {
	t.Helper()
	for _, path := range []string{"/healthz", "/readyz"} {
		WaitFor(t, "GET "+base+path+" answers 200", within, func() bool {
			select {
			case <-exited:
				t.Fatalf("the program at %s exited before %s answered", base, path)
			default:
			}
			return GetJSON(base+path, nil) == http.StatusOK
		})
	}
}
