package hub

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// integerProblem explains a JSON number that an integer field of the
// protocol refused (encoding/json reports every such refusal as a wrong
// type, and says the same for "1.0", "-1" and a 20-digit offset). Integer
// fields take a number written in digits, with a minus sign where negative
// values are allowed: RFC 8259 §6 numbers with a fraction or exponent ("1.0",
// "1e2"), minus zero in an unsigned field and values beyond the field's range
// are refused, and the message says which range and echoes the number (cut
// to 32 bytes). ok is false when te is not a number meant for an integer.
func integerProblem(te *json.UnmarshalTypeError) (msg string, ok bool) {
	lit, isNum := strings.CutPrefix(te.Value, "number")
	if !isNum || te.Type == nil {
		return "", false
	}
	var lo, hi string
	switch te.Type.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		lo, hi = "0", strconv.FormatUint(math.MaxUint64>>(64-te.Type.Bits()), 10)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b := te.Type.Bits()
		lo, hi = strconv.FormatInt(math.MinInt64>>(64-b), 10), strconv.FormatInt(math.MaxInt64>>(64-b), 10)
	default:
		return "", false
	}
	lit = strings.TrimSpace(lit)
	if len(lit) > 32 {
		lit = lit[:32] + "..."
	}
	return fmt.Sprintf("must be a whole number from %s to %s written in digits, without fraction or exponent (got %s)", lo, hi, lit), true
}
