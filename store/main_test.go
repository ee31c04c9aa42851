package store_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind: every
// store must be closed, every pool drained.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
