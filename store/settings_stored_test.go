package store

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestStoredSettingsBadRecord: a stored inbox-settings record edited by hand
// or written by another version costs only its bad settings: each is left
// out (named in an ErrInvalid error), the good ones are kept, unknown names
// are ignored, and the next StoreSettings replaces the record.
func TestStoredSettingsBadRecord(t *testing.T) {
	i := func(n int) *int { return &n }
	b := func(v bool) *bool { return &v }
	for _, tc := range []struct {
		name, record string
		want         SettingsPatch
		errHas       []string // empty: no error
	}{
		{"good", `{"auto_assign":true,"assign_limit":3}`, SettingsPatch{AutoAssign: b(true), AssignLimit: i(3)}, nil},
		{"newer version's setting", `{"assign_limit":3,"office_hours":"9-5"}`, SettingsPatch{AssignLimit: i(3)}, nil},
		{"null", `{"assign_limit":null,"auto_assign":false}`, SettingsPatch{AutoAssign: b(false)}, nil},
		{"limit negative", `{"assign_limit":-1,"auto_assign":true}`, SettingsPatch{AutoAssign: b(true)}, []string{"assign_limit -1"}},
		{"days too many", `{"retention_days":36501,"typing_preview":true}`, SettingsPatch{TypingPreview: b(true)}, []string{"retention_days 36501"}},
		{"number as string", `{"assign_limit":"5","retention_days":7}`, SettingsPatch{RetentionDays: i(7)}, []string{`assign_limit "5": wrong type`}},
		{"bool as number", `{"auto_assign":1,"assign_limit":2}`, SettingsPatch{AssignLimit: i(2)}, []string{"auto_assign 1: wrong type"}},
		{"fraction", `{"retention_days":1.5}`, SettingsPatch{}, []string{"retention_days 1.5: wrong type"}},
		{"huge", `{"assign_limit":99999999999999999999999}`, SettingsPatch{}, []string{"assign_limit"}},
		{"two bad", `{"assign_limit":-2,"typing_preview":"yes","auto_assign":true}`, SettingsPatch{AutoAssign: b(true)}, []string{"assign_limit -2", "typing_preview"}},
		{"not an object", `[1,2]`, SettingsPatch{}, []string{"not a JSON object"}},
		{"not JSON", `assign_limit=3`, SettingsPatch{}, []string{"not a JSON object"}},
		{"JSON null", `null`, SettingsPatch{}, []string{"not a JSON object"}},
		{"empty", ``, SettingsPatch{}, []string{"not a JSON object"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, t.TempDir())
			defer s.Close()
			doc := setting{ID: inboxSettingsKey, Value: tc.record}
			if _, err := s.settings.Insert(t.Context(), doc); err != nil {
				t.Fatal(err)
			}
			got, err := s.StoredSettings()
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("patch %s, want %s", showPatch(got), showPatch(tc.want))
			}
			if len(tc.errHas) == 0 && err != nil {
				t.Errorf("error %v, want none", err)
			}
			if len(tc.errHas) > 0 && !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v, want ErrInvalid", err)
			}
			for _, h := range tc.errHas {
				if err == nil || !strings.Contains(err.Error(), h) {
					t.Errorf("error %v, want it to name %q", err, h)
				}
			}
			// What an admin saves next replaces the bad record.
			if err := s.StoreSettings(t.Context(), got.Merge(SettingsPatch{AssignLimit: i(8)})); err != nil {
				t.Fatal(err)
			}
			if again, err := s.StoredSettings(); err != nil || *again.AssignLimit != 8 {
				t.Errorf("after saving: %s, %v", showPatch(again), err)
			}
		})
	}
}

func showPatch(p SettingsPatch) string {
	var b strings.Builder
	for _, n := range SettingNames {
		if p.Has(n) {
			b.WriteString(n + " ")
		}
	}
	return "{" + b.String() + "}"
}
