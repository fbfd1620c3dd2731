package rabbitmq

import (
	"errors"
	"fmt"
	"regexp"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/queue"
)

// TopologyError means the broker holds a queue or exchange of the same name
// declared with other settings. Reconnecting cannot fix it; a person must.
type TopologyError struct {
	Name   string
	Detail string // the broker's words
	Fix    string
}

func (e *TopologyError) Error() string {
	return fmt.Sprintf("rabbitmq: %q already exists with other settings (%s); %s", e.Name, e.Detail, e.Fix)
}

var inequivalent = regexp.MustCompile(`inequivalent arg '([^']+)' for (queue|exchange) '([^']+)'[^:]*: (.*)$`)

// declare makes the topology of docs/design.md §2.2, idempotently: the durable quorum
// work queue with its delivery limit, dead-lettering into the durable
// dead-letter queue, and the status exchange. Both programs call it on every
// (re)connect; RabbitMQ accepts a declaration equal to the existing one.
func declare(ch *amqp.Channel, o queue.Options) error {
	dead := queue.DeadName(o.Name)
	// Status events: fanout, so every webui replica gets every event.
	if err := ch.ExchangeDeclare(queue.StatusName(o.Name), amqp.ExchangeFanout,
		true,  // durable: survives a broker restart
		false, // autoDelete: keep it when no webui listens
		false, // internal
		false, // noWait
		nil); err != nil {
		return topologyErr(err, o)
	}
	if _, err := ch.QueueDeclare(dead,
		true,  // durable
		false, // autoDelete
		false, // exclusive
		false, // noWait
		amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}); err != nil {
		return topologyErr(err, o)
	}
	if _, err := ch.QueueDeclare(o.Name,
		true,  // durable: queued jobs survive a broker restart (defect 2)
		false, // autoDelete: workers come and go with KEDA
		false, // exclusive: many workers and webuis share it
		false, // noWait
		amqp.Table{
			amqp.QueueTypeArg: amqp.QueueTypeQuorum,
			// Every return (nack with requeue, or a consumer that died
			// holding it) counts; past the limit the broker dead-letters.
			"x-delivery-limit":          int64(o.DeliveryLimit),
			"x-dead-letter-exchange":    "",
			"x-dead-letter-routing-key": dead,
			// at-least-once dead-lettering so a dead-lettered job is never
			// dropped on the way; it requires reject-publish overflow.
			"x-dead-letter-strategy": "at-least-once",
			amqp.QueueOverflowArg:    amqp.QueueOverflowRejectPublish,
		}); err != nil {
		return topologyErr(err, o)
	}
	return nil
}

// topologyErr turns the broker's PRECONDITION_FAILED into one clear line with
// the fix; other errors pass through.
func topologyErr(err error, o queue.Options) error {
	var aerr *amqp.Error
	if !errors.As(err, &aerr) || aerr.Code != amqp.PreconditionFailed {
		return fmt.Errorf("rabbitmq: declare: %w", err)
	}
	m := inequivalent.FindStringSubmatch(aerr.Reason)
	if m == nil {
		return &TopologyError{Name: o.Name, Detail: aerr.Reason, Fix: "delete it or align the settings"}
	}
	arg, kind, name, detail := m[1], m[2], m[3], m[4]
	te := &TopologyError{Name: name, Detail: fmt.Sprintf("%s %s: %s", kind, arg, detail)}
	switch arg {
	case "durable", "x-queue-type":
		te.Fix = fmt.Sprintf("it is probably the old system's non-durable classic queue: delete it "+
			"(`rabbitmqctl delete_queue %s`, or in the management UI) and start again; "+
			"this program declares a durable quorum queue that keeps jobs across broker restarts", name)
	case "x-delivery-limit":
		te.Fix = "every program must use the same DELIVERY_LIMIT (the webui and the workers both declare the queue); " +
			"set DELIVERY_LIMIT to the value it was created with, or delete the queue to change it"
	default:
		te.Fix = fmt.Sprintf("delete it (`rabbitmqctl delete_queue %s`) and start again, or align the settings", name)
	}
	return te
}
