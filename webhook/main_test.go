package webhook_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: an HTTP
// connection or server that was not closed would show up here.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
