package deploy

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// manifestSet is one set of manifests a deploy target applies.
type manifestSet struct {
	name string
	objs []object
}

// manifestSets are every kustomize root as committed (kubectl apply -k), and
// every root holding the webui (base, the app overlays) as the deploy targets
// apply it through scripts/overlay.sh: with each combination of the optional
// components (those of deploy/components no committed kustomization
// includes) and a pull secret (IMAGE_PULL_SECRET).
func manifestSets(t *testing.T) []manifestSet {
	t.Helper()
	roots := kustomizeRoots(t)
	if !slices.Contains(roots, "overlays/scaledjob") || !slices.Contains(roots, "overlays/scaledobject") {
		t.Fatalf("kustomize roots %v: the overlays are missing", roots)
	}
	var sets []manifestSet
	for _, dir := range roots {
		objs := render(t, dir)
		sets = append(sets, manifestSet{"deploy/" + dir, objs})
		if _, ok := find(objs, "Deployment", "stable-diffusion-webui"); !ok {
			continue
		}
		for _, comps := range componentSets(t) {
			e := defaultEnv(dir)
			e.Components, e.PullSecret = comps, "regcred"
			sets = append(sets, manifestSet{fmt.Sprintf("deploy/%s COMPONENTS=%q IMAGE_PULL_SECRET=%s", dir, e.Components, e.PullSecret), renderWrapped(t, dir, e)})
		}
	}
	t.Logf("kustomize roots %v; optional components %v: %d sets", roots, optionalComponents(t), len(sets))
	return sets
}

// optionalComponents are the components under deploy/components that no
// committed kustomization includes: the deploy targets add them (HA=1, GKE=1).
func optionalComponents(t testing.TB) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("components", "*", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	_ = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "kustomization.yaml" {
			all.WriteString(readFile(t, path))
		}
		return nil
	})
	var out []string
	for _, f := range dirs {
		name := filepath.Base(filepath.Dir(f))
		if !strings.Contains(all.String(), "components/"+name+"\n") {
			out = append(out, name)
		}
	}
	return out
}

// namespaces are those the manifests name.
func namespaces(sets []manifestSet) []string {
	seen := map[string]bool{}
	for _, set := range sets {
		for _, o := range set.objs {
			if ns := str(get(o.Map, "metadata", "namespace")); ns != "" {
				seen[ns] = true
			}
		}
	}
	return sortedKeys(seen)
}
