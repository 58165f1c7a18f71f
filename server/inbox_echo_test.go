package server

import (
	"encoding/json"
	"testing"
)

// PUT /api/canned/{shortcut} answers the reply as stored, the same object
// GET /api/canned lists (updated and by included), also when nothing changed.
func TestCannedPutEchoesStored(t *testing.T) {
	is := newInboxServer(t)
	var first cannedJSON
	for i := 0; i < 2; i++ {
		res, body := do(t, "PUT", is.url+"/api/canned/hi", `{"text":"Hello"}`, is.ann)
		var put cannedJSON
		if res.StatusCode != 200 || json.Unmarshal([]byte(body), &put) != nil {
			t.Fatalf("PUT #%d: %d %s", i+1, res.StatusCode, body)
		}
		_, list := do(t, "GET", is.url+"/api/canned", "", is.ann)
		var got []cannedJSON
		if json.Unmarshal([]byte(list), &got) != nil || len(got) != 1 || got[0] != put || put.Updated == "" || put.By == "" {
			t.Fatalf("PUT #%d answered %+v; GET lists %s", i+1, put, list)
		}
		if i == 0 {
			first = put
		} else if put != first {
			t.Fatalf("an unchanged PUT answered %+v, stored is %+v", put, first)
		}
	}
}
