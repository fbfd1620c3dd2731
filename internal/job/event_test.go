package job

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRunningEventWithPhaseAndSeedRoundTrips(t *testing.T) {
	t.Parallel()
	seed := int64(4242)
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	e := Event{ID: "j", State: Started, Phase: PhaseLoading, Attempt: 1, Worker: "w1", Seed: &seed, At: at}
	got, err := DecodeEvent(e.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("got %+v, want %+v", got, e)
	}
	if got.IsWorker() {
		t.Fatal("a job's event reads as a worker's")
	}
}

func TestDoneEventCarriesDurations(t *testing.T) {
	t.Parallel()
	e := Event{ID: "j", State: Done, Durations: map[string]float64{
		DurationQueueWait: 0.25, DurationModelLoad: 5, DurationGeneration: 0.2, DurationUpload: 0.01}}
	body := string(e.Encode())
	for _, want := range []string{`"durations":{`, `"queue_wait":0.25`, `"model_load":5`, `"generation":0.2`, `"upload":0.01`} {
		if !strings.Contains(body, want) {
			t.Errorf("%s lacks %s", body, want)
		}
	}
	got, err := DecodeEvent([]byte(body))
	if err != nil || !reflect.DeepEqual(got.Durations, e.Durations) {
		t.Fatalf("got %+v, %v", got.Durations, err)
	}
}

// A worker event has no state: an old consumer that switches on State sees
// nothing it knows and ignores it.
func TestWorkerEventWireForm(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	e := Event{Kind: KindWorker, Worker: "w1", WorkerState: WorkerBusy, ID: "j", Generator: "fastsdcpu-warm", At: at}
	var wire map[string]any
	if err := json.Unmarshal(e.Encode(), &wire); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"id": "j", "state": "", "kind": "worker", "worker": "w1",
		"worker_state": "busy", "generator": "fastsdcpu-warm", "at": "2026-11-28T12:00:00Z"}
	if !reflect.DeepEqual(wire, want) {
		t.Fatalf("wire form %v, want %v", wire, want)
	}
	got, err := DecodeEvent(e.Encode())
	if err != nil || !got.IsWorker() || got.WorkerState != WorkerBusy || got.State != "" {
		t.Fatalf("got %+v, %v", got, err)
	}
}

// Events from before the contract (and from a newer producer with fields we
// do not know) still decode.
func TestEventDecodingIsBackwardsCompatible(t *testing.T) {
	t.Parallel()
	old := `{"id":"j","state":"running","worker":"w","attempt":1,"at":"2026-11-28T12:00:00Z"}`
	e, err := DecodeEvent([]byte(old))
	if err != nil || e.State != Started || e.Phase != "" || e.Kind != "" || e.Durations != nil || e.Seed != nil {
		t.Fatalf("got %+v, %v", e, err)
	}
	newer := `{"id":"j","state":"running","phase":"sharpening","future":{"x":1},"at":"2026-11-28T12:00:00Z"}`
	e, err = DecodeEvent([]byte(newer))
	if err != nil || e.Phase.Order() != 0 {
		t.Fatalf("got %+v, %v", e, err)
	}
}

func TestPhaseOrder(t *testing.T) {
	t.Parallel()
	if !(PhaseLoading.Order() < PhaseGenerating.Order() && PhaseGenerating.Order() < PhaseUploading.Order()) {
		t.Fatal("phases out of order")
	}
	if PhaseLoading.Order() == 0 || Phase("").Order() != 0 {
		t.Fatal("known phases must rank above unknown ones")
	}
}
