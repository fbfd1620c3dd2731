package worker

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sdkeda/sdkeda/internal/config"
)

// Choice shapes how ChooseGenerator reads an unset GENERATOR and whom the
// checkout belongs to.
type Choice struct {
	// Unset is the fastsdcpu generator an unset GENERATOR takes when
	// FASTSDCPU_DIR is a checkout: the warm one where a process serves many
	// jobs (the embedded webui), the CLI for one local run.
	Unset string
	// OwnCheckout: the worker owns results/ and deletes leftovers of
	// crashed runs there; false for a person's own checkout.
	OwnCheckout bool
}

// ChooseGenerator is the one place that turns the generator configuration
// into a Generator: the worker program, `worker generate` and the webui's
// embedded worker all call it. why says what was chosen and why, for a
// banner or a log line. Naming fastsdcpu or fastsdcpu-warm without a
// checkout is an error, never a silent placeholder.
func ChooseGenerator(cfg config.Generator, c Choice) (g Generator, why string, err error) {
	name := cfg.Name
	app := filepath.Join(cfg.FastSDCPUDir, "src", "app.py")
	_, statErr := os.Stat(app)
	if name == "" {
		if statErr != nil {
			return Placeholder{}, fmt.Sprintf("no model: FASTSDCPU_DIR=%s has no src/app.py; set it to a fastsdcpu checkout for real images", cfg.FastSDCPUDir), nil
		}
		name = c.Unset
		if name == "" {
			name = config.GeneratorCLI
		}
	}
	switch name {
	case config.GeneratorPlaceholder:
		return Placeholder{}, "GENERATOR=placeholder: no model", nil
	case config.GeneratorCLI, config.GeneratorWarm:
		if statErr != nil {
			return nil, "", fmt.Errorf("worker: GENERATOR=%s but FASTSDCPU_DIR=%s is not a fastsdcpu checkout (no src/app.py); "+
				"point FASTSDCPU_DIR at one, or set GENERATOR=placeholder", name, cfg.FastSDCPUDir)
		}
		why = fmt.Sprintf("in %s, DEVICE=%s", cfg.FastSDCPUDir, cfg.Device)
		if name == config.GeneratorWarm {
			return NewWarm(cfg, c.OwnCheckout), why + ", the model loaded once and kept", nil
		}
		return &FastSDCPU{Dir: cfg.FastSDCPUDir, Python: cfg.Python, Device: cfg.Device,
			SafetyChecker: cfg.UseSafetyChecker, LCMModelID: cfg.LCMModelID, CleanLeftovers: c.OwnCheckout}, why, nil
	}
	return nil, "", fmt.Errorf("worker: GENERATOR: unknown generator %q (want fastsdcpu, fastsdcpu-warm or placeholder)", name)
}
