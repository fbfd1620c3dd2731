package deploy

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// repoRoot is the product's repository: the parent of this module.
func repoRoot(t testing.TB) string {
	t.Helper()
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// kustomizeRoots are the folders under deploy/ that kubectl apply -k
// takes, found on disk so that a new overlay is checked without being
// listed: every kustomization that is not a Component.
func kustomizeRoots(t testing.TB) []string {
	t.Helper()
	var roots []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "controlplane" || (path != "." && strings.HasPrefix(d.Name(), "."))) {
			return filepath.SkipDir
		}
		switch d.Name() {
		case "kustomization.yaml", "kustomization.yml", "Kustomization":
		default:
			return nil
		}
		if !strings.Contains(readFile(t, path), "kind: Component") {
			roots = append(roots, filepath.Dir(path))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(roots)
	return roots
}

// appOverlays are the overlays that run the product (the app plus one worker
// mode): the kustomize roots under overlays/, found on disk.
func appOverlays(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, dir := range kustomizeRoots(t) {
		if strings.HasPrefix(dir, "overlays/") {
			out = append(out, dir)
		}
	}
	if len(out) == 0 {
		t.Fatal("no overlays under deploy/overlays")
	}
	return out
}

// object is one rendered resource, kept both raw and as a generic map.
type object struct {
	Raw  []byte
	Map  map[string]any
	Kind string
	API  string
	Name string
}

func (o object) String() string { return o.API + "/" + o.Kind + "/" + o.Name }

var (
	renderMu    sync.Mutex
	renderCache = map[string][]object{}
)

// render builds deploy/<dir> with the kustomize library (what kubectl -k runs).
func render(t testing.TB, dir string) []object {
	t.Helper()
	renderMu.Lock()
	defer renderMu.Unlock()
	if objs, ok := renderCache[dir]; ok {
		return objs
	}
	objs := renderPath(t, filepath.Join(".", dir))
	renderCache[dir] = objs
	return objs
}

// renderPath builds the kustomization at path with the kustomize library.
func renderPath(t testing.TB, path string) []object {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	resMap, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), path)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", path, err)
	}
	var objs []object
	for _, r := range resMap.Resources() {
		raw, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		objs = append(objs, object{Raw: raw, Map: m, Kind: r.GetKind(), API: r.GetApiVersion(), Name: r.GetName()})
	}
	return objs
}

// get walks a generic map along keys; ints index lists.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// podSpec is the pod template of a Deployment, StatefulSet, Job or KEDA ScaledJob.
func podSpec(o object) map[string]any {
	var spec any
	switch o.Kind {
	case "Deployment", "StatefulSet", "Job":
		spec = get(o.Map, "spec", "template", "spec")
	case "ScaledJob":
		spec = get(o.Map, "spec", "jobTargetRef", "template", "spec")
	}
	m, _ := spec.(map[string]any)
	return m
}

// container is one container with the object it came from.
type container struct {
	Owner object
	Map   map[string]any
}

func (c container) Name() string  { return str(c.Map["name"]) }
func (c container) Image() string { return str(c.Map["image"]) }

// imageRepo drops the tag and digest: ghcr.io/x/y:tag@sha256:... -> ghcr.io/x/y.
func imageRepo(image string) string {
	if i := strings.Index(image, "@"); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		image = image[:i]
	}
	return image
}

func containers(objs []object) []container {
	var out []container
	for _, o := range objs {
		spec := podSpec(o)
		for _, key := range []string{"initContainers", "containers"} {
			for _, c := range list(spec[key]) {
				if m, ok := c.(map[string]any); ok {
					out = append(out, container{Owner: o, Map: m})
				}
			}
		}
	}
	return out
}

func find(objs []object, kind, name string) (object, bool) {
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			return o, true
		}
	}
	return object{}, false
}

// runMake runs make in the repository root and returns its standard output.
func runMake(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory", "-C", repoRoot(t)}, args...)...)
	// The tests pass every variable they mean on the command line; the
	// caller's environment must not change the defaults.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "GPU", "LOCAL", "TAG", "REGISTRY", "WEBUI_IMAGE", "WORKER_IMAGE",
			"PLATFORMS", "WORKER_PLATFORMS", "PROMPT", "NUM_IMAGES", "GENERATOR", "FASTSDCPU_DIR", "MODE", "HOST", "ISSUER":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// configEnvNames are the environment variables the programs read: every
// ALL_CAPS string literal in ../internal/config (the config package names
// each variable once, as a literal).
func configEnvNames(t testing.TB) map[string]bool {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "internal", "config")
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	lit := regexp.MustCompile("\"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Z]{4,})\"")
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		for _, m := range lit.FindAllStringSubmatch(readFile(t, f), -1) {
			names[m[1]] = true
		}
	}
	if len(names) == 0 {
		t.Fatalf("no environment variable names found in %s: the programs' configuration is missing", dir)
	}
	return names
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
