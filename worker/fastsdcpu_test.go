package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/stacktest"
)

// python is the real interpreter behind `python3` (stacktest).
func python(t testing.TB) string { t.Helper(); return stacktest.Python(t) }

// fakeCheckout is a stand-in fastsdcpu checkout of the test's own
// (stacktest): results/ belongs to one checkout.
func fakeCheckout(t testing.TB) string { t.Helper(); return stacktest.FakeFastSDCPU(t, "") }

func fakeCLI(t *testing.T, env ...string) (*FastSDCPU, string) {
	t.Helper()
	argv := filepath.Join(t.TempDir(), "argv.jsonl")
	return &FastSDCPU{Dir: fakeCheckout(t), Python: python(t), Device: "cuda", SafetyChecker: true,
		CleanLeftovers: true, Env: append([]string{"FAKE_SD_ARGV_LOG=" + argv}, env...)}, argv
}

type argvLine struct {
	Argv   []string `json:"argv"`
	Cwd    string   `json:"cwd"`
	Device string   `json:"device"`
	Pid    int      `json:"pid"`
}

func readArgv(t testing.TB, path string) []argvLine {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []argvLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l argvLine
		if err := json.Unmarshal(sc.Bytes(), &l); err == nil {
			out = append(out, l)
		}
	}
	return out
}

func TestFastSDCPUPassesThePromptAsOneArgument(t *testing.T) {
	t.Parallel()
	gen, argv := fakeCLI(t)
	seed, guidance := int64(42), 7.5
	m := job.Message{ID: jobID, Prompt: `-rf "quoted" * $(x)`, Count: 2, Seed: &seed, GuidanceScale: &guidance,
		Width: 640, NegativePrompt: "--blurry"}
	out := t.TempDir()
	res, err := gen.Generate(context.Background(), m, out)
	if err != nil {
		t.Fatal(err)
	}
	lines := readArgv(t, argv)
	if len(lines) != 1 {
		t.Fatalf("%d runs", len(lines))
	}
	want := []string{"src/app.py", `--prompt=-rf "quoted" * $(x)`, "--number_of_images=2", "--use_safety_checker",
		"--negative_prompt=--blurry", "--seed=42", "--image_width=640", "--guidance_scale=7.5"}
	if !slices.Equal(lines[0].Argv, want) {
		t.Errorf("argv:\n got %q\nwant %q", lines[0].Argv, want)
	}
	if lines[0].Device != "cuda" || lines[0].Cwd != gen.Dir {
		t.Errorf("device %q cwd %q", lines[0].Device, lines[0].Cwd)
	}
	if res.Metadata["prompt"] != m.Prompt || res.Metadata["negative_prompt"] != "--blurry" {
		t.Errorf("metadata: %v", res.Metadata)
	}
	// The stand-in writes the keys of a real run at the pinned commit, no
	// more, no less: the example's, but image_seeds (the example comes
	// from a later fastsdcpu, whose "Seeding improvements" added it).
	example := exampleMetadata(t)
	delete(example, "image_seeds")
	for k := range example {
		if _, ok := res.Metadata[k]; !ok {
			t.Errorf("metadata lacks %q", k)
		}
	}
	if len(res.Metadata) != len(example) {
		t.Errorf("metadata has %d keys, a real run %d", len(res.Metadata), len(example))
	}
	// Numbers come back as fastsdcpu wrote them.
	if g := res.Metadata["guidance_scale"]; g != json.Number("7.5") {
		t.Errorf("guidance_scale: %#v", g)
	}
	wantImgs := []string{filepath.Join(out, jobID+"-1.png"), filepath.Join(out, jobID+"-2.png")}
	if !slices.Equal(res.Images, wantImgs) {
		t.Errorf("images: %v", res.Images)
	}
	for _, p := range res.Images {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != 640 || cfg.Height != 512 {
			t.Errorf("%s: %v %dx%d", p, err, cfg.Width, cfg.Height)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(gen.Dir, "results")); len(left) != 0 {
		t.Errorf("results/ not emptied: %d files", len(left))
	}
}

func TestFastSDCPUOmitsUnsetParameters(t *testing.T) {
	t.Parallel()
	gen := &FastSDCPU{}
	got := gen.Args(job.Message{Prompt: "green dog", Count: 1})
	want := []string{"src/app.py", "--prompt=green dog", "--number_of_images=1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	gen.LCMModelID = "rupeshs/sdxs-512-0.9-orig-vae"
	if got := gen.Args(job.Message{Prompt: "x", Count: 1}); got[len(got)-1] != "--lcm_model_id=rupeshs/sdxs-512-0.9-orig-vae" {
		t.Errorf("got %q", got)
	}
}

// Leftovers of a crashed run (even of the same prompt) are never taken for
// this run's output.
func TestFastSDCPUNeverUploadsLeftovers(t *testing.T) {
	t.Parallel()
	for _, clean := range []bool{true, false} {
		gen, _ := fakeCLI(t)
		gen.CleanLeftovers = clean
		old := "11111111-2222-4333-8444-555555555555"
		results := filepath.Join(gen.Dir, "results")
		os.MkdirAll(results, 0o755)
		os.WriteFile(filepath.Join(results, old+"-1.png"), []byte("stale"), 0o644)
		os.WriteFile(filepath.Join(results, old+".json"), []byte(`{"prompt":"x"}`), 0o644)
		os.WriteFile(filepath.Join(results, "settings-note.txt"), []byte("not ours"), 0o644)

		res, err := gen.Generate(context.Background(), job.Message{ID: jobID, Prompt: "x", Count: 1}, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(res.Images[0]); string(b) == "stale" {
			t.Fatal("a leftover was taken for this run's image")
		}
		_, errStale := os.Stat(filepath.Join(results, old+"-1.png"))
		if clean != os.IsNotExist(errStale) {
			t.Errorf("clean=%v: leftover present: %v", clean, errStale == nil)
		}
		if _, err := os.Stat(filepath.Join(results, "settings-note.txt")); err != nil {
			t.Errorf("a file that is not fastsdcpu output was removed")
		}
	}
}

func TestFastSDCPUFailureKeepsTheEndOfStderr(t *testing.T) {
	t.Parallel()
	gen, _ := fakeCLI(t, "FAKE_SD_FAIL=always")
	_, err := gen.Generate(context.Background(), job.Message{ID: jobID, Prompt: "x", Count: 1}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "FAKE_SD_FAIL=always") || !strings.Contains(err.Error(), "exit status 1") {
		t.Fatalf("got %v", err)
	}
}

func TestFastSDCPUKilledMidWayLeavesNoPartialOutput(t *testing.T) {
	t.Parallel()
	// The images are written, then the CLI is stopped before its JSON.
	gen, _ := fakeCLI(t, "FAKE_SD_FAIL=partial")
	gen.Env = append(gen.Env, "FAKE_SD_EXIT=3")
	_, err := gen.Generate(context.Background(), job.Message{ID: jobID, Prompt: "x", Count: 2}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("got %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(gen.Dir, "results")); len(left) != 0 {
		t.Errorf("partial output left in results/: %d files", len(left))
	}
}

func TestFastSDCPUExitZeroWithoutOutputIsAFailure(t *testing.T) {
	t.Parallel()
	gen, _ := fakeCLI(t, "FAKE_SD_FAIL=partial")
	_, err := gen.Generate(context.Background(), job.Message{ID: jobID, Prompt: "x", Count: 2}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "no metadata JSON") {
		t.Fatalf("got %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(gen.Dir, "results")); len(left) != 0 {
		t.Errorf("partial output left in results/: %d files", len(left))
	}
}

func TestFastSDCPUTimeoutKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	pidfile := filepath.Join(t.TempDir(), "child.pid")
	gen, _ := fakeCLI(t, "FAKE_SD_DELAY_MS=60000", "FAKE_SD_CHILD_PIDFILE="+pidfile)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var child int
	go func() {
		waitFor(t, "the CLI's child", func() bool {
			b, _ := os.ReadFile(pidfile)
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			return child > 0
		})
		cancel() // as the job timeout would
	}()
	_, err := gen.Generate(ctx, job.Message{ID: jobID, Prompt: "x", Count: 1}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "process group killed") {
		t.Fatalf("got %v", err)
	}
	waitFor(t, "the child to be gone", func() bool { return gone(child) })
}

// gone reports whether pid no longer runs (a zombie waiting for init counts).
func gone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return len(f) > 0 && (f[0] == "Z" || f[0] == "X")
}

func TestTailKeepsTheLastBytes(t *testing.T) {
	t.Parallel()
	tl := &tail{max: 8}
	tl.Write([]byte("hello "))
	tl.Write([]byte("wonderful world"))
	if got := tl.String(); got != "…ul world" {
		t.Errorf("got %q", got)
	}
}

// ChooseGenerator is the one place that picks the generator: the worker
// program, `worker generate` and the embedded webui.
func TestChooseGenerator(t *testing.T) {
	t.Parallel()
	checkout, empty := fakeCheckout(t), t.TempDir()
	cases := []struct {
		name, generator, dir, unset, want, why string
	}{
		{"nothing set, no checkout", "", empty, "", "placeholder", "has no src/app.py"},
		{"nothing set, a checkout", "", checkout, "", "fastsdcpu", "in " + checkout},
		{"nothing set, a checkout, warm when unset", "", checkout, "fastsdcpu-warm", "fastsdcpu-warm", "model loaded once"},
		{"the CLI asked", "fastsdcpu", checkout, "fastsdcpu-warm", "fastsdcpu", "DEVICE="},
		{"warm asked", "fastsdcpu-warm", checkout, "", "fastsdcpu-warm", "in " + checkout},
		{"placeholder asked", "placeholder", checkout, "", "placeholder", "no model"},
		{"the CLI asked, not a checkout", "fastsdcpu", empty, "", "", "GENERATOR=placeholder"},
		{"warm asked, not a checkout", "fastsdcpu-warm", empty, "", "", "not a fastsdcpu checkout"},
		{"unknown", "dalle", checkout, "", "", "unknown generator"},
	}
	for _, tc := range cases {
		g, why, err := ChooseGenerator(configWith(tc.generator, tc.dir), Choice{Unset: tc.unset})
		if tc.want == "" {
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("%s: got %v, %v; want an error with %q", tc.name, g, err, tc.why)
			}
			continue
		}
		if err != nil || g.Name() != tc.want || !strings.Contains(why, tc.why) {
			t.Errorf("%s: got %v (%q), %v; want %s (%q)", tc.name, g, why, err, tc.want, tc.why)
		}
	}
}

// The CLI loads the model in every run: its job starts in loading_model and
// moves to generating when fastsdcpu prints "Pipeline : ..." after its init.
func TestFastSDCPUReportsTheEndOfTheLoad(t *testing.T) {
	t.Parallel()
	gen, _ := fakeCLI(t, "FAKE_LOAD_MS=300", "FAKE_DELAY_MS=200")
	if !gen.NeedsLoad(job.Message{}) {
		t.Fatal("the CLI says it needs no load")
	}
	var phases []job.Phase
	var mu sync.Mutex
	ctx := withPhases(context.Background(), func(p job.Phase) { mu.Lock(); phases = append(phases, p); mu.Unlock() })
	res, err := gen.Generate(ctx, job.Message{ID: jobID, Prompt: "a fox", Count: 1}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(phases, []job.Phase{job.PhaseGenerating}) {
		t.Errorf("phases %v", phases)
	}
	if res.ModelLoad < 300*time.Millisecond || res.Generation < 200*time.Millisecond {
		t.Errorf("load %s, generation %s", res.ModelLoad, res.Generation)
	}
}
