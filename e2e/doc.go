// Package e2e holds the end-to-end benchmarks and the fault suite of the
// whole product: the webui and N workers run as real processes (built once
// per test binary with `go build`) against a real RabbitMQ and MinIO on
// loopback, each benchmark with servers of its own (internal/stacktest, the
// harness every whole-stack test uses), and are driven over HTTP and SSE
// like a browser would.
//
//   - BenchmarkPipelineOverhead: POST /api/jobs to the SSE `done` event and
//     to the gallery entry, minus the generator's own time, with 1 and 4
//     workers (the fake fastsdcpu CLI at a fixed delay).
//   - BenchmarkThroughput: jobs per second with the placeholder generator
//     for 1, 2 and 4 workers, and submissions per second with confirms.
//   - BenchmarkBurst: 10,000 submissions as fast as the client can send;
//     every accepted job is stored exactly once, the 503s are counted.
//   - TestFaults: kill -9 of workers, a RabbitMQ restart and MinIO down for
//     10 s during a run; nothing lost, nothing doubled. A short form runs in
//     `go test ./...`; `make chaos` runs the long one (E2E_CHAOS_JOBS=200).
//   - TestTwoWebuis (deploy/components/ha): two webui processes on one
//     RabbitMQ and one MinIO both show every job's status, from queued to
//     done, and every gallery entry, also paging with each other's cursors.
//   - TestRabbitNodeLoss (deploy/rabbitmq-ha): a three-node RabbitMQ
//     cluster (testenv.StartRabbitCluster) behind a stand-in for its Service
//     loses the node leading `tasks` while jobs are queued and running;
//     submissions go on; nothing lost, nothing doubled.
//
// The benchmarks write their figures to docs/benchmarks.md and the numbers
// of its charts to docs/bench-*.json; `make plots` (the last step of `make
// bench`) draws those into docs/bench-*.png with docs/plot, a module of its
// own that keeps the charting libraries out of the programs' module. Tests
// assert counts only, never times.
package e2e
