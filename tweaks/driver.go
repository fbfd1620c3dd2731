// Package tweaks carries what the worker brings to a fastsdcpu checkout:
// the warm driver (fastsdcpu_driver.py), built into the worker binary so
// that it drives any checkout, the image's /app or a person's own.
package tweaks

import _ "embed" // the driver's source

// Driver is the source of fastsdcpu_driver.py.
//
//go:embed fastsdcpu_driver.py
var Driver []byte
