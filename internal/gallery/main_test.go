package gallery_test

import (
	"testing"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
