package hub

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSharedDeadline(t *testing.T) {
	t.Run("one context per slack period, deadline within wait..wait+slack", func(t *testing.T) {
		s := sharedDeadline{wait: 10 * time.Second, slack: time.Hour}
		before := time.Now()
		first := s.get()
		for i := 0; i < 100; i++ {
			if s.get() != first {
				t.Fatal("a new context within the slack period")
			}
		}
		after := time.Now()
		d, ok := first.Deadline()
		if !ok || d.Before(before.Add(s.wait)) || d.After(after.Add(s.wait+s.slack)) {
			t.Fatalf("deadline %v, want within [%v, %v]", d, before.Add(s.wait), after.Add(s.wait+s.slack))
		}
	})
	t.Run("renewed once the slack has passed, never shorter than wait", func(t *testing.T) {
		s := sharedDeadline{wait: 10 * time.Second, slack: time.Nanosecond}
		first := s.get()
		start := time.Now()
		for !time.Now().After(start.Add(time.Microsecond)) { // the clock moves past the slack
		}
		asked := time.Now()
		second := s.get()
		if second == first {
			t.Fatal("the same context after its slack period")
		}
		if d, _ := second.Deadline(); d.Before(asked.Add(s.wait)) {
			t.Fatalf("deadline %v is less than wait after it was asked for (%v)", d, asked)
		}
		if first.Err() != nil {
			t.Fatal("the previous context ended early: calls holding it lose their wait")
		}
	})
	t.Run("ends at its deadline", func(t *testing.T) {
		s := sharedDeadline{wait: 20 * time.Millisecond, slack: time.Millisecond}
		ctx := s.get()
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("did not end")
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("err %v", ctx.Err())
		}
	})
}
