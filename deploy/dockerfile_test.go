package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// fastsdcpuCommit is the upstream commit the old system vendored (docs/design.md §3).
const fastsdcpuCommit = "1a54232d16663803f0d1d121ec00567c9bc129b6"

var dockerfiles = []string{"Dockerfile.webui", "Dockerfile.worker"}

// parsedDockerfile is a Dockerfile parsed by BuildKit's own parser.
type parsedDockerfile struct {
	Name     string
	Stages   []instructions.Stage
	MetaArgs []instructions.ArgCommand
}

func parseDockerfile(t testing.TB, name string) parsedDockerfile {
	t.Helper()
	src := readFile(t, filepath.Join(repoRoot(t), name))
	res, err := parser.Parse(strings.NewReader(src))
	if err != nil {
		t.Fatalf("%s: parse: %v", name, err)
	}
	stages, metaArgs, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("%s: instructions: %v", name, err)
	}
	return parsedDockerfile{Name: name, Stages: stages, MetaArgs: metaArgs}
}

// globalArgs are the defaults of the ARGs declared before the first FROM.
func (d parsedDockerfile) globalArgs() map[string]string {
	args := map[string]string{}
	for _, a := range d.MetaArgs {
		for _, kv := range a.Args {
			if kv.Value != nil {
				args[kv.Key] = *kv.Value
			}
		}
	}
	return args
}

func (d parsedDockerfile) final() instructions.Stage { return d.Stages[len(d.Stages)-1] }

// lintDockerfile runs what `docker build --check` runs, over all stages;
// base images resolve to an empty linux/amd64 image instead of a registry.
func lintDockerfile(t testing.TB, name string, dt []byte) []string {
	t.Helper()
	sm := llb.NewSourceMap(nil, name, "Dockerfile", dt)
	sm.Definition = &llb.Definition{}
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:      sm,
		MetaResolver:   offlineResolver{},
		TargetPlatform: &ocispecs.Platform{OS: "linux", Architecture: "amd64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var problems []string
	for _, w := range res.Warnings {
		line := 0
		if len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		problems = append(problems, fmt.Sprintf("%s:%d: %s: %s", name, line, w.RuleName, w.Detail))
	}
	if res.Error != nil {
		problems = append(problems, name+": "+res.Error.Message)
	}
	return problems
}

func TestDockerfilesLint(t *testing.T) {
	for _, name := range dockerfiles {
		for _, p := range lintDockerfile(t, name, []byte(readFile(t, filepath.Join(repoRoot(t), name)))) {
			t.Error(p)
		}
	}
}

func TestLintCatchesMistakes(t *testing.T) {
	bad := "FROM golang:1.26 as build\nENV A 1\nFROM scratch\nCOPY --from=build /x /x\n"
	got := strings.Join(lintDockerfile(t, "bad", []byte(bad)), "\n")
	for _, rule := range []string{"FromAsCasing", "LegacyKeyValueFormat"} {
		if !strings.Contains(got, rule) {
			t.Errorf("lint of a bad Dockerfile does not report %s; got:\n%s", rule, got)
		}
	}
}

// offlineResolver answers every base image with an empty linux/amd64 image:
// the lint needs no network.
type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	cfg := []byte(`{"architecture":"amd64","os":"linux","config":{}}`)
	return ref, digest.FromBytes(cfg), cfg, nil
}

func TestDockerfilesCopySourcesExist(t *testing.T) {
	root := repoRoot(t)
	var ignore []string
	if f, err := os.Open(filepath.Join(root, ".dockerignore")); err == nil {
		ignore, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	pm, err := patternmatcher.New(ignore)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range dockerfiles {
		d := parseDockerfile(t, name)
		for _, st := range d.Stages {
			for _, cmd := range st.Commands {
				c, ok := cmd.(*instructions.CopyCommand)
				if !ok || c.From != "" {
					continue // COPY --from copies from a stage, not the build context.
				}
				for _, src := range c.SourcePaths {
					rel := filepath.Clean(strings.TrimPrefix(src, "/"))
					if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
						t.Errorf("%s: stage %q: COPY source %q does not exist in the repository (the build context)", name, st.Name, src)
						continue
					}
					if rel != "." {
						if ignored, _ := pm.MatchesOrParentMatches(rel); ignored {
							t.Errorf("%s: stage %q: COPY source %q is excluded by .dockerignore", name, st.Name, src)
						}
					}
				}
			}
		}
	}
}

func TestDockerfilesRunAsNonRoot(t *testing.T) {
	for _, name := range dockerfiles {
		d := parseDockerfile(t, name)
		user := ""
		for _, cmd := range d.final().Commands {
			if u, ok := cmd.(*instructions.UserCommand); ok {
				user = u.User
			}
		}
		switch uid, _, _ := strings.Cut(user, ":"); uid {
		case "":
			t.Errorf("%s: the final stage %q sets no USER: it would run as root", name, d.final().Name)
		case "0", "root":
			t.Errorf("%s: the final stage %q runs as USER %s", name, d.final().Name, user)
		}
		if _, ok := d.final().Commands[len(d.final().Commands)-1].(*instructions.EntrypointCommand); !ok {
			t.Errorf("%s: the final stage %q should end with its ENTRYPOINT", name, d.final().Name)
		}
	}
}

// Every base image is pinned: a tag that names a version, never latest or none.
func TestDockerfilesPinBaseImages(t *testing.T) {
	for _, name := range dockerfiles {
		d := parseDockerfile(t, name)
		args := d.globalArgs()
		stages := map[string]bool{}
		lex := shell.NewLex('\\')
		for _, st := range d.Stages {
			base, _, err := lex.ProcessWord(st.BaseName, shell.EnvsFromSlice(envList(args)))
			if err != nil {
				t.Fatalf("%s: FROM %s: %v", name, st.BaseName, err)
			}
			if !stages[base] && base != "scratch" {
				repo := imageRepo(base)
				tag := strings.TrimPrefix(strings.TrimPrefix(base, repo), ":")
				if tag == "" || strings.HasPrefix(tag, "latest") {
					t.Errorf("%s: stage %q: base image %q is not pinned to a version", name, st.Name, base)
				}
			}
			stages[st.Name] = true
		}
	}
}

func envList(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// The worker image builds fastsdcpu at the pinned commit, from tweaks/.
func TestWorkerImagePinsFastsdcpu(t *testing.T) {
	got := strings.TrimSpace(readFile(t, filepath.Join(repoRoot(t), "tweaks", "fastsdcpu.commit")))
	if got != fastsdcpuCommit {
		t.Errorf("tweaks/fastsdcpu.commit = %q, want %q", got, fastsdcpuCommit)
	}
	src := readFile(t, filepath.Join(repoRoot(t), "Dockerfile.worker"))
	for _, want := range []string{"tweaks/fastsdcpu.commit", "tweaks/lock/", "tweaks/prefetch_models.py", "HF_HUB_OFFLINE=1",
		"index=cu121", "index=cpu", "https://download.pytorch.org/whl/${index}", "-r /tmp/lock/torch.txt",
		"-r /tmp/lock/common.txt", "-r /tmp/lock/cuda.txt", "pip check"} {
		if !strings.Contains(src, want) {
			t.Errorf("Dockerfile.worker does not mention %q", want)
		}
	}
	// Every pip install takes the lock as it is: --no-deps, requirement files only.
	for _, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "pip install"); i >= 0 {
			if rest := line[i:]; !strings.Contains(rest, "--no-deps -r /tmp/lock/") {
				t.Errorf("Dockerfile.worker: %q installs something other than the lock with --no-deps", strings.TrimSpace(line))
			}
		}
	}
	d := parseDockerfile(t, "Dockerfile.worker")
	if d.globalArgs()["VARIANT"] != "cpu" {
		t.Errorf("Dockerfile.worker: ARG VARIANT should default to cpu, got %q", d.globalArgs()["VARIANT"])
	}
}

// The CUDA image finds the node's driver where GKE's device plugin mounts it
// (/usr/local/nvidia/lib64), and fastsdcpu's settings file belongs to the
// run user: it is written by a RUN after USER 65532 (a root-owned file makes
// every job's settings save fail with Errno 13).
func TestWorkerImageRuntime(t *testing.T) {
	_, envs := exposed(t, "Dockerfile.worker")
	if !strings.Contains(envs["LD_LIBRARY_PATH"], "/usr/local/nvidia/lib64") {
		t.Errorf("Dockerfile.worker: LD_LIBRARY_PATH=%q does not name /usr/local/nvidia/lib64 (GKE's driver mount)", envs["LD_LIBRARY_PATH"])
	}
	user := ""
	wrote := false
	for _, cmd := range parseDockerfile(t, "Dockerfile.worker").final().Commands {
		switch c := cmd.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			if strings.Contains(line, "AppSettings().load()") {
				wrote = true
				if uid, _, _ := strings.Cut(user, ":"); uid != "65532" {
					t.Errorf("Dockerfile.worker: configs/settings.yaml is written as user %q, want the run user 65532", user)
				}
				if !strings.Contains(line, "test -O configs/settings.yaml") {
					t.Error("Dockerfile.worker: the settings write does not check that the run user owns configs/settings.yaml")
				}
			}
		}
	}
	if !wrote {
		t.Error("Dockerfile.worker: the final stage does not write fastsdcpu's configs/settings.yaml")
	}
}
