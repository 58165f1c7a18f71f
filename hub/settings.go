package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/chatd/chatd/store"
)

// The inbox settings (auto-assignment, its limit, typing previews,
// retention) apply live: the hub reads the values in force at each use, so
// a change made through the API (server: GET/PUT /api/settings) takes effect
// at once, without a restart, and every admin socket is told (admin:settings).
//
// Which value is in force, per setting:
//  1. locked: a value the operator gave explicitly at start (Config.Locked
//     names the setting with the reason, e.g. "set by --typing-preview"):
//     the Config value, which the API cannot change;
//  2. else the value an admin stored (SettingsStore, kept across restarts,
//     backups and restores);
//  3. else the Config value (the flag's default).
//
// A store without SettingsStore (a cluster node) keeps nothing: every
// setting not locked already is locked with noStoreReason.

const evAdminSettings = "admin:settings"

// SettingsStore keeps the settings an admin changed; *store.Store satisfies
// it. The hub uses it when its Store has these methods too.
type SettingsStore interface {
	// StoredSettings returns what was stored (nothing: an empty patch).
	StoredSettings() (store.SettingsPatch, error)
	// StoreSettings replaces what is stored, durably.
	StoreSettings(ctx context.Context, p store.SettingsPatch) error
}

// ErrSettingLocked refuses a change of a locked setting; the error names the
// setting and the reason.
var ErrSettingLocked = errors.New("setting locked")

// noStoreReason locks the settings of a hub whose store keeps none.
const noStoreReason = "set by flags: this store keeps no settings"

// SettingsView is GET /api/settings and admin:settings: the settings in
// force, the names of the locked ones (in store.SettingNames order, never
// null) and why each is locked.
type SettingsView struct {
	store.InboxSettings
	Locked  []string          `json:"locked"`
	Reasons map[string]string `json:"reasons"`
}

// settingsFrame is admin:settings: the view and the agent who changed it.
type settingsFrame struct {
	SettingsView
	By string `json:"by"`
}

// settingsHub holds the settings in force.
type settingsHub struct {
	cur    atomic.Pointer[store.InboxSettings]
	mu     sync.Mutex // serialises changes
	st     SettingsStore
	stored store.SettingsPatch // what st holds
	locked map[string]string   // setting name -> reason
}

// newSettingsHub works out the settings in force from cfg and st.
func newSettingsHub(h *Hub, cfg Config, st Store) *settingsHub {
	sh := &settingsHub{locked: make(map[string]string)}
	for n, why := range cfg.Locked {
		sh.locked[n] = why
	}
	flags := store.InboxSettings{AutoAssign: cfg.AutoAssign, AssignLimit: cfg.AssignLimit, TypingPreview: cfg.TypingPreview, RetentionDays: cfg.RetentionDays}
	cur := flags
	if ss, ok := st.(SettingsStore); ok {
		sh.st = ss
		stored, err := ss.StoredSettings()
		switch {
		case errors.Is(err, store.ErrInvalid):
			// A bad record (hand-edited, another version) must not stop
			// chatd: the usable settings apply, the rest fall back to the
			// start flags, and the next change through the API rewrites it.
			h.log.Warn().Err(err).Msg("stored inbox settings partly unusable: the start flags or defaults apply to the ignored ones until an admin saves them again")
		case err != nil:
			h.log.Error().Err(err).Msg("stored inbox settings unreadable: the start flags apply")
		}
		sh.stored = stored
		for n := range sh.locked {
			stored = stored.Without(n)
		}
		cur = stored.Apply(cur)
	} else {
		for _, n := range store.SettingNames {
			if sh.locked[n] == "" {
				sh.locked[n] = noStoreReason
			}
		}
	}
	sh.cur.Store(&cur)
	return sh
}

// settings returns the inbox settings in force.
func (h *Hub) settings() store.InboxSettings { return *h.set.cur.Load() }

// Settings returns the settings in force and which are locked.
func (h *Hub) Settings() SettingsView { return h.set.view(h.settings()) }

func (sh *settingsHub) view(s store.InboxSettings) SettingsView {
	v := SettingsView{InboxSettings: s, Locked: []string{}, Reasons: map[string]string{}}
	for _, n := range store.SettingNames {
		if why := sh.locked[n]; why != "" {
			v.Locked = append(v.Locked, n)
			v.Reasons[n] = why
		}
	}
	return v
}

// settingValue is setting name of s.
func settingValue(s store.InboxSettings, name string) any {
	switch name {
	case store.SettingAutoAssign:
		return s.AutoAssign
	case store.SettingAssignLimit:
		return s.AssignLimit
	case store.SettingTypingPreview:
		return s.TypingPreview
	case store.SettingRetentionDays:
		return s.RetentionDays
	}
	return nil
}

// SetSettings applies the settings p sets, as agent by, stores them and
// tells every admin socket (admin:settings) when a value in force changed.
// A locked setting may be given only with its value in force (so a PUT of
// what GET answered works); another value is refused with ErrSettingLocked.
// Errors wrap store.ErrInvalid for a value out of bounds, ErrSettingLocked,
// or the store's failure (nothing changed then).
func (h *Hub) SetSettings(ctx context.Context, p store.SettingsPatch, by string) (SettingsView, error) {
	sh := h.set
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if err := p.Validate(); err != nil {
		return SettingsView{}, err
	}
	cur := h.settings()
	next := p.Apply(cur)
	for _, n := range store.SettingNames {
		why := sh.locked[n]
		if why == "" || !p.Has(n) {
			continue
		}
		if settingValue(next, n) != settingValue(cur, n) {
			return SettingsView{}, fmt.Errorf("%w: %s is %s", ErrSettingLocked, n, why)
		}
		p = p.Without(n)
	}
	if sh.st != nil {
		stored := sh.stored.Merge(p)
		if err := sh.st.StoreSettings(ctx, stored); err != nil {
			return SettingsView{}, err
		}
		sh.stored = stored
	}
	sh.cur.Store(&next)
	v := sh.view(next)
	if next == cur {
		return v, nil
	}
	h.log.Info().Str("admin", by).Bool("auto_assign", next.AutoAssign).Int("assign_limit", next.AssignLimit).
		Bool("typing_preview", next.TypingPreview).Int("retention_days", next.RetentionDays).Msg("inbox settings changed")
	if next.RetentionDays != cur.RetentionDays {
		h.inbox.retentionChanged()
	}
	if next.TypingPreview != cur.TypingPreview {
		h.presence.settingsChanged() // connected widgets learn it in client:availability
	}
	h.tellAdmins(encodeFrame(evAdminSettings, settingsFrame{SettingsView: v, By: by}))
	return v, nil
}
