package server

import (
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/notifytest"
	"github.com/chatd/chatd/store"
)

// TestJSONBodiesRefusedAsAmbiguous: every JSON body goes through one reader
// (readBody): one naming a field twice (exactly, escaped or in another
// case), not UTF-8, or with an unpaired surrogate escape is 400 with a
// message saying so, never a Go decoder's message, and nothing is done.
func TestJSONBodiesRefusedAsAmbiguous(t *testing.T) {
	ts, _, st, token := notifyServer(t, true, store.RoleAdmin)
	b := notifytest.NewBrowser(t, "b1")
	sub := string(b.Subscription("https://push.example/send/abc"))
	two := strings.Replace(sub, `{"endpoint":`, `{"endpoint":"https://push.example/send/other","endpoint":`, 1)
	cased := strings.Replace(sub, `{"endpoint":`, `{"Endpoint":"https://push.example/send/other","endpoint":`, 1)
	for _, tc := range []struct {
		name, method, path, body string
		code                     int
		want                     string
	}{
		{"login: name twice", "POST", "/api/login", `{"name":"ann","password":"pw","name":"bob"}`, 400, "same name twice"},
		{"login: password in two cases", "POST", "/api/login", `{"name":"ann","password":"pw","PASSWORD":"x"}`, 400, "same name twice"},
		{"subscribe: endpoint twice", "POST", "/api/push/subscriptions", two, 400, "same name twice"},
		{"subscribe: endpoint in two cases", "POST", "/api/push/subscriptions", cased, 400, "same name twice"},
		{"subscribe: endpoint not UTF-8", "POST", "/api/push/subscriptions", strings.Replace(sub, "/abc", "/ab\xff", 1), 400, "not valid text"},
		{"subscribe: surrogate escape", "POST", "/api/push/subscriptions", strings.Replace(sub, "/abc", `/ab\udc00`, 1), 400, "not valid text"},
		{"subscribe: an array", "POST", "/api/push/subscriptions", `[]`, 400, "not a PushSubscription JSON object"},
		{"subscribe: keys of the wrong type", "POST", "/api/push/subscriptions", `{"endpoint":"https://push.example/x","keys":7}`, 400, "not a PushSubscription JSON object"},
		{"unsubscribe: endpoint twice", "DELETE", "/api/push/subscriptions", `{"endpoint":"https://a.example/","endpoint":"https://b.example/"}`, 400, "same name twice"},
	} {
		res, body := do(t, tc.method, ts.URL+tc.path, tc.body, token)
		if res.StatusCode != tc.code || !strings.Contains(body, tc.want) || strings.Contains(body, "Go value") || strings.Contains(body, "struct {") {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, res.StatusCode, body, tc.code, tc.want)
		}
	}
	if subs, _ := st.Subscriptions("ann"); len(subs) != 0 {
		t.Fatalf("refused bodies stored %+v", subs)
	}
	// The same bodies with one value each are taken.
	if res, body := do(t, "POST", ts.URL+"/api/push/subscriptions", sub, token); res.StatusCode != 201 {
		t.Fatalf("subscribe: %d %s", res.StatusCode, body)
	}
}
