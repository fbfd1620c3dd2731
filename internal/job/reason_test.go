package job

import (
	"strings"
	"testing"
)

// The reasons the worker sends (worker/process.go, fastsdcpu.go, warm.go,
// driver.go) as they read, each to its kind; the text shown never carries
// the generator's stderr.
func TestClassifyReason(t *testing.T) {
	t.Parallel()
	tail := "Traceback (most recent call last):\n  File \"/app/src/app.py\", line 3, in <module>\n"
	cases := map[string]ReasonKind{
		"": "",
		"fastsdcpu exit status 1: " + tail + "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB": ReasonOutOfMemory,
		"fastsdcpu exit status 1: " + tail + "torch.OutOfMemoryError: CUDA error":                            ReasonOutOfMemory,
		"fastsdcpu exit status 1: " + tail + "MemoryError":                                                   ReasonOutOfMemory,
		"fastsdcpu signal: killed: " + tail:                                                                  ReasonOutOfMemory,
		"fastsdcpu-warm driver ended: signal: killed during the job: " + tail:                                ReasonOutOfMemory,
		"fastsdcpu stopped after 10m0s (job timeout of 10m0s (JOB_TIMEOUT)); process group killed: " + tail:  ReasonTimedOut,
		"fastsdcpu-warm: loading the model failed: model load longer than JOB_TIMEOUT=10m0s":                 ReasonTimedOut,
		"fastsdcpu exit status 1: " + tail + "ValueError: a room with a view":                                ReasonGenerator,
		"fastsdcpu-warm: " + tail + "KeyError: 'unet'":                                                       ReasonGenerator,
		"placeholder made 1 images, want 2":                                                                  ReasonGenerator,
		"panic: runtime error: index out of range":                                                           ReasonGenerator,
		"malformed job message: invalid character 'x'":                                                       ReasonBadInput,
		"invalid job: prompt: is required":                                                                   ReasonBadInput,
		"exit status 1 (try 3)":                                                                              ReasonGenerator,
		"back in the queue: stopped by shutdown during generation":                                           ReasonWorkerStopped,
		"back in the queue: store unreachable: dial tcp 10.0.0.5:9000: connect: connection refused":          ReasonStore,
		"delivery_limit":                         ReasonGaveUp,
		"its worker was lost; back in the queue": ReasonWorkerLost,
		"delivery limit (DELIVERY_LIMIT=10) reached: back in the queue: stopped by shutdown during generation": ReasonGaveUp,
		"cancelled by the user": ReasonCancelled,
	}
	for reason, want := range cases {
		got := ClassifyReason(reason)
		if got != want {
			t.Errorf("%q: %q, want %q", reason, got, want)
		}
		if text := got.Text(); reason != "" && (text == "" || strings.Contains(text, "Traceback") || len(text) > 80) {
			t.Errorf("%q: text %q", reason, text)
		}
	}
}
