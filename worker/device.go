package worker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
)

// cudaProbe asks the generator's Python whether torch can use CUDA. It
// prints torch's version, the CUDA version torch was built for and the
// number of devices, and exits 3 when none is usable.
const cudaProbe = `import sys, torch
n = torch.cuda.device_count() if torch.cuda.is_available() else 0
print("torch %s, built for CUDA %s, %d device(s)" % (torch.__version__, torch.version.cuda, n))
sys.exit(0 if n > 0 else 3)`

// probeTimeout bounds the probe: importing torch takes seconds, not minutes.
const probeTimeout = 2 * time.Minute

// checkDevice refuses to start a fastsdcpu generator with DEVICE=cuda when
// torch sees no CUDA device (a node without the NVIDIA driver, or with its
// libraries off LD_LIBRARY_PATH): every job would fail otherwise. The
// error is one line that says what to check.
func checkDevice(ctx context.Context, cfg config.Generator, gen Generator) error {
	if !strings.EqualFold(cfg.Device, "cuda") || gen.Name() == config.GeneratorPlaceholder {
		return nil
	}
	python := cfg.Python
	if python == "" {
		python = "python3"
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(pctx, python, "-c", cudaProbe)
	cmd.Dir = cfg.FastSDCPUDir
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	said := strings.Join(strings.Fields(string(out)), " ")
	switch {
	case err == nil:
		return nil
	case cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 3:
		return fmt.Errorf("worker: DEVICE=cuda but torch sees no usable CUDA device (%s): check the node's NVIDIA "+
			"driver and that its libraries are on LD_LIBRARY_PATH (GKE mounts them at /usr/local/nvidia/lib64); not taking jobs", said)
	}
	if len(said) > 300 {
		said = "…" + said[len(said)-300:]
	}
	return fmt.Errorf("worker: DEVICE=cuda but the CUDA probe through %s failed (%v): %s; not taking jobs", python, err, said)
}
