package partner_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a server,
// a connection or a database that was not closed would show up here.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
