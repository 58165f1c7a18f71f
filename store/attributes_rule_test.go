package store

import (
	"errors"
	"fmt"
	"maps"
	"testing"
)

// ApplyAttributes is the one merge rule both stores (single node, cluster) use.
func TestApplyAttributes(t *testing.T) {
	full := map[string]string{}
	for i := range MaxAttributes {
		full[fmt.Sprint("k", i)] = "v"
	}
	cases := []struct {
		name    string
		cur     map[string]string
		set     map[string]string
		want    map[string]string
		changed bool
		err     error
	}{
		{"add to none", nil, map[string]string{"plan": "pro"}, map[string]string{"plan": "pro"}, true, nil},
		{"same value", map[string]string{"plan": "pro"}, map[string]string{"plan": "pro"}, map[string]string{"plan": "pro"}, false, nil},
		{"replace", map[string]string{"plan": "pro"}, map[string]string{"plan": "free"}, map[string]string{"plan": "free"}, true, nil},
		{"remove the last", map[string]string{"plan": "pro"}, map[string]string{"plan": ""}, nil, true, nil},
		{"remove what is absent", nil, map[string]string{"plan": ""}, nil, false, nil},
		{"one too many", full, map[string]string{"extra": "x"}, nil, false, ErrInvalid},
		{"replace when full", full, map[string]string{"k0": "w"}, nil, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := maps.Clone(tc.cur)
			got, changed, err := ApplyAttributes(tc.cur, tc.set)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if !maps.Equal(tc.cur, before) {
				t.Fatal("cur was modified")
			}
			if err != nil {
				return
			}
			if changed != tc.changed {
				t.Fatalf("changed %v, want %v", changed, tc.changed)
			}
			if tc.name == "replace when full" {
				if got["k0"] != "w" || len(got) != MaxAttributes {
					t.Fatalf("got %v", got)
				}
				return
			}
			if !maps.Equal(got, tc.want) || (tc.want == nil && got != nil && tc.changed) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
