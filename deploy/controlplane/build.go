package controlplane

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binaries are the programs of a control plane, built from the pinned
// modules in tools/ (each a module of its own: go.mod + go.sum pin every
// dependency).
type Binaries struct {
	Etcd, APIServer, ControllerManager, KEDA string
	Kubernetes, KEDAVersion, EtcdVersion     string // the pinned versions
	KEDACRDs                                 string // KEDA's CRD folder in the module cache
}

// tool is one program built from tools/<dir>.
type tool struct {
	dir, module, pkg, bin string
	ldflags               func(version string) string
}

var (
	etcdTool = tool{dir: "etcd", module: "go.etcd.io/etcd/server/v3", pkg: "go.etcd.io/etcd/server/v3", bin: "etcd"}
	// Without the version in the binary the server reports
	// v0.0.0-master+$Format:%H$, which clients cannot parse.
	k8sLdflags = func(v string) string {
		major, minor, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
		minor, _, _ = strings.Cut(minor, ".")
		var b strings.Builder
		for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
			fmt.Fprintf(&b, "-X %[1]s.gitVersion=%[2]s -X %[1]s.gitMajor=%[3]s -X %[1]s.gitMinor=%[4]s ", pkg, v, major, minor)
		}
		return strings.TrimSpace(b.String())
	}
	apiserverTool = tool{dir: "kubernetes", module: "k8s.io/kubernetes", pkg: "k8s.io/kubernetes/cmd/kube-apiserver", bin: "kube-apiserver", ldflags: k8sLdflags}
	kcmTool       = tool{dir: "kubernetes", module: "k8s.io/kubernetes", pkg: "k8s.io/kubernetes/cmd/kube-controller-manager", bin: "kube-controller-manager", ldflags: k8sLdflags}
	kedaTool      = tool{dir: "keda", module: "github.com/kedacore/keda/v2", pkg: "github.com/kedacore/keda/v2/cmd/operator", bin: "keda-operator",
		ldflags: func(v string) string { return "-X=github.com/kedacore/keda/v2/version.Version=" + v }}
)

// CacheDir is where built binaries are kept between runs, outside the
// repository (CI runs in a clean clone): $SDKEDA_K8S_CACHE, else
// <user cache dir>/sdkeda-k8s.
func CacheDir() (string, error) {
	if d := os.Getenv("SDKEDA_K8S_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache dir: %w (set SDKEDA_K8S_CACHE)", err)
	}
	return filepath.Join(d, "sdkeda-k8s"), nil
}

// Build returns the control plane's binaries, building the missing ones
// one after another (each takes up to ~3 GB while it builds). toolsDir is
// this package's tools/ folder.
func Build(t testing.TB, toolsDir string) Binaries {
	t.Helper()
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(toolsDir)
	if err != nil {
		t.Fatal(err)
	}
	var b Binaries
	for _, x := range []struct {
		tool    tool
		path    *string
		version *string
	}{
		{etcdTool, &b.Etcd, &b.EtcdVersion},
		{apiserverTool, &b.APIServer, &b.Kubernetes},
		{kcmTool, &b.ControllerManager, nil},
		{kedaTool, &b.KEDA, &b.KEDAVersion},
	} {
		path, version, err := x.tool.build(t, filepath.Join(abs, x.tool.dir), cache)
		if err != nil {
			t.Fatalf("build %s: %v", x.tool.bin, err)
		}
		*x.path = path
		if x.version != nil {
			*x.version = version
		}
	}
	dir, err := moduleDir(filepath.Join(abs, kedaTool.dir), kedaTool.module)
	if err != nil {
		t.Fatalf("KEDA's CRDs: %v", err)
	}
	b.KEDACRDs = filepath.Join(dir, "config", "crd", "bases")
	return b
}

// build returns the cached binary of the tool, building it first when the
// cache has none for this version, go.mod, go.sum and Go toolchain. A lock
// file makes a second test process (another engineer, another package)
// wait for the build instead of doing it twice.
func (tl tool) build(t testing.TB, dir, cache string) (path, version string, err error) {
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", "", err
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		return "", "", err
	}
	version = requiredVersion(mod, tl.module)
	if version == "" {
		return "", "", fmt.Errorf("%s/go.mod does not require %s", dir, tl.module)
	}
	ldflags := ""
	if tl.ldflags != nil {
		ldflags = tl.ldflags(version)
	}
	goenv, err := exec.Command("go", "env", "GOVERSION", "GOOS", "GOARCH").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env: %w", err)
	}
	h := sha256.New()
	for _, part := range [][]byte{mod, sum, []byte(tl.pkg), []byte(ldflags), goenv} {
		h.Write(part)
		h.Write([]byte{0})
	}
	key := fmt.Sprintf("%s-%s-%s", tl.bin, version, hex.EncodeToString(h.Sum(nil))[:12])
	path = filepath.Join(cache, key, tl.bin)
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", "", err
	}
	lock, err := os.OpenFile(filepath.Join(cache, key+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		return path, version, nil
	}
	t.Logf("building %s %s into %s (cold: minutes, ~3 GB of memory)", tl.bin, version, filepath.Dir(path))
	start := time.Now()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", "", err
	}
	tmp := path + ".tmp"
	cmd := exec.Command("go", "build", "-ldflags="+ldflags, "-o", tmp, tl.pkg)
	cmd.Dir = dir
	// The pinned go.sum decides; a go.work elsewhere must not.
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", "", fmt.Errorf("go build %s: %w\n%s", tl.pkg, err, out.String())
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", "", err
	}
	t.Logf("built %s %s in %s", tl.bin, version, time.Since(start).Round(time.Second))
	return path, version, nil
}

// requiredVersion finds "module vX" in a go.mod's require lines.
func requiredVersion(gomod []byte, module string) string {
	re := regexp.MustCompile(`(?m)^(?:require)?\s+` + regexp.QuoteMeta(module) + `\s+(v\S+)`)
	if m := re.FindSubmatch(gomod); m != nil {
		return string(m[1])
	}
	return ""
}

// moduleDir is the module cache folder of a dependency of the module in
// dir, downloaded if need be.
func moduleDir(dir, module string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", module, err)
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(out, &m); err != nil {
		return "", err
	}
	if m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", module, m.Error)
	}
	return m.Dir, nil
}
