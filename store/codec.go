package store

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
	"unsafe"
)

// messageCodec stores a Message in a compact binary form (schema version 2);
// the wire format stays JSON (Message's json tags). The offset is not stored:
// it is the document's id, which package db hands back on reading.
//
//	byte 0    tag: 0x80 | flags, so that it is never '{' (a version 1 JSON document)
//	          flags: 1 = from admin, 2 = from is a literal string, 4 = client is
//	          16 lowercase hex digits stored as 8 bytes, 8 = at is stored as
//	          seconds and nanoseconds (outside the int64 nanosecond range), 16 = no at,
//	          32 = a display name follows the admin, 64 = an internal note
//	client    8 bytes, or uvarint length + bytes
//	from      uvarint length + bytes, only with flag 2
//	admin     uvarint length + bytes
//	display   uvarint length + bytes, only with flag 32
//	cid       uvarint length + bytes
//	text      uvarint length + bytes
//	at        8 bytes big-endian Unix nanoseconds, or (flag 8) varint seconds + uvarint nanoseconds
//
// A message from a visitor with a 16-hex-digit id and a short text takes
// about 50 bytes (the JSON document took about 190). Decoding reads version 1
// JSON documents too, so a file half-way through its migration still reads.
type messageCodec struct{}

const (
	tagBinary    = 0x80
	flagAdmin    = 1
	flagFromText = 2
	flagHexID    = 4
	flagWideTime = 8
	flagNoTime   = 16
	flagDisplay  = 32
	flagNote     = 64
)

var errBadMessage = errors.New("malformed stored message")

func (messageCodec) Append(dst []byte, m *Message) ([]byte, error) {
	flags := byte(0)
	switch m.From {
	case FromClient:
	case FromAdmin:
		flags |= flagAdmin
	default:
		flags |= flagFromText
	}
	var id [8]byte
	if isHexID(m.Client) {
		flags |= flagHexID
		hex.Decode(id[:], []byte(m.Client))
	}
	if m.Display != "" {
		flags |= flagDisplay
	}
	if m.Note {
		flags |= flagNote
	}
	ns := m.At.UnixNano()
	switch {
	case m.At.IsZero():
		flags |= flagNoTime
	case time.Unix(0, ns).Equal(m.At):
	default:
		flags |= flagWideTime
	}
	dst = append(dst, tagBinary|flags)
	if flags&flagHexID != 0 {
		dst = append(dst, id[:]...)
	} else {
		dst = appendString(dst, m.Client)
	}
	if flags&flagFromText != 0 {
		dst = appendString(dst, m.From)
	}
	dst = appendString(dst, m.Admin)
	if flags&flagDisplay != 0 {
		dst = appendString(dst, m.Display)
	}
	dst = appendString(dst, m.CID)
	dst = appendString(dst, m.Text)
	switch {
	case flags&flagNoTime != 0:
	case flags&flagWideTime != 0:
		dst = binary.AppendVarint(dst, m.At.Unix())
		dst = binary.AppendUvarint(dst, uint64(m.At.Nanosecond()))
	default:
		dst = binary.BigEndian.AppendUint64(dst, uint64(ns))
	}
	return dst, nil
}

// Decode keeps the message's strings in src (package db's stored value, which
// never changes); only a hex client id is a new string.
func (messageCodec) Decode(src []byte, m *Message) error {
	if len(src) > 0 && src[0] == '{' {
		return json.Unmarshal(src, m)
	}
	r := reader{b: src}
	flags := r.byte() &^ tagBinary
	if flags&flagHexID != 0 {
		m.Client = hex.EncodeToString(r.next(8))
	} else {
		m.Client = r.string()
	}
	switch {
	case flags&flagFromText != 0:
		m.From = r.string()
	case flags&flagAdmin != 0:
		m.From = FromAdmin
	default:
		m.From = FromClient
	}
	m.Admin = r.string()
	m.Display = ""
	if flags&flagDisplay != 0 {
		m.Display = r.string()
	}
	m.CID = r.string()
	m.Text = r.string()
	m.Note = flags&flagNote != 0
	switch {
	case flags&flagNoTime != 0:
		m.At = time.Time{}
	case flags&flagWideTime != 0:
		s := r.varint()
		m.At = time.Unix(s, int64(r.uvarint())).UTC()
	default:
		m.At = time.Unix(0, int64(binary.BigEndian.Uint64(r.next(8)))).UTC()
	}
	if r.bad || len(r.b) != 0 || len(src) == 0 || src[0]&tagBinary == 0 {
		return errBadMessage
	}
	return nil
}

// Field reads the indexed fields "client" and "cid" without decoding the rest.
func (messageCodec) Field(dst, src []byte, name string) []byte {
	if len(src) > 0 && src[0] == '{' {
		var m Message
		if json.Unmarshal(src, &m) != nil {
			return dst
		}
		switch name {
		case "client":
			return append(dst, m.Client...)
		case "cid":
			return append(dst, m.CID...)
		}
		return dst
	}
	r := reader{b: src}
	flags := r.byte() &^ tagBinary
	var client []byte
	if flags&flagHexID != 0 {
		client = r.next(8)
	} else {
		client = r.bytes()
	}
	if name == "client" {
		if r.bad {
			return dst
		}
		if flags&flagHexID != 0 {
			return hex.AppendEncode(dst, client)
		}
		return append(dst, client...)
	}
	if flags&flagFromText != 0 {
		r.bytes()
	}
	r.bytes() // admin
	if flags&flagDisplay != 0 {
		r.bytes()
	}
	cid := r.bytes()
	if name != "cid" || r.bad {
		return dst
	}
	return append(dst, cid...)
}

func isHexID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func appendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// reader walks an encoded message; a read past the end sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) byte() byte {
	if len(r.b) == 0 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) next(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad, r.b = true, nil
		return make([]byte, max(n, 0))
	}
	out := r.b[:n:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad, r.b = true, nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.bad, r.b = true, nil
		return nil
	}
	return r.next(int(n))
}

// string views the next length-prefixed bytes as a string without copying.
func (r *reader) string() string {
	b := r.bytes()
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
