package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/chatd/chatd/db"
)

// The inbox settings an admin may change while chatd runs (PUT
// /api/settings): auto-assignment, its limit, typing previews and
// retention. What an admin set is kept in the settings collection under
// inboxSettingsKey, so it survives a restart, a backup and a restore; which
// value applies (a start flag, the stored one, the default) is decided by
// the hub (hub/settings.go).

// Bounds of the inbox settings, the same for the start flags and the API.
const (
	MaxAssignLimit   = 100000 // open conversations per agent (0 = no limit)
	MaxRetentionDays = 36500  // days without activity (0 = keep forever)
)

// Setting names, as the API and the admin:settings frame spell them.
const (
	SettingAutoAssign    = "auto_assign"
	SettingAssignLimit   = "assign_limit"
	SettingTypingPreview = "typing_preview"
	SettingRetentionDays = "retention_days"
)

// SettingNames lists every inbox setting, in the order they are shown.
var SettingNames = []string{SettingAutoAssign, SettingAssignLimit, SettingTypingPreview, SettingRetentionDays}

const inboxSettingsKey = "inbox-settings"

// InboxSettings are the values in force.
type InboxSettings struct {
	AutoAssign    bool `json:"auto_assign"`
	AssignLimit   int  `json:"assign_limit"`   // 0..MaxAssignLimit, 0 = no limit
	TypingPreview bool `json:"typing_preview"` // agents see the text a visitor types
	RetentionDays int  `json:"retention_days"` // 0..MaxRetentionDays, 0 = keep forever
}

// SettingsPatch holds some inbox settings: nil fields are not set. It is both
// a change asked for and what is stored (only what an admin set).
type SettingsPatch struct {
	AutoAssign    *bool `json:"auto_assign,omitempty"`
	AssignLimit   *int  `json:"assign_limit,omitempty"`
	TypingPreview *bool `json:"typing_preview,omitempty"`
	RetentionDays *int  `json:"retention_days,omitempty"`
}

// Validate checks the numbers of p against the bounds the start flags have;
// the error wraps ErrInvalid and names the setting.
func (p SettingsPatch) Validate() error {
	if p.AssignLimit != nil && (*p.AssignLimit < 0 || *p.AssignLimit > MaxAssignLimit) {
		return fmt.Errorf("%w: %s %d: must be between 0 (no limit) and %d", ErrInvalid, SettingAssignLimit, *p.AssignLimit, MaxAssignLimit)
	}
	if p.RetentionDays != nil && (*p.RetentionDays < 0 || *p.RetentionDays > MaxRetentionDays) {
		return fmt.Errorf("%w: %s %d: must be between 0 (keep forever) and %d", ErrInvalid, SettingRetentionDays, *p.RetentionDays, MaxRetentionDays)
	}
	return nil
}

// Has reports whether p sets setting name.
func (p SettingsPatch) Has(name string) bool {
	switch name {
	case SettingAutoAssign:
		return p.AutoAssign != nil
	case SettingAssignLimit:
		return p.AssignLimit != nil
	case SettingTypingPreview:
		return p.TypingPreview != nil
	case SettingRetentionDays:
		return p.RetentionDays != nil
	}
	return false
}

// Without returns p without setting name.
func (p SettingsPatch) Without(name string) SettingsPatch {
	switch name {
	case SettingAutoAssign:
		p.AutoAssign = nil
	case SettingAssignLimit:
		p.AssignLimit = nil
	case SettingTypingPreview:
		p.TypingPreview = nil
	case SettingRetentionDays:
		p.RetentionDays = nil
	}
	return p
}

// Merge returns p with the settings q sets replaced by q's.
func (p SettingsPatch) Merge(q SettingsPatch) SettingsPatch {
	if q.AutoAssign != nil {
		p.AutoAssign = q.AutoAssign
	}
	if q.AssignLimit != nil {
		p.AssignLimit = q.AssignLimit
	}
	if q.TypingPreview != nil {
		p.TypingPreview = q.TypingPreview
	}
	if q.RetentionDays != nil {
		p.RetentionDays = q.RetentionDays
	}
	return p
}

// Apply returns s with the settings p sets.
func (p SettingsPatch) Apply(s InboxSettings) InboxSettings {
	if p.AutoAssign != nil {
		s.AutoAssign = *p.AutoAssign
	}
	if p.AssignLimit != nil {
		s.AssignLimit = *p.AssignLimit
	}
	if p.TypingPreview != nil {
		s.TypingPreview = *p.TypingPreview
	}
	if p.RetentionDays != nil {
		s.RetentionDays = *p.RetentionDays
	}
	return s
}

// StoredSettings returns the inbox settings an admin stored (none: an empty
// patch). The record is read setting by setting, so one bad value (a file
// edited by hand, a record from another version) costs only itself: a
// setting of the wrong type or out of bounds is left out of the patch (the
// start flag or default applies to it) and named in the error, which wraps
// ErrInvalid; the patch returned beside it holds the usable settings. A
// record that is not a JSON object gives an empty patch and that error.
// Names this version does not know (a newer chatd's) are ignored.
func (s *Store) StoredSettings() (SettingsPatch, error) {
	var p SettingsPatch
	v, err := s.settings.Get(inboxSettingsKey)
	if errors.Is(err, db.ErrNotFound) {
		return p, nil
	}
	if err != nil {
		return p, fmt.Errorf("read inbox settings: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(v.Value), &raw); err != nil || raw == nil {
		return p, fmt.Errorf("%w: stored inbox settings are not a JSON object: all ignored", ErrInvalid)
	}
	var bad []string
	for _, name := range SettingNames {
		r, ok := raw[name]
		if !ok || string(r) == "null" {
			continue
		}
		var one SettingsPatch
		if err := json.Unmarshal(fmt.Appendf(nil, "{%q:%s}", name, r), &one); err != nil || !one.Has(name) {
			bad = append(bad, fmt.Sprintf("%s %.40s: wrong type", name, r))
			continue
		}
		if err := one.Validate(); err != nil {
			bad = append(bad, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
			continue
		}
		p = p.Merge(one)
	}
	if len(bad) > 0 {
		return p, fmt.Errorf("%w: stored inbox settings ignored: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	return p, nil
}

// StoreSettings replaces the stored inbox settings with p (ErrInvalid if out
// of bounds) and makes it durable before it returns: an admin told "saved"
// finds the value after a crash, one told it failed (a write or fsync error)
// never finds it, in memory or after a restart.
func (s *Store) StoreSettings(ctx context.Context, p SettingsPatch) error {
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store inbox settings: %w", err)
	}
	doc := setting{ID: inboxSettingsKey, Value: string(b)}
	ctx = db.Durable(ctx) // a failed fsync undoes the write: "not saved" holds after a restart too
	err = s.settings.Update(ctx, doc)
	if errors.Is(err, db.ErrNotFound) {
		_, err = s.settings.Insert(ctx, doc)
	}
	if err != nil {
		return fmt.Errorf("store inbox settings: %w", err)
	}
	return nil
}
