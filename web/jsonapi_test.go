package web

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
)

// A value that cannot be encoded is a 500 with a JSON error, never a 200
// with a cut or empty body (issue 12, D1); the caller gets the error to log.
func TestWriteJSONEncodesBeforeAnswering(t *testing.T) {
	t.Parallel()
	w := httptest.NewRecorder()
	err := writeJSON(w, http.StatusOK, map[string]any{"entries": []float64{1, math.NaN()}})
	var body apiErr
	if err == nil || w.Code != http.StatusInternalServerError || json.Unmarshal(w.Body.Bytes(), &body) != nil || body.Error == "" {
		t.Fatalf("got %d %q (%v), want 500 with a JSON error", w.Code, w.Body.String(), err)
	}
	w = httptest.NewRecorder()
	if err := writeJSON(w, http.StatusAccepted, map[string]int{"a": 1}); err != nil || w.Code != http.StatusAccepted ||
		w.Body.String() != "{\"a\":1}\n" || w.Header().Get("Content-Length") != "8" {
		t.Fatalf("got %d %q %v", w.Code, w.Body.String(), err)
	}
}
