package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// checkFields reports why body does not fit the struct v points to, field
// by field, before it is decoded: the body must be a JSON object, and each of
// its names must be one of the struct's json names exactly. encoding/json
// ignores a name it does not know and matches the others ignoring case, so
// {"rol": "admin"} or {"shortcut": "b"} in a body answered 200 having done
// nothing of what the name asked, and {"ROLE": ...} was taken as "role".
// A value of the wrong type is named with its field (json.UnmarshalTypeError).
// A v that does not point to a struct (a map) checks its names itself.
func checkFields(body []byte, v any) error {
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return errors.New("body must be a JSON object")
	}
	known := jsonNames(t.Elem())
	var unknown []string
	for name := range obj {
		if !known[name] {
			unknown = append(unknown, fmt.Sprintf("%+q", name))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		names := make([]string, 0, len(known))
		for n := range known {
			names = append(names, n)
		}
		sort.Strings(names)
		return fmt.Errorf("unknown field %s: the fields are %s (names are matched exactly, lower case)",
			strings.Join(unknown, ", "), strings.Join(names, ", "))
	}
	return nil
}

// jsonNames lists the json names of struct t's exported fields.
func jsonNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = true
	}
	return out
}

// typeMessage says which field of a body has a value of the wrong type, or
// "" when err is not such an error.
func typeMessage(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field == "" {
		return ""
	}
	want := "value of another type"
	switch te.Type.Kind() {
	case reflect.String:
		want = "string"
	case reflect.Bool:
		want = "boolean (true or false)"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32, reflect.Float64:
		want = "number"
	case reflect.Map, reflect.Struct:
		want = "JSON object"
	case reflect.Slice:
		want = "JSON array"
	}
	return fmt.Sprintf("field %q must be a %s, not a JSON %s", te.Field, want, te.Value)
}
