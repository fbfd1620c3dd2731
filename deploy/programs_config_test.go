package deploy

import (
	"reflect"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
)

// secretPlaceholders stand in for the values a container takes from Secrets
// (env gives those as ""), so the programs' loaders accept the rest.
var secretPlaceholders = map[string]string{
	"AMQP_URL":         "amqp://user:pass@rabbitmq-cluster:5672/",
	"MINIO_ACCESS_KEY": "access",
	"MINIO_SECRET_KEY": "secret",
}

// Each container's environment, read by its program's own loader
// (internal/config), is valid, and the settings both programs must agree on
// come out equal as parsed values: a webui whose WORKER_HEARTBEAT is shorter
// than the workers' forgets live workers and gives their jobs back.
func TestProgramsLoadTheDeployedSettings(t *testing.T) {
	type agreed struct {
		QueueName       string
		DeliveryLimit   int
		MaxFailures     int
		Limits          job.Limits
		WorkerHeartbeat time.Duration
		MinioEndpoint   string
		MinioBucket     string
	}
	pick := func(c config.Common) agreed {
		return agreed{c.QueueName, c.DeliveryLimit, c.MaxFailures, c.Limits, c.WorkerHeartbeat, c.MinioEndpoint, c.MinioBucket}
	}
	for _, dir := range appOverlays(t) {
		objs := render(t, dir)
		webui, worker := ours(objs)
		var first *agreed
		var firstOwner string
		for i, c := range append(webui, worker...) {
			e := env(t, objs, c)
			getenv := func(k string) string {
				if v, ok := e[k]; ok && v != "" {
					return v
				}
				if _, ok := e[k]; ok {
					return secretPlaceholders[k]
				}
				return ""
			}
			var common config.Common
			var err error
			if i < len(webui) {
				var w config.WebUI
				w, err = config.LoadWebUI(getenv)
				common = w.Common
			} else {
				var w config.Worker
				w, err = config.LoadWorker(getenv)
				common = w.Common
			}
			if err != nil {
				t.Errorf("deploy/%s: %s: its program refuses its environment: %v", dir, c.Owner, err)
				continue
			}
			got := pick(common)
			if first == nil {
				first, firstOwner = &got, c.Owner.String()
			} else if !reflect.DeepEqual(got, *first) {
				t.Errorf("deploy/%s: %s reads %+v, %s reads %+v", dir, c.Owner, got, firstOwner, *first)
			}
		}
	}
}
