package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/sdkeda/sdkeda/deploy/controlplane"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// applyRoot applies deploy/dir as the deploy targets do (overlay.sh with
// deploy.mk's defaults) and returns its object of the given kind, once KEDA's
// operator reports it Ready.
func (k *kube) applyRoot(t *testing.T, dir, kind string) (*unstructured.Unstructured, object) {
	t.Helper()
	var scaler *unstructured.Unstructured
	var raw object
	for _, o := range renderWrapped(t, dir, defaultEnv(dir)) {
		u := &unstructured.Unstructured{Object: o.Map}
		if _, err := k.c.Apply(context.Background(), u, "sdkeda-test"); err != nil {
			t.Fatalf("deploy/%s: %s refused: %v", dir, o, err)
		}
		if o.Kind == kind {
			scaler, raw = u, o
		}
	}
	if scaler == nil {
		t.Fatalf("deploy/%s has no %s", dir, kind)
	}
	k.waitReady(t, "deploy/"+dir, scaler)
	return scaler, raw
}

func (k *kube) publish(t *testing.T, n int) {
	t.Helper()
	for range n {
		if err := k.q.Publish(context.Background(), queue.Message{ID: testenv.UniqueName("job"), Body: []byte(`{"prompt":"k8s"}`)}); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

func (k *kube) purge(t *testing.T) {
	t.Helper()
	ch := testenv.AMQPChannel(t, k.rabbit.URL)
	defer ch.Close()
	if _, err := ch.QueuePurge(k.q.Options().Name, false); err != nil {
		t.Fatalf("purge: %v", err)
	}
}

// seconds of an integer field of a rendered object.
func intField(t *testing.T, o object, path ...any) int {
	t.Helper()
	v, ok := get(o.Map, path...).(float64)
	if !ok {
		t.Fatalf("%s: no number at %v", o, path)
	}
	return int(v)
}

// testScaledJob: KEDA's operator with the rendered ScaledJob overlay and
// the real queue. Pods stay Pending (no kubelet), so every Job counts as
// pending: KEDA must not add Jobs for messages that pending Jobs will take.
func (k *kube) testScaledJob(t *testing.T) {
	sj, raw := k.applyRoot(t, "overlays/scaledjob", "ScaledJob")
	ns, name := sj.GetNamespace(), sj.GetName()
	poll := time.Duration(intField(t, raw, "spec", "pollingInterval")) * time.Second
	maxJobs := intField(t, raw, "spec", "maxReplicaCount")
	var want batchv1.JobSpec
	if b, err := json.Marshal(get(raw.Map, "spec", "jobTargetRef")); err != nil || json.Unmarshal(b, &want) != nil {
		t.Fatalf("%s: jobTargetRef does not decode as a JobSpec", raw)
	}
	jobs := func() []batchv1.Job {
		list, err := k.c.Client.BatchV1().Jobs(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list jobs: %v", err)
		}
		var out []batchv1.Job
		for _, j := range list.Items {
			for _, ref := range j.OwnerReferences {
				if ref.Kind == "ScaledJob" && ref.Name == name {
					out = append(out, j)
				}
			}
		}
		return out
	}
	// hold checks that the count is n all along d; reach waits up to d for
	// n Jobs and fails at once if there are ever more.
	hold := func(n int, d time.Duration, what string) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
			if got := len(jobs()); got != n {
				t.Fatalf("%s: %d Jobs, want %d all along %s; KEDA's log:\n%s", what, got, n, d, k.c.KEDALog(15))
			}
		}
	}
	reach := func(n int, d time.Duration, what string) {
		t.Helper()
		start := time.Now()
		for {
			got := len(jobs())
			if got > n {
				t.Fatalf("%s: %d Jobs, more than %d; KEDA's log:\n%s", what, got, n, k.c.KEDALog(15))
			}
			if got == n {
				t.Logf("%s: %d Jobs after %s", what, n, time.Since(start).Round(100*time.Millisecond))
				return
			}
			if time.Since(start) > d {
				t.Fatalf("%s: %d Jobs after %s, want %d; KEDA's log:\n%s", what, got, d, n, k.c.KEDALog(15))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	hold(0, 2*poll, "empty queue")
	k.publish(t, 3)
	reach(3, 4*poll, "3 messages")
	hold(3, 4*poll, "3 messages, 3 pending Jobs")
	k.checkJobs(t, jobs(), want)

	k.publish(t, 2)
	reach(maxJobs, 4*poll, "5 messages")
	hold(maxJobs, 4*poll, fmt.Sprintf("5 messages, maxReplicaCount %d", maxJobs))
	k.checkJobs(t, jobs(), want)

	k.purge(t)
	hold(maxJobs, 4*poll, "queue purged")
}

// checkJobs: every Job carries the overlay's Job spec and pod spec (the API
// server's defaults aside), and has its one Pod, Pending.
func (k *kube) checkJobs(t *testing.T, jobs []batchv1.Job, want batchv1.JobSpec) {
	t.Helper()
	for _, j := range jobs {
		got := j.Spec
		for _, f := range []struct {
			name      string
			want, got *int32
		}{{"parallelism", want.Parallelism, got.Parallelism}, {"completions", want.Completions, got.Completions}, {"backoffLimit", want.BackoffLimit, got.BackoffLimit}} {
			if f.want != nil && (f.got == nil || *f.got != *f.want) {
				t.Errorf("Job %s: %s %v, want %d", j.Name, f.name, f.got, *f.want)
			}
		}
		if want.ActiveDeadlineSeconds != nil && (got.ActiveDeadlineSeconds == nil || *got.ActiveDeadlineSeconds != *want.ActiveDeadlineSeconds) {
			t.Errorf("Job %s: activeDeadlineSeconds %v, want %d", j.Name, got.ActiveDeadlineSeconds, *want.ActiveDeadlineSeconds)
		}
		if diff := derivativeDiff(want.Template.Spec, got.Template.Spec); len(diff) > 0 {
			t.Errorf("Job %s: the pod spec is not the overlay's: %v", j.Name, diff)
		}
		pods, err := k.c.Client.CoreV1().Pods(j.Namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=" + j.Name})
		if err != nil {
			t.Fatal(err)
		}
		if len(pods.Items) != 1 {
			t.Errorf("Job %s has %d Pods, want 1", j.Name, len(pods.Items))
			continue
		}
		if p := pods.Items[0]; p.Status.Phase != corev1.PodPending {
			t.Errorf("Pod %s is %s, want Pending (no kubelet)", p.Name, p.Status.Phase)
		}
	}
}

// testScaledObject: what KEDA's operator does with the rendered ScaledObject
// overlay when no metrics server serves its external metric: it creates
// the HPA, and itself scales the Deployment between 0 and 1 on activation.
func (k *kube) testScaledObject(t *testing.T) {
	so, raw := k.applyRoot(t, "overlays/scaledobject", "ScaledObject")
	ns, name := so.GetNamespace(), so.GetName()
	poll := time.Duration(intField(t, raw, "spec", "pollingInterval")) * time.Second
	minR, maxR := intField(t, raw, "spec", "minReplicaCount"), intField(t, raw, "spec", "maxReplicaCount")
	target := str(get(raw.Map, "spec", "scaleTargetRef", "name"))
	ctx := context.Background()

	var hpa *autoscalingv2.HorizontalPodAutoscaler
	if err := controlplane.WaitFor(3*poll, func() (bool, error) {
		var err error
		hpa, err = k.c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, "keda-hpa-"+name, metav1.GetOptions{})
		return err == nil, err
	}); err != nil {
		t.Fatalf("no HPA keda-hpa-%s: %v", name, err)
	}
	if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != target || ref.APIVersion != "apps/v1" {
		t.Errorf("HPA target %+v, want apps/v1 Deployment %s", ref, target)
	}
	// The HPA cannot go below one: KEDA itself scales between 0 and 1.
	if hpa.Spec.MinReplicas == nil || int(*hpa.Spec.MinReplicas) != max(minR, 1) || int(hpa.Spec.MaxReplicas) != maxR {
		t.Errorf("HPA min %v max %d, want %d and %d", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas, max(minR, 1), maxR)
	}
	trigger := get(raw.Map, "spec", "triggers", 0, "metadata")
	value := resource.MustParse(str(get(trigger, "value")))
	metric := "s0-rabbitmq-" + str(get(trigger, "queueName"))
	if len(hpa.Spec.Metrics) != 1 || hpa.Spec.Metrics[0].External == nil ||
		hpa.Spec.Metrics[0].External.Metric.Name != metric ||
		hpa.Spec.Metrics[0].External.Target.Type != autoscalingv2.AverageValueMetricType ||
		hpa.Spec.Metrics[0].External.Target.AverageValue.Cmp(value) != 0 {
		t.Errorf("HPA metrics %+v, want one external metric %s, AverageValue %s", hpa.Spec.Metrics, metric, value.String())
	}
	var behavior autoscalingv2.HorizontalPodAutoscalerBehavior
	if b, err := json.Marshal(get(raw.Map, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior")); err != nil || json.Unmarshal(b, &behavior) != nil {
		t.Fatalf("%s: behavior does not decode", raw)
	}
	if hpa.Spec.Behavior == nil {
		t.Errorf("HPA without behavior, want the ScaledObject's %+v", behavior)
	} else if diff := derivativeDiff(behavior, *hpa.Spec.Behavior); len(diff) > 0 {
		t.Errorf("HPA behavior is not the ScaledObject's: %v", diff)
	}

	replicas := func() int {
		d, err := k.c.Client.AppsV1().Deployments(ns).Get(ctx, target, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("deployment %s: %v", target, err)
		}
		return int(*d.Spec.Replicas)
	}
	active := func() bool {
		res, _ := k.c.Resource(so)
		u, err := res.Get(ctx, name, metav1.GetOptions{})
		return err == nil && controlplane.ConditionTrue(u, "Active")
	}
	reach := func(n int, d time.Duration, what string) {
		t.Helper()
		start := time.Now()
		if err := controlplane.WaitFor(d, func() (bool, error) { return replicas() == n, nil }); err != nil {
			t.Fatalf("%s: %d replicas, want %d: %v; KEDA's log:\n%s", what, replicas(), n, err, k.c.KEDALog(15))
		}
		t.Logf("%s: %d replicas after %s", what, n, time.Since(start).Round(100*time.Millisecond))
	}
	hold := func(n int, d time.Duration, what string) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
			if got := replicas(); got != n {
				t.Fatalf("%s: %d replicas, want %d all along %s", what, got, n, d)
			}
		}
	}

	// Applied without replicas, the Deployment starts at the API server's
	// default of 1; with nothing queued KEDA takes it to minReplicaCount.
	reach(minR, 3*poll, "empty queue")
	k.publish(t, 5)
	reach(1, 3*poll, "5 messages")
	if !active() {
		t.Errorf("ScaledObject %s not Active with 5 messages queued", name)
	}
	// Above one is the HPA's work, which needs KEDA's metrics server.
	hold(1, 2*poll, "5 messages, no metrics server")
	k.purge(t)
	if err := controlplane.WaitFor(3*poll, func() (bool, error) { return !active(), nil }); err != nil {
		t.Errorf("ScaledObject %s still Active after the purge", name)
	}
	// cooldownPeriod: no scale-down to zero right after the queue empties.
	hold(1, 2*poll, "queue purged, within cooldownPeriod")
}
