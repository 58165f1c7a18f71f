package db

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"unsafe"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcLen is the length of the hex CRC-32C that prefixes every stored value.
const crcLen = 8

// recordCRC is the CRC-32C of key, a NUL byte and val: what a stored value carries.
func recordCRC(key, val []byte) [4]byte {
	c := crc32.Update(0, castagnoli, key)
	c = crc32.Update(c, castagnoli, []byte{0})
	c = crc32.Update(c, castagnoli, val)
	return [4]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}
}

// wrapValue prefixes val with the hex CRC-32C of key and val.
func wrapValue(key, val string) string { return wrapBytes(key, []byte(val)) }

// wrapBytes is wrapValue for a value still in a byte slice: one allocation.
func wrapBytes(key string, val []byte) string {
	out := make([]byte, crcLen+len(val))
	sum := recordCRC([]byte(key), val)
	hex.Encode(out[:crcLen], sum[:])
	copy(out[crcLen:], val)
	return unsafe.String(unsafe.SliceData(out), len(out))
}

// unwrapValue strips the CRC prefix; values are verified once, when the file is checked.
func unwrapValue(v string) string {
	if len(v) < crcLen {
		return ""
	}
	return v[crcLen:]
}

func checkValue(key, v []byte) bool {
	if len(v) < crcLen {
		return false
	}
	var want [4]byte
	if _, err := hex.Decode(want[:], v[:crcLen]); err != nil {
		return false
	}
	return want == recordCRC(key, v[crcLen:])
}

// scanResult says how much of a data file is whole.
type scanResult struct {
	size  int64  // file size
	valid int64  // bytes of complete, verified records from the start
	bad   string // non-empty: damage that is not a torn tail, at byte valid
}

// scanFile reads buntdb's append-only file (RESP arrays: set key value / del
// key / flushdb) and verifies every record. An incomplete last record is a torn
// tail; anything else wrong is corruption.
func scanFile(r io.ReaderAt, size int64, hints map[string]int) (scanResult, error) {
	res := scanResult{size: size}
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<20)
	var pos int64
	var parts [3][]byte
	var buf []byte
	for pos < size {
		n, nparts, why, err := readRecord(br, &parts, &buf)
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			// Incomplete record at the end: a torn write, unless a whole record
			// starts inside what would be dropped (then a length was damaged).
			if tornTailHasRecord(r, pos, size) {
				res.valid, res.bad = pos, "a record length is damaged (a complete record follows it)"
				return res, nil
			}
			res.valid = pos
			return res, nil
		}
		if err != nil {
			return res, err
		}
		if why != "" {
			res.valid, res.bad = pos, why
			return res, nil
		}
		cmd := string(bytes.ToLower(parts[0]))
		switch {
		case cmd == "set" && nparts >= 3:
			if !checkValue(parts[1], parts[2]) {
				res.valid, res.bad = pos, fmt.Sprintf("checksum mismatch in record %q", truncate(parts[1]))
				return res, nil
			}
			if hints != nil {
				if i := bytes.IndexByte(parts[1], ':'); i >= 0 {
					hints[string(parts[1][:i+1])]++
				}
			}
		case cmd == "del" && nparts == 2, cmd == "flushdb" && nparts == 1:
		default:
			res.valid, res.bad = pos, fmt.Sprintf("unknown command %q", truncate(parts[0]))
			return res, nil
		}
		pos += n
	}
	res.valid = pos
	return res, nil
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// readRecord reads one RESP array of bulk strings. It returns the record's
// length in bytes, its part count, and why it is malformed (if it is).
func readRecord(br *bufio.Reader, parts *[3][]byte, buf *[]byte) (int64, int, string, error) {
	var n int64
	line, err := br.ReadSlice('\n')
	n += int64(len(line))
	if err != nil {
		return n, 0, "", eofAsUnexpected(err)
	}
	if len(line) < 4 || line[0] != '*' || line[len(line)-2] != '\r' {
		return n, 0, "not the start of a record", nil
	}
	count, err := strconv.Atoi(string(line[1 : len(line)-2]))
	if err != nil || count < 1 || count > 16 {
		return n, 0, "bad record header", nil
	}
	*buf = (*buf)[:0]
	var offs [3][2]int
	for i := 0; i < count; i++ {
		line, err := br.ReadSlice('\n')
		n += int64(len(line))
		if err != nil {
			return n, 0, "", eofAsUnexpected(err)
		}
		if len(line) < 4 || line[0] != '$' || line[len(line)-2] != '\r' {
			return n, 0, "bad field header", nil
		}
		l, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil || l < 0 || l > 1<<30 {
			return n, 0, "bad field length", nil
		}
		start := len(*buf)
		need := start + l + 2
		if cap(*buf) < need {
			nb := make([]byte, start, need*2)
			copy(nb, *buf)
			*buf = nb
		}
		*buf = (*buf)[:need]
		m, err := io.ReadFull(br, (*buf)[start:need])
		n += int64(m)
		if err != nil {
			return n, 0, "", eofAsUnexpected(err)
		}
		if (*buf)[need-2] != '\r' || (*buf)[need-1] != '\n' {
			return n, 0, "field not terminated where its length says", nil
		}
		if i < 3 {
			offs[i] = [2]int{start, start + l}
		}
	}
	for i := 0; i < count && i < 3; i++ {
		parts[i] = (*buf)[offs[i][0]:offs[i][1]]
	}
	return n, count, "", nil
}

func eofAsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// tornTailHasRecord reports whether a complete record header starts after pos:
// a crash tears only the last record, so a later whole record means damage.
func tornTailHasRecord(r io.ReaderAt, pos, size int64) bool {
	if size-pos > 64<<20 {
		return true // far more than one commit: not a torn write
	}
	tail := make([]byte, size-pos)
	if _, err := r.ReadAt(tail, pos); err != nil && err != io.EOF {
		return true
	}
	for _, m := range [][]byte{[]byte("\r\n*3\r\n$3\r\nset\r\n"), []byte("\r\n*2\r\n$3\r\ndel\r\n")} {
		if i := bytes.Index(tail[1:], m); i >= 0 {
			// A whole record must follow the marker for this to be damage.
			br := bufio.NewReader(bytes.NewReader(tail[1+i+2:]))
			var parts [3][]byte
			var buf []byte
			if _, _, why, err := readRecord(br, &parts, &buf); err == nil && why == "" {
				return true
			}
		}
	}
	return false
}

// WrapValueForTest exposes the record value format to other packages' test fixtures.
func WrapValueForTest(key, val string) string { return wrapValue(key, val) }
