package db

import (
	"encoding/json"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/chatd/chatd/internal/jsontext"
)

// Codec turns a collection's documents into the bytes stored for them and
// back. Each collection has one (Schema.Codec); the default is JSONCodec.
//
// The bytes a codec produces are wrapped by the store (CRC-32C, framing), so a
// codec needs no checksum or length of its own. A codec must be deterministic
// for index fields: Field on the output of Append must return the same value
// every time.
type Codec[T any] interface {
	// Append appends the encoding of doc to dst and returns the extended slice.
	Append(dst []byte, doc *T) ([]byte, error)
	// Decode fills doc from src. src is a read-only view of a stored value:
	// it never changes, so doc may keep references into it (strings made with
	// unsafe.String), but the codec must never write to it.
	Decode(src []byte, doc *T) error
	// Field appends to dst the value of the named top-level field of the
	// encoded document src, as index keys and queries spell it (for JSON, the
	// field's string value or its literal), and nothing when it is absent.
	Field(dst, src []byte, name string) []byte
}

// JSONCodec stores documents as JSON (jsontext: encoding/json without HTML
// escaping, so text is stored as sent): field names and values as text,
// readable with any JSON tool. Index fields are read with gjson without
// decoding the document.
type JSONCodec[T any] struct{}

// Append implements Codec.
func (JSONCodec[T]) Append(dst []byte, doc *T) ([]byte, error) {
	raw, err := jsontext.Marshal(doc)
	if err != nil {
		return dst, err
	}
	if dst == nil {
		return raw, nil
	}
	return append(dst, raw...), nil
}

// Decode implements Codec.
func (JSONCodec[T]) Decode(src []byte, doc *T) error { return json.Unmarshal(src, doc) }

// Field implements Codec: gjson's String() of the field (numbers as their
// literal, strings unescaped).
func (JSONCodec[T]) Field(dst, src []byte, name string) []byte {
	return append(dst, gjson.Get(bytesString(src), name).String()...)
}

// bytesString views b as a string without copying; b must not change while
// the string is used.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// stringBytes views s as a read-only byte slice without copying.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
