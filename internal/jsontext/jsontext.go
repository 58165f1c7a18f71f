// Package jsontext is JSON as chatd writes and accepts it: text is encoded
// as sent (no HTML escaping of <, > and &), and inbound JSON is refused when
// it is not valid UTF-8, when a \u escape decodes to an unpaired surrogate,
// or when an object holds one name twice.
//
// encoding/json, left alone, does both wrong for chatd: Marshal escapes
// <, > and & as \u003c, \u003e and \u0026 (six bytes for one), and Unmarshal
// replaces invalid UTF-8 and unpaired surrogate escapes with U+FFFD, so two
// different inputs ("k\xff", "k\xfe") become the same string.
package jsontext

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"unicode/utf8"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Marshal is json.Marshal without HTML escaping: a string holding "<" is
// encoded as "<", not "\u003c". encoding/json still escapes U+2028 and U+2029
// (documented behaviour of its Encoder); that changes the bytes on the wire,
// never the decoded text.
func Marshal(v any) ([]byte, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= 64<<10 { // keep the pool from holding large buffers
			bufPool.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	b = b[:len(b)-1] // Encode ends with a newline
	return bytes.Clone(b), nil
}

// NewEncoder is json.NewEncoder(w) without HTML escaping.
func NewEncoder(w interface{ Write([]byte) (int, error) }) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// Errors of Check.
var (
	// ErrInvalidUTF8 means the bytes are not valid UTF-8 (RFC 8259 §8.1
	// requires JSON exchanged between systems to be UTF-8).
	ErrInvalidUTF8 = errors.New("not valid UTF-8")
	// ErrSurrogate means a \u escape in a string is an unpaired UTF-16
	// surrogate (U+D800..U+DFFF), which encodes no character (RFC 8259 §8.2).
	ErrSurrogate = errors.New("unpaired surrogate escape")
)

// Check refuses JSON that could not be decoded as sent: bytes that are not
// UTF-8 (ErrInvalidUTF8), \u escapes that are unpaired surrogates
// (ErrSurrogate, with the byte position), and objects holding one name twice
// (ErrDuplicateName, see CheckNames), of which encoding/json would keep one
// value and drop the other. It does not check the JSON syntax otherwise; run
// it before decoding.
func Check(b []byte) error {
	if !utf8.Valid(b) {
		return ErrInvalidUTF8
	}
	return CheckEscapes(b)
}

// CheckEscapes is Check for input already known to be valid UTF-8.
func CheckEscapes(b []byte) error {
	if err := checkSurrogates(b); err != nil {
		return err
	}
	return CheckNames(b)
}

// checkSurrogates refuses \u escapes that are unpaired surrogates.
func checkSurrogates(b []byte) error {
	if !bytes.Contains(b, []byte(`\u`)) {
		return nil // the common case: nothing escaped this way
	}
	// Escapes are read in sequence from the first backslash, so the "\u" of
	// an escaped backslash followed by a literal "u" is never mistaken for one.
	for i := bytes.IndexByte(b, '\\'); i >= 0 && i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] != 'u' {
			i++ // \" \\ \n ...: skip the escaped byte
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			i++ // not a valid escape: the JSON parser refuses it
			continue
		}
		switch {
		case r >= 0xD800 && r <= 0xDBFF: // high surrogate: a low one must follow
			lo, ok := -1, false
			if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				lo, ok = hex4(b, i+8)
			}
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return fmt.Errorf("%w at byte %d", ErrSurrogate, i)
			}
			i += 11
		case r >= 0xDC00 && r <= 0xDFFF: // low surrogate without a high one
			return fmt.Errorf("%w at byte %d", ErrSurrogate, i)
		default:
			i += 5
		}
	}
	return nil
}

// hex4 reads four hex digits at b[i:i+4].
func hex4(b []byte, i int) (int, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	v := 0
	for _, c := range b[i : i+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= int(c - '0')
		case c >= 'a' && c <= 'f':
			v |= int(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v |= int(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}
