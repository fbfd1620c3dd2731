package testenv

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

// AMQPChannel is a channel of a plain client of its own, as another program
// (the old webui, an operator's tool) would use; its connection closes when
// the test ends.
func AMQPChannel(t testing.TB, url string) *amqp.Channel {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// PeekHeader reads one header of the first message of queue name, as a
// string, and leaves the message there.
func PeekHeader(t testing.TB, url, name, key string) string {
	t.Helper()
	ch := AMQPChannel(t, url)
	defer ch.Close()
	m, ok, err := ch.Get(name, false)
	if err != nil || !ok {
		t.Fatalf("get the first message of %s: ok=%v err=%v", name, ok, err)
	}
	defer m.Nack(false, true)
	s, _ := m.Headers[key].(string)
	return s
}
