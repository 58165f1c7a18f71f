package cluster

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestPublishErrorKinds: which publish failures are retried with the same
// Nats-Msg-Id, which mean "this cid is stored already", which are final.
func TestPublishErrorKinds(t *testing.T) {
	api := func(code int, errCode jetstream.ErrorCode) error {
		return fmt.Errorf("publish: %w", &jetstream.APIError{Code: code, ErrorCode: errCode})
	}
	for _, tc := range []struct {
		name             string
		err              error
		retry, duplicate bool
	}{
		{"no leader yet (timeout)", context.DeadlineExceeded, true, false},
		{"no responders", nats.ErrNoResponders, true, false},
		{"stream unavailable", api(503, 10008), true, false},
		{"earlier attempt still committing", api(409, errDuplicateInProcess), true, false},
		{"reconnecting", nats.ErrConnectionReconnecting, true, false},
		{"connection closed", nats.ErrConnectionClosed, false, false},
		{"message too large", api(400, jetstream.JSErrCodeStreamMessageExceedsMaximum), false, false},
		{"cid stored (R1)", api(400, jetstream.JSErrCodeStreamWrongLastSequence), false, true},
		{"cid stored (R3)", api(400, jetstream.JSErrCodeStreamWrongLastSequenceConstant), false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isWrongLastSeq(tc.err); got != tc.duplicate {
				t.Errorf("isWrongLastSeq = %v", got)
			}
			if !tc.duplicate {
				if got := retryable(tc.err); got != tc.retry {
					t.Errorf("retryable = %v", got)
				}
			}
		})
	}
}
