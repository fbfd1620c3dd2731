package embedded

import "github.com/sdkeda/sdkeda/worker"

// WithGenerator replaces the generator Start would choose.
func WithGenerator(g worker.Generator) Option {
	return func(o *options) { o.generator = g }
}
