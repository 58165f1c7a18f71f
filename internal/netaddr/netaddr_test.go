package netaddr

import "testing"

func TestGrouper(t *testing.T) {
	g64, g128, g48 := Grouper(64), Grouper(128), Grouper(48)
	for _, tc := range []struct {
		g        func(string) string
		a, b     string
		sameWant bool
	}{
		{g64, "2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff", true},
		{g64, "2001:db8:1:2::1", "2001:DB8:1:2:0:0:0:abcd", true},
		{g64, "2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{g64, "fe80::1%eth0", "fe80::2", true},
		{g128, "2001:db8:1:2::1", "2001:db8:1:2::2", false},
		{g48, "2001:db8:1:2::1", "2001:db8:1:ff::1", true},
		{g64, "192.0.2.1", "192.0.2.2", false},
		{g64, "192.0.2.1", "::ffff:192.0.2.1", true},
		{g64, "not-an-ip", "not-an-ip", true},
		{g64, "not-an-ip", "other", false},
	} {
		if same := tc.g(tc.a) == tc.g(tc.b); same != tc.sameWant {
			t.Errorf("%s (%s) vs %s (%s): same %v", tc.a, tc.g(tc.a), tc.b, tc.g(tc.b), same)
		}
	}
	if got := g64("2001:db8:1:2:3:4:5:6"); got != "2001:db8:1:2::/64" {
		t.Errorf("key %q", got)
	}
	for _, bad := range []int{0, 15, 129, -1} {
		if CheckIPv6Prefix(bad) == nil {
			t.Errorf("prefix %d accepted", bad)
		}
	}
}
