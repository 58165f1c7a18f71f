package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/chatd/chatd/hub"
	"github.com/chatd/chatd/store"
)

// The inbox settings (auto-assignment, assign limit, typing previews,
// retention), changed live through the hub (hub/settings.go), which stores
// them and tells every admin socket (admin:settings).

// maxSettingsBody bounds a PUT /api/settings body: four settings need a
// hundred bytes.
const maxSettingsBody = 1 << 10

// getSettings answers GET /api/settings (any agent): 200 {"auto_assign",
// "assign_limit", "typing_preview", "retention_days", "locked": [name...],
// "reasons": {name: reason}}.
func (s *Server) getSettings(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.agent(w, r); !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, s.cfg.Inbox.Settings())
}

// putSettings answers PUT /api/settings (admin role) with a JSON object of
// one to four settings: 200 with the settings in force (as GET), 400 for an
// unknown setting, a wrong type or a value out of bounds, 409 for a new
// value of a locked setting, 413 for a body over maxSettingsBody.
func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) {
	name, ok := s.adminRole(w, r)
	if !ok {
		return
	}
	var raw map[string]json.RawMessage
	if code, msg := readJSON(w, r, maxSettingsBody, &raw); code != 0 {
		writeJSONError(w, code, msg)
		return
	}
	p, err := decodeSettings(raw)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	v, err := s.cfg.Inbox.SetSettings(r.Context(), p, name)
	if errors.Is(err, hub.ErrSettingLocked) {
		writeJSONError(w, http.StatusConflict, strings.TrimPrefix(err.Error(), hub.ErrSettingLocked.Error()+": "))
		return
	}
	if errors.Is(err, store.ErrInvalid) {
		s.storeFailed(w, "store settings", err)
		return
	}
	if err != nil {
		// A store that cannot write (full disk, I/O error): nothing changed,
		// not even in memory (hub.SetSettings); /readyz says why.
		s.cfg.Log.Error().Err(err).Str("admin", name).Msg("store settings")
		writeJSONError(w, http.StatusServiceUnavailable, "settings not saved, nothing changed: the store cannot write (see /readyz); retry later")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, v)
}

// decodeSettings reads the settings of a PUT body strictly: known names
// only, booleans as true or false, numbers as whole numbers (bounds are the
// store's, checked by the hub).
func decodeSettings(raw map[string]json.RawMessage) (store.SettingsPatch, error) {
	var p store.SettingsPatch
	known := strings.Join(store.SettingNames, ", ")
	if len(raw) == 0 {
		return p, fmt.Errorf("body must be a JSON object with at least one of %s", known)
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) { // the same error for the same body
		v := raw[k]
		if string(v) == "null" {
			return p, fmt.Errorf("%s must not be null", shortName(k))
		}
		var err error
		switch k {
		case store.SettingAutoAssign:
			p.AutoAssign = new(bool)
			err = json.Unmarshal(v, p.AutoAssign)
		case store.SettingTypingPreview:
			p.TypingPreview = new(bool)
			err = json.Unmarshal(v, p.TypingPreview)
		case store.SettingAssignLimit:
			p.AssignLimit = new(int)
			err = json.Unmarshal(v, p.AssignLimit)
		case store.SettingRetentionDays:
			p.RetentionDays = new(int)
			err = json.Unmarshal(v, p.RetentionDays)
		default:
			return p, fmt.Errorf("unknown setting %q: known are %s", shortName(k), known)
		}
		if err != nil {
			if k == store.SettingAutoAssign || k == store.SettingTypingPreview {
				return p, fmt.Errorf("%s must be true or false", k)
			}
			if msg, ok := integerOutOfRange(k, v); ok {
				return p, errors.New(msg)
			}
			return p, fmt.Errorf("%s must be a whole number", k)
		}
	}
	return p, nil
}

// shortName bounds a name from a request before it is echoed.
func shortName(k string) string {
	if len(k) > 64 {
		return strings.ToValidUTF8(k[:64], "") + "..."
	}
	return k
}

// wholeNumber is a JSON number without fraction or exponent (RFC 8259 §6).
var wholeNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// integerOutOfRange words the refusal of a whole number too large for an int
// (more than 19 digits) as the store words one out of its bounds, with the
// number as sent: "assign_limit 99999999999999999999: must be between 0 (no
// limit) and 100000", not "must be a whole number", which it is.
func integerOutOfRange(k string, v json.RawMessage) (string, bool) {
	lit := string(v)
	if !wholeNumber.MatchString(lit) {
		return "", false
	}
	sentinel := math.MaxInt
	if lit[0] == '-' {
		sentinel = math.MinInt
	}
	var probe store.SettingsPatch
	switch k {
	case store.SettingAssignLimit:
		probe.AssignLimit = &sentinel
	case store.SettingRetentionDays:
		probe.RetentionDays = &sentinel
	default:
		return "", false
	}
	err := probe.Validate()
	if err == nil {
		return "", false
	}
	msg := strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": ")
	if len(lit) > 32 {
		lit = lit[:32] + "..."
	}
	return strings.Replace(msg, fmt.Sprintf("%s %d:", k, sentinel), fmt.Sprintf("%s %s:", k, lit), 1), true
}
