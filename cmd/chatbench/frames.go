package main

import (
	"bytes"
	"strconv"
)

// The hot path scans frames instead of decoding them: the tool shares the
// machine with the chatd under test, so its own CPU matters. Scanning for
// `"key":"` is exact for JSON produced by encoding/json: a quote inside a
// string value is always escaped, so the pattern cannot occur inside a value.
var (
	keyType   = []byte(`"type":"`)
	keyCID    = []byte(`"cid":"`)
	keyFrom   = []byte(`"from":"`)
	keyCode   = []byte(`"code":"`)
	keyOffset = []byte(`"offset":`)

	typeClientMessage  = []byte("client:message")
	typeClientMessages = []byte("client:messages")
	typeClientID       = []byte("client:id")
	typeAdminMessage   = []byte("admin:message")
	typeAdminMessages  = []byte("admin:messages")
	typeAdminList      = []byte("admin:list")
	typeAdminStatus    = []byte("admin:client_status")
	typeError          = []byte("error")
	fromClient         = []byte("client")
	fromAdmin          = []byte("admin")
)

// strField returns the raw bytes of the first string value after key in b.
func strField(b, key []byte) []byte {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil
	}
	b = b[i+len(key):]
	j := bytes.IndexByte(b, '"')
	if j < 0 {
		return nil
	}
	return b[:j]
}

// offsets returns how many "offset" fields b holds and the largest of them.
func offsets(b []byte) (n int, max uint64) {
	for {
		i := bytes.Index(b, keyOffset)
		if i < 0 {
			return n, max
		}
		b = b[i+len(keyOffset):]
		j := 0
		for j < len(b) && (b[j] == ' ') {
			j++
		}
		var v uint64
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			v = v*10 + uint64(b[j]-'0')
			j++
		}
		n++
		if v > max {
			max = v
		}
	}
}

// cidTime parses the send time (nanoseconds since the run started) out of a
// cid made by appendCID with this run's prefix; ok is false for any other cid.
func cidTime(cid []byte, prefix string) (ns int64, ok bool) {
	if len(cid) <= len(prefix) || string(cid[:len(prefix)]) != prefix {
		return 0, false
	}
	rest := cid[len(prefix):]
	var v int64
	for _, c := range rest {
		switch {
		case c >= '0' && c <= '9':
			v = v*36 + int64(c-'0')
		case c >= 'a' && c <= 'z':
			v = v*36 + int64(c-'a'+10)
		case c == '.':
			return v, true
		default:
			return 0, false
		}
	}
	return 0, false
}

// appendCID appends a cid "<prefix><sent ns base36>.<seq base36>" to b.
func appendCID(b []byte, prefix string, sentNs int64, seq uint64) []byte {
	b = append(b, prefix...)
	b = strconv.AppendInt(b, sentNs, 36)
	b = append(b, '.')
	return strconv.AppendUint(b, seq, 36)
}
