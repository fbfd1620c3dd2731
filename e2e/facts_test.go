package e2e

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

// dist summarizes a sample (milliseconds, jobs per second, ...).
type dist struct {
	N                       int
	Min, P50, P95, P99, Max float64
	Mean                    float64
	sorted                  []float64
}

func summarize(xs []float64) dist {
	if len(xs) == 0 {
		return dist{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	var sum float64
	for _, x := range s {
		sum += x
	}
	return dist{N: len(s), Min: s[0], P50: percentile(s, 50), P95: percentile(s, 95),
		P99: percentile(s, 99), Max: s[len(s)-1], Mean: sum / float64(len(s)), sorted: s}
}

// percentile is the nearest-rank percentile of a sorted sample.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// envInt reads a positive whole number from the environment, else def.
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s: want a positive whole number, got %q", name, v)
	}
	return n
}

// machine is what the figures were measured on.
type machine struct {
	CPU      string
	Cores    string // nproc
	Memory   string
	Go       string
	Kernel   string
	RabbitMQ string
	MinIO    string
}

// machineFacts reads the machine from /proc and asks the servers their
// versions; a fact that cannot be had is "unknown".
func machineFacts(rabbitURL string) machine {
	m := machine{CPU: "unknown", Cores: strconv.Itoa(runtime.NumCPU()), Memory: "unknown",
		Go: runtime.Version(), Kernel: "unknown", RabbitMQ: "unknown", MinIO: "unknown"}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if out, err := exec.Command("nproc").Output(); err == nil {
		m.Cores = strings.TrimSpace(string(out))
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		if kb, err := strconv.Atoi(strings.TrimSuffix(v, " kB")); err == nil {
			m.Memory = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = "Linux " + strings.TrimSpace(string(b))
	}
	if conn, err := amqp.Dial(rabbitURL); err == nil {
		if v, ok := conn.Properties["version"].(string); ok {
			m.RabbitMQ = v
		}
		conn.Close()
	}
	if bin := testenv.MinioBinary(); bin != "" {
		m.MinIO = moduleVersion(bin)
	}
	return m
}

// procField returns the value of the first "name : value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadAverage is the 1, 5 and 15 minute load average.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " / ")
}

// moduleVersion is the main module and version a Go binary was built from
// (`go install github.com/minio/minio@...` reports no release of its own).
func moduleVersion(bin string) string {
	out, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "mod" {
			return f[1] + "@" + f[2]
		}
	}
	return "unknown"
}
