package deploy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// What deploy/scripts/overlay.sh makes of the committed kustomizations: the
// deploy targets apply its wrapper, so the tests render that wrapper, for
// every app overlay and every combination of components.

// overlayEnv is what deploy.mk passes to overlay.sh.
type overlayEnv struct {
	WebuiImage, WorkerImage, Tag, WorkerTag, PullSecret, Components string
}

// defaults are deploy.mk's values for GPU="" (the worker tag gains -cuda with GPU=1).
func defaultEnv(dir string) overlayEnv {
	e := overlayEnv{WebuiImage: webuiImage, WorkerImage: workerImage, Tag: "latest", WorkerTag: "latest"}
	if strings.HasSuffix(dir, "-gpu") {
		e.WorkerTag = "latest-cuda"
	}
	return e
}

func (e overlayEnv) environ() []string {
	return append(os.Environ(), "WEBUI_IMAGE="+e.WebuiImage, "WORKER_IMAGE="+e.WorkerImage, "TAG="+e.Tag,
		"WORKER_TAG="+e.WorkerTag, "IMAGE_PULL_SECRET="+e.PullSecret, "COMPONENTS="+e.Components)
}

// runOverlay runs overlay.sh with verb and dir; it returns its output and error.
func runOverlay(t testing.TB, e overlayEnv, verb, dir string) (string, string, error) {
	t.Helper()
	cmd := exec.Command("bash", filepath.Join("scripts", "overlay.sh"), verb, dir)
	cmd.Env = e.environ()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

var (
	wrappedMu    sync.Mutex
	wrappedCache = map[string][]object{}
)

// renderWrapped renders deploy/dir as `make` applies it with e.
func renderWrapped(t testing.TB, dir string, e overlayEnv) []object {
	t.Helper()
	key := fmt.Sprintf("%s %+v", dir, e)
	wrappedMu.Lock()
	defer wrappedMu.Unlock()
	if objs, ok := wrappedCache[key]; ok {
		return objs
	}
	out, stderr, err := runOverlay(t, e, "write", dir)
	if err != nil {
		t.Fatalf("overlay.sh write %s: %v\n%s", dir, err, stderr)
	}
	wrap := strings.TrimSpace(out)
	defer os.RemoveAll(wrap)
	objs := renderPath(t, wrap)
	wrappedCache[key] = objs
	return objs
}

// componentSets are the combinations of the optional components (those no
// committed kustomization includes, found on disk) that deploy.mk can ask
// for, none included.
func componentSets(t testing.TB) []string {
	t.Helper()
	optional := optionalComponents(t)
	var sets []string
	for mask := range 1 << len(optional) {
		var comps []string
		for i, c := range optional {
			if mask&(1<<i) != 0 {
				comps = append(comps, c)
			}
		}
		sets = append(sets, strings.Join(comps, " "))
	}
	return sets
}

// Every app overlay with every combination of components renders and
// decodes strictly; so does base (what deploy-app applies).
func TestWrappedOverlaysDecodeStrictly(t *testing.T) {
	for _, dir := range append([]string{"base"}, appOverlays(t)...) {
		for _, comps := range componentSets(t) {
			e := defaultEnv(dir)
			e.Components = comps
			name := strings.ReplaceAll(dir+"+"+strings.ReplaceAll(comps, " ", "+"), "/", "_")
			t.Run(name, func(t *testing.T) {
				objs := renderWrapped(t, dir, e)
				for _, o := range objs {
					for _, p := range decodeStrict(o.Raw, o.API, o.Kind) {
						t.Errorf("deploy/%s with [%s]: %s: %s", dir, comps, o, p)
					}
				}
			})
		}
	}
}

// The defaults change nothing: what the committed overlays name is what runs.
func TestWrapperDefaultsKeepTheOverlays(t *testing.T) {
	for _, dir := range append([]string{"base"}, appOverlays(t)...) {
		plain, wrapped := render(t, dir), renderWrapped(t, dir, defaultEnv(dir))
		if len(plain) != len(wrapped) {
			t.Fatalf("deploy/%s: %d objects, wrapped with the defaults %d", dir, len(plain), len(wrapped))
		}
		for i := range plain {
			if string(plain[i].Raw) != string(wrapped[i].Raw) {
				t.Errorf("deploy/%s: %s differs when wrapped with the defaults:\n%s\nvs\n%s", dir, plain[i], plain[i].Raw, wrapped[i].Raw)
			}
		}
	}
}

// REGISTRY/TAG (and GPU's -cuda) decide the images of every pod of ours;
// IMAGE_PULL_SECRET reaches every one of those pods, and only those.
func TestWrapperSetsImagesAndPullSecret(t *testing.T) {
	for _, dir := range append([]string{"base"}, appOverlays(t)...) {
		for _, secret := range []string{"", "ghcr-pull"} {
			e := overlayEnv{WebuiImage: "registry.example.com/team/webui", WorkerImage: "registry.example.com/team/worker",
				Tag: "v9.1.0", WorkerTag: "v9.1.0", PullSecret: secret, Components: "ha gke"}
			if strings.HasSuffix(dir, "-gpu") {
				e.WorkerTag = "v9.1.0-cuda"
			}
			objs := renderWrapped(t, dir, e)
			webui, worker := 0, 0
			for _, c := range containers(objs) {
				want := ""
				switch imageRepo(c.Image()) {
				case "registry.example.com/team/webui":
					webui++
					want = e.WebuiImage + ":" + e.Tag
				case "registry.example.com/team/worker":
					worker++
					want = e.WorkerImage + ":" + e.WorkerTag
				default:
					t.Errorf("deploy/%s: %s runs %s, not an image chosen by REGISTRY/TAG", dir, c.Owner, c.Image())
					continue
				}
				if c.Image() != want {
					t.Errorf("deploy/%s: %s runs %s, want %s", dir, c.Owner, c.Image(), want)
				}
				var got []string
				for _, s := range list(podSpec(c.Owner)["imagePullSecrets"]) {
					got = append(got, str(get(s, "name")))
				}
				if wantSecrets := map[bool][]string{true: {secret}, false: nil}[secret != ""]; strings.Join(got, ",") != strings.Join(wantSecrets, ",") {
					t.Errorf("deploy/%s IMAGE_PULL_SECRET=%q: %s pulls with %v", dir, secret, c.Owner, got)
				}
			}
			if webui != 1 || (dir != "base" && worker != 1) {
				t.Errorf("deploy/%s: %d webui and %d worker containers run the chosen images", dir, webui, worker)
			}
		}
	}
}

func TestWrapperRefusesBadValues(t *testing.T) {
	good := overlayEnv{WebuiImage: webuiImage, WorkerImage: workerImage, Tag: "v1", WorkerTag: "v1"}
	cases := []struct {
		change func(*overlayEnv)
		dir    string
		want   string
	}{
		{func(e *overlayEnv) { e.Tag = "v1 --dry-run" }, "base", "TAG=v1 --dry-run is not an image tag"},
		{func(e *overlayEnv) { e.WorkerImage = "ghcr.io/sdkeda/worker:tag" + "\n" }, "base", "WORKER_IMAGE="},
		{func(e *overlayEnv) { e.WebuiImage = "Ghcr.io/UPPER" }, "base", "WEBUI_IMAGE=Ghcr.io/UPPER is not an image repository"},
		{func(e *overlayEnv) { e.PullSecret = "Bad_Name" }, "base", "IMAGE_PULL_SECRET=Bad_Name is not a Secret name"},
		{func(e *overlayEnv) { e.Components = "ha nosuch" }, "base", "no component deploy/components/nosuch"},
		{func(*overlayEnv) {}, "overlays/nosuch", "deploy/overlays/nosuch has no kustomization.yaml"},
	}
	before := wrappers(t)
	for _, c := range cases {
		e := good
		c.change(&e)
		out, stderr, err := runOverlay(t, e, "write", c.dir)
		if err == nil || !strings.Contains(stderr, c.want) {
			t.Errorf("overlay.sh with %+v on %s: err %v, stderr %q, stdout %q; want a refusal naming %q", e, c.dir, err, stderr, out, c.want)
		}
	}
	if after := wrappers(t); len(after) != len(before) {
		t.Errorf("a refused run left a wrapper behind: %v", after)
	}
}

// wrappers lists the temporary kustomizations overlay.sh left under deploy/.
func wrappers(t testing.TB) []string {
	m, err := filepath.Glob(".overlay.*")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

// make passes its variables to overlay.sh as the script reads them.
func TestMakePassesOverlayVariables(t *testing.T) {
	out := runMake(t, "-n", "deploy-scaledjob", "REGISTRY=registry.example.com/team", "TAG=v2", "GPU=1", "HA=1", "GKE=yes", "IMAGE_PULL_SECRET=ghcr-pull")
	for _, want := range []string{"WEBUI_IMAGE=registry.example.com/team/stable-diffusion-webui", "WORKER_IMAGE=registry.example.com/team/stable-diffusion-worker",
		"TAG=v2 ", "WORKER_TAG=v2-cuda ", "IMAGE_PULL_SECRET=ghcr-pull ", `COMPONENTS="ha gke"`, "bash deploy/scripts/overlay.sh apply overlays/scaledjob-gpu"} {
		if !strings.Contains(out, want) {
			t.Errorf("make -n deploy-scaledjob ... does not pass %q:\n%s", want, out)
		}
	}
	for _, off := range []string{"HA=0", "HA=off"} {
		if out := runMake(t, "-n", "deploy-app", off, "GKE=false"); !strings.Contains(out, `COMPONENTS=""`) {
			t.Errorf("make -n deploy-app %s GKE=false still adds components:\n%s", off, out)
		}
	}
}
