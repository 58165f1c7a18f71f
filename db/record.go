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

// The data file is buntdb's append-only format: RESP arrays of bulk strings,
// "set key value", "del key" or "flushdb". chatd writes it itself (buntdb only
// holds the data in memory), so files written by every earlier version open.

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

// appendSet appends the record "set key val" to buf.
func appendSet(buf []byte, key, val string) []byte {
	buf = append(buf, "*3\r\n$3\r\nset\r\n$"...)
	buf = strconv.AppendInt(buf, int64(len(key)), 10)
	buf = append(buf, "\r\n"...)
	buf = append(buf, key...)
	buf = append(buf, "\r\n$"...)
	buf = strconv.AppendInt(buf, int64(len(val)), 10)
	buf = append(buf, "\r\n"...)
	buf = append(buf, val...)
	return append(buf, "\r\n"...)
}

// appendDel appends the record "del key" to buf.
func appendDel(buf []byte, key string) []byte {
	buf = append(buf, "*2\r\n$3\r\ndel\r\n$"...)
	buf = strconv.AppendInt(buf, int64(len(key)), 10)
	buf = append(buf, "\r\n"...)
	buf = append(buf, key...)
	return append(buf, "\r\n"...)
}

// setSize is the length of the record "set key val" for these lengths: what
// the key costs in a compacted file.
func setSize(klen, vlen int) int64 {
	return int64(13 + 3 + digits(klen) + klen + 2 + 3 + digits(vlen) + vlen + 2)
}

func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// scanResult says how much of a data file is whole.
type scanResult struct {
	size  int64  // file size
	valid int64  // bytes of complete, verified records from the start
	bad   string // non-empty: damage, at byte valid
	zeros int64  // of the torn tail (size-valid), how many are a zero fill at the end
	fix   []byte // the line end to write at valid to complete the last record, if any
}

// maxTorn bounds what can be a torn append: far more than any one commit.
const maxTorn = 64 << 20

// scanFile reads the data file and verifies every record. The bytes after the
// last whole record are either a torn append, which may be dropped, or
// damage; see classifyTail.
func scanFile(r io.ReaderAt, size int64, hints map[string]int) (scanResult, error) {
	res := scanResult{size: size}
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), int(min(size+1, 1<<20)))
	var pos int64
	var parts [3][]byte
	var buf []byte
	for pos < size {
		n, nparts, why, err := readRecord(br, &parts, &buf)
		if err != nil && err != io.ErrUnexpectedEOF {
			return res, err
		}
		if err == io.ErrUnexpectedEOF || why != "" {
			return classifyTail(r, pos, size, why)
		}
		cmd := string(bytes.ToLower(parts[0]))
		switch {
		case cmd == "set" && nparts == 3:
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

// classifyTail decides what the bytes from pos to the end of the file are,
// given that the record at pos is incomplete (why == "") or malformed. A
// crash during an append leaves a strict prefix of what was being written,
// sometimes followed by a fill of zero bytes (file systems that extend the
// file before its data reached the disk). Such a tail was never acknowledged
// (an acknowledgement waits for the whole write) and may be dropped, but only
// if it cannot hold a complete, checksummed record:
//
//   - the bytes before the zero fill must be a strict prefix of a well-formed
//     record: anything malformed is damage;
//   - no complete record may start at any line inside the tail: a damaged
//     length can make a record swallow the ones after it;
//   - the incomplete record itself, read line by line whatever its lengths
//     and count say, must not hold a complete set whose checksum verifies, nor
//     a complete del or flushdb: a damaged length or count in the last record
//     ("$149" -> "$949", "*3" -> "*9") makes a whole record look cut short.
//
// Everything else is refused as damage, like damage in the middle of the file.
func classifyTail(r io.ReaderAt, pos, size int64, why string) (scanResult, error) {
	res := scanResult{size: size, valid: pos}
	if size-pos > maxTorn {
		res.bad = fmt.Sprintf("%d bytes after the last whole record, more than one write can leave (%s)", size-pos, orIncomplete(why))
		return res, nil
	}
	tail := make([]byte, size-pos)
	if _, err := r.ReadAt(tail, pos); err != nil && err != io.EOF {
		return res, err
	}
	z := len(tail)
	for z > 0 && tail[z-1] == 0 {
		z--
	}
	res.zeros = int64(len(tail) - z)
	if z > 0 {
		var parts [3][]byte
		var buf []byte
		_, _, pwhy, err := readRecord(bufio.NewReader(bytes.NewReader(tail[:z])), &parts, &buf)
		switch {
		case pwhy != "":
			res.bad = pwhy
			return res, nil
		case err == nil:
			res.bad = "a whole record followed by zero bytes and an unreadable record"
			return res, nil
		}
		if fix := unterminated(tail[:z]); fix != nil {
			res.valid, res.fix = pos+int64(z), fix
			return res, nil
		}
	}
	if at, what := recordInside(tail); at >= 0 {
		res.bad = fmt.Sprintf("a record length or count is damaged: %s at byte %d would be dropped with it", what, pos+int64(at))
		return res, nil
	}
	return res, nil
}

// unterminated returns the line end that b (an incomplete record) lacks if
// b is a whole set record whose checksum verifies but whose final CRLF (or
// LF) is missing: a crash that tore the write just before its end. Its lengths
// and checksum prove the record whole, so it is completed rather than dropped.
// A del has no checksum, so a del cut short cannot be told from one whose key
// was cut: it is never completed.
func unterminated(b []byte) []byte {
	for _, fix := range [][]byte{[]byte("\n"), []byte("\r\n")} {
		if fix[0] == '\n' && b[len(b)-1] != '\r' {
			continue
		}
		rec := append(append([]byte(nil), b...), fix...)
		var parts [3][]byte
		var buf []byte
		n, nparts, why, err := readRecord(bufio.NewReader(bytes.NewReader(rec)), &parts, &buf)
		if err == nil && why == "" && n == int64(len(rec)) && nparts == 3 &&
			string(bytes.ToLower(parts[0])) == "set" && checkValue(parts[1], parts[2]) {
			return fix
		}
	}
	return nil
}

func orIncomplete(why string) string {
	if why == "" {
		return "an incomplete record"
	}
	return why
}

// recordInside looks for a complete record in tail (which starts with an
// incomplete or malformed one): at the start, read line by line ignoring
// lengths, or at the start of any later line, read strictly. It returns the
// offset and a description, or -1.
func recordInside(tail []byte) (int, string) {
	if what := lenientRecord(tail); what != "" {
		return 0, what
	}
	for i := 0; i+2 < len(tail); i++ {
		j := bytes.Index(tail[i:], []byte("\r\n"))
		if j < 0 {
			break
		}
		i += j
		start := i + 2
		if start >= len(tail) || tail[start] != '*' {
			continue
		}
		var parts [3][]byte
		var buf []byte
		br := bufio.NewReader(bytes.NewReader(tail[start:]))
		if _, nparts, why, err := readRecord(br, &parts, &buf); err == nil && why == "" {
			if cmd := string(bytes.ToLower(parts[0])); cmd == "set" && nparts >= 3 && checkValue(parts[1], parts[2]) ||
				cmd == "del" && nparts == 2 || cmd == "flushdb" && nparts == 1 {
				return start, fmt.Sprintf("a complete %s record", cmd)
			}
		}
	}
	return -1, ""
}

// Bounds of the line-by-line search, so that a large damaged tail costs
// bounded work: lines a key may span, lines a value may span.
const (
	maxKeyLines = 8
	maxValLines = 256
)

// lenientRecord reads the record at the start of b as CRLF-terminated lines,
// ignoring what its count and length lines say: "*n", then "$len" and data
// lines. It reports a complete set whose checksum verifies (a key or value
// may itself contain CRLF, so every split is tried), a complete del or a
// complete flushdb; "" if there is none.
func lenientRecord(b []byte) string {
	// lines[i] is the span of line i in b, without its CRLF; a key or value
	// spanning lines i..j-1 is b[lines[i][0]:lines[j-1][1]].
	var lines [][2]int
	for at := 0; len(lines) < 5+maxKeyLines+maxValLines; {
		i := bytes.Index(b[at:], []byte("\r\n"))
		if i < 0 {
			break
		}
		lines = append(lines, [2]int{at, at + i})
		at += i + 2
	}
	line := func(i int) []byte { return b[lines[i][0]:lines[i][1]] }
	span := func(i, j int) []byte { return b[lines[i][0]:lines[j-1][1]] }
	isLen := func(i int) bool { l := line(i); return len(l) >= 2 && l[0] == '$' }
	if len(lines) < 3 || len(line(0)) < 2 || line(0)[0] != '*' || !isLen(1) {
		return ""
	}
	switch string(bytes.ToLower(line(2))) {
	case "flushdb":
		return "a complete flushdb record"
	case "del":
		if len(lines) >= 5 && isLen(3) {
			return "a complete del record"
		}
		return ""
	case "set":
	default:
		return ""
	}
	// Line 3 is the key's length line; the key spans lines 4..k-1, line k is
	// the value's length line, the value spans lines k+1..v-1.
	if len(lines) < 6 || !isLen(3) {
		return ""
	}
	// The value may also end where the bytes do (before a zero fill), its
	// CRLF missing or damaged: then it is whole but its record is not.
	end := len(b)
	for end > 0 && b[end-1] == 0 {
		end--
	}
	rest := []int{end}
	if end > 0 && b[end-1] == '\r' {
		rest = append(rest, end-1)
	}
	for k := 5; k < len(lines) && k <= 4+maxKeyLines; k++ {
		if !isLen(k) {
			continue
		}
		key := span(4, k)
		for v := k + 2; v <= len(lines) && v <= k+1+maxValLines; v++ {
			if checkValue(key, span(k+1, v)) {
				return "a complete set record with a valid checksum"
			}
		}
		if from := lines[k][1] + 2; len(lines) <= k+1+maxValLines {
			for _, e := range rest {
				if e > from && checkValue(key, b[from:e]) {
					return "a complete, checksummed value whose record is not terminated"
				}
			}
		}
	}
	return ""
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

// WrapValueForTest exposes the record value format to other packages' test fixtures.
func WrapValueForTest(key, val string) string { return wrapValue(key, val) }
