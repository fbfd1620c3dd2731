package e2e

import (
	"testing"

	"github.com/sdkeda/sdkeda/internal/stacktest"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// TestMain removes the programs stacktest built when the tests end. Every
// test and benchmark here starts RabbitMQ and MinIO of its own
// (stacktest.Own), stopped by its cleanup.
func TestMain(m *testing.M) { testenv.Main(m) }

// binaries builds cmd/webui and cmd/worker once and returns their paths.
func binaries(t testing.TB) (webui, worker string) {
	t.Helper()
	bins := stacktest.Build(t, stacktest.WebUI, stacktest.Worker)
	return bins[0], bins[1]
}
