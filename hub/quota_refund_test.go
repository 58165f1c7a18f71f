package hub

import (
	"testing"
	"time"
)

// A refund gives the budget back also after time has passed (it did not:
// rate.Reservation.Cancel only undoes reservations still in the future).
func TestQuotaRefundRestoresTheBudget(t *testing.T) {
	q := newQuotas(250, 1000)
	refund, ok := q.take("v", "a", 200)
	if !ok {
		t.Fatal("a first take of 200 of 250 refused")
	}
	if _, ok := q.take("v", "a", 200); ok {
		t.Fatal("a second take of 200 of 250 allowed")
	}
	// Wait until the clock has moved (a deadline, not a sleep as synchronisation).
	for start := time.Now(); !time.Now().After(start); {
	}
	refund()
	if _, ok := q.take("v", "a", 200); !ok {
		t.Fatal("the refunded 200 bytes are not available again")
	}
	// Refunds never grow a budget beyond its daily amount.
	for i := 0; i < 5; i++ {
		q.visitor.give("v", 250)
	}
	if _, ok := q.take("v", "a", 251); ok {
		t.Fatal("a budget of 250 took 251 after refunds")
	}
}
