package store

import (
	"fmt"
)

// Roles of an admin (see Admin.Role).
const (
	// RoleAdmin may use the management endpoints (GET /api/backup) as well as chat.
	RoleAdmin = "admin"
	// RoleAgent answers visitors and nothing else.
	RoleAgent = "agent"
)

// DefaultDisplay is what visitors see as the sender of a reply from an agent
// without a display name: never the login, which is a credential's half.
const DefaultDisplay = "Support"

// MaxDisplayLen is the longest display name, in characters (checked with
// the name rule of package internal/names by the admins file).
const MaxDisplayLen = 64

// EffectiveRole is a.Role, with "" (an entry written before roles existed)
// read as RoleAdmin so that no one loses access by upgrading.
func (a Admin) EffectiveRole() string {
	if a.Role == "" {
		return RoleAdmin
	}
	return a.Role
}

// An agent has one display name, a.Display in the admins file (the source of
// truth); these two methods are the only places that pick what is shown when
// it has none, one for each audience.

// DisplayName is the name visitors see for a: its display name or DefaultDisplay.
func (a Admin) DisplayName() string {
	if a.Display == "" {
		return DefaultDisplay
	}
	return a.Display
}

// AgentsSee is the name other agents see for a (admin:agents, admin:typing,
// GET /api/session's display, the portal's assign menu, `chatd admin list`):
// its display name, or its login when it has none (agents know logins; the
// same DefaultDisplay for everyone would tell no one apart).
func (a Admin) AgentsSee() string {
	if a.Display == "" {
		return a.Name
	}
	return a.Display
}

// ValidRole reports whether r can be written in the admins file.
func ValidRole(r string) error {
	if r != RoleAdmin && r != RoleAgent {
		return fmt.Errorf("role %q: want %q or %q", r, RoleAdmin, RoleAgent)
	}
	return nil
}

// Public is m as a visitor may see it: an agent's reply carries the agent's
// display name in Admin (and Display), never the login. Every message sent
// to a visitor socket goes through it.
func (m Message) Public() Message {
	if m.From != FromAdmin {
		m.Admin, m.Display = "", ""
		return m
	}
	if m.Display == "" { // stored before display names existed
		m.Display = DefaultDisplay
	}
	m.Admin = m.Display
	return m
}

// PublicMessages applies Public to each of ms, in a new slice.
func PublicMessages(ms []Message) []Message {
	if ms == nil {
		return nil
	}
	out := make([]Message, len(ms))
	for i, m := range ms {
		out[i] = m.Public()
	}
	return out
}

// displayOf is the display name of admin login name as of now.
func (s *Store) displayOf(name string) string {
	a, err := s.admins.Get(name)
	if err != nil {
		return DefaultDisplay
	}
	return a.DisplayName()
}
