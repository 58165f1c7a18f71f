package main

import (
	"encoding/json"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestHistQuantiles(t *testing.T) {
	var h hist
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]time.Duration, 10000)
	for i := range vals {
		vals[i] = time.Duration(r.ExpFloat64() * float64(5*time.Millisecond))
		h.record(vals[i])
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := vals[int(q*float64(len(vals)))-1]
		got := h.quantile(q)
		diff := float64(got-want) / float64(want)
		if diff < -0.02 || diff > 0.02 {
			t.Errorf("q%.2f = %v, want %v within 2%%", q, got, want)
		}
	}
	if got := time.Duration(h.max.Load()); got != vals[len(vals)-1] {
		t.Errorf("max = %v, want %v", got, vals[len(vals)-1])
	}
	if s := h.summary(); s.Count != uint64(len(vals)) {
		t.Errorf("count = %d", s.Count)
	}
}

func TestBucketsMonotonic(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<22; us += 1 + us/300 {
		b := bucketOf(us)
		if b < prev {
			t.Fatalf("bucketOf(%d) = %d < %d", us, b, prev)
		}
		if v := bucketValue(b); us > 200 && (float64(v) < float64(us)*0.99 || float64(v) > float64(us)*1.01) {
			t.Fatalf("bucketValue(bucketOf(%d)) = %d, off by more than 1%%", us, v)
		}
		prev = b
	}
}

func TestFrameScan(t *testing.T) {
	prefix := "cbabc123-"
	cid := appendCID(nil, prefix, 123456789, 42)
	ns, ok := cidTime(cid, prefix)
	if !ok || ns != 123456789 {
		t.Fatalf("cidTime(%s) = %d, %v", cid, ns, ok)
	}
	if _, ok := cidTime([]byte("other-1.2"), prefix); ok {
		t.Fatal("foreign cid accepted")
	}
	f := []byte(`{"type":"admin:message","data":{"offset":17,"client":"c1","from":"client","admin":"","cid":"` +
		string(cid) + `","text":"say \"cid\":\"x\" here","at":"2026-01-01T00:00:00Z"}}`)
	if got := string(strField(f, keyType)); got != "admin:message" {
		t.Errorf("type = %q", got)
	}
	if got := string(strField(f, keyCID)); got != string(cid) {
		t.Errorf("cid = %q", got)
	}
	if got := string(strField(f, keyFrom)); got != "client" {
		t.Errorf("from = %q", got)
	}
	n, max := offsets([]byte(`{"type":"client:messages","data":[{"offset":3},{"offset": 9},{"offset":5}]}`))
	if n != 3 || max != 9 {
		t.Errorf("offsets = %d, %d", n, max)
	}
}

func TestPrintReport(t *testing.T) {
	r := &RampReport{Mode: "ramp", Visitors: 10, Connected: 10, Admins: 1, P99MaxMs: 50, Capacity: 100,
		Steps: []RampStep{
			{Rate: 100, Sent: 100, Acked: 100, Delivered: 100, Pass: true},
			{Rate: 200, Sent: 200, Acked: 200, Delivered: 200, Reason: "p99 60.0 ms > 50.0 ms"},
		},
		Errors: map[string]uint64{"rate_limited": 2, "closed_1008": 1}}
	var table, js strings.Builder
	if err := printReport(&table, r, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"capacity", "100 msg/s", "closed_1008=1 rate_limited=2", "FAIL: p99 60.0 ms > 50.0 ms", "pass"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := printReport(&js, r, true); err != nil {
		t.Fatal(err)
	}
	var back RampReport
	if err := json.Unmarshal([]byte(js.String()), &back); err != nil || len(back.Steps) != 2 || back.Capacity != 100 {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}
}
