package jsontext

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// ErrDuplicateName means an object holds two names that encoding/json would
// take for the same field: equal, or equal ignoring case (its decoder matches
// a name to a struct field with bytes.EqualFold, and the last of two wins).
// RFC 8259 §4 leaves what such an object means to each parser, so two
// readers of one frame (a proxy, a log, chatd) could act on different
// values: chatd refuses it instead of picking one.
var ErrDuplicateName = errors.New("an object holds the same name twice")

// foldAt is the number of names of one object from which CheckNames keeps
// them in a map rather than comparing each new name with every earlier one,
// so a frame of thousands of names costs linear time, not quadratic.
const foldAt = 16

// CheckNames refuses JSON in which one object holds two names equal when
// compared as encoding/json compares them (after unescaping, ignoring case:
// ErrDuplicateName, with the name and its byte position). Malformed JSON is
// not reported here: the decoder that runs next refuses it.
func CheckNames(b []byte) error {
	// One list of names for all open objects (each container knows where
	// its names start), on the stack for the usual small frame.
	var (
		stackBuf [8]container
		namesBuf [16][]byte
		stack    = stackBuf[:0]
		names    = namesBuf[:0]
		key      = false // the next string is a name
	)
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			stack = append(stack, container{obj: b[i] == '{', start: len(names)})
			key = b[i] == '{'
		case '}', ']':
			if len(stack) == 0 {
				return nil // malformed: left to the decoder
			}
			names = names[:stack[len(stack)-1].start]
			stack = stack[:len(stack)-1]
			key = false
		case ',':
			key = len(stack) > 0 && stack[len(stack)-1].obj
		case '"':
			end, escaped := stringEnd(b, i)
			if end < 0 {
				return nil // unterminated: left to the decoder
			}
			if key && len(stack) > 0 {
				name := b[i+1 : end]
				if escaped {
					var s string
					if json.Unmarshal(b[i:end+1], &s) != nil {
						return nil // a bad escape: left to the decoder
					}
					name = []byte(s)
				}
				c := &stack[len(stack)-1]
				var dup bool
				names, dup = c.add(names, name)
				if dup {
					return fmt.Errorf("%w: %.64q at byte %d", ErrDuplicateName, name, i)
				}
				key = false
			}
			i = end
		}
	}
	return nil
}

// container is an open object or array of CheckNames. An object's names
// are names[start:] while it has fewer than foldAt, then the folded map.
type container struct {
	obj    bool
	start  int
	folded map[string]struct{}
}

// add records name in c and reports whether an equal one (bytes.EqualFold)
// was there; names is the shared list, returned grown.
func (c *container) add(names [][]byte, name []byte) ([][]byte, bool) {
	if c.folded == nil {
		for _, n := range names[c.start:] {
			if bytes.EqualFold(n, name) {
				return names, true
			}
		}
		if len(names)-c.start < foldAt {
			return append(names, name), false
		}
		c.folded = make(map[string]struct{}, 2*foldAt)
		for _, n := range names[c.start:] {
			c.folded[string(fold(n))] = struct{}{}
		}
		names = names[:c.start]
	}
	f := string(fold(name))
	if _, ok := c.folded[f]; ok {
		return names, true
	}
	c.folded[f] = struct{}{}
	return names, false
}

// stringEnd returns the index of the quote closing the string that opens at
// b[i], or -1; escaped says whether it holds a backslash.
func stringEnd(b []byte, i int) (end int, escaped bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j, escaped
		}
	}
	return -1, escaped
}

// fold maps name to a form equal for exactly the names bytes.EqualFold
// calls equal: ASCII letters in upper case, every other rune the smallest of
// its simple case-folding orbit (unicode.SimpleFold).
func fold(name []byte) []byte {
	out := make([]byte, 0, len(name))
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(name[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}
