// Package store is chatd's chat model: visitors, messages and admins kept in
// document collections of package db. It knows nothing of WebSockets.
package store

import (
	"errors"
	"time"
)

// Errors the hub checks with errors.Is.
var (
	// ErrNotFound means no visitor, admin or message matches.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the caller passed a value the model refuses (empty text, bad cid...).
	ErrInvalid = errors.New("invalid")
)

// Sender values of Message.From.
const (
	FromClient = "client"
	FromAdmin  = "admin"
)

// Visitor is a website visitor ("client"). Token is never stored: only its SHA-256.
type Visitor struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	TokenHash string            `json:"token_hash"`
	Created   time.Time         `json:"created"`
	LastSeen  time.Time         `json:"last_seen"`
	Meta      map[string]string `json:"meta,omitempty"`
}

// Message is one stored chat message; Offset is global, strictly increasing, never reused.
type Message struct {
	Offset uint64 `json:"offset"`
	Client string `json:"client"`
	From   string `json:"from"`
	Admin  string `json:"admin"`
	// Display is the agent's display name when the reply was stored (admin
	// messages only). Visitors are sent Public(), never Admin.
	Display string    `json:"display,omitempty"`
	CID     string    `json:"cid"`
	Text    string    `json:"text"`
	At      time.Time `json:"at"`
	// Note marks an internal note: agents only, never sent to a visitor (notes.go).
	Note bool `json:"note,omitempty"`
}

// Admin is a support agent, reseeded from the admins seed file at every boot
// and whenever the file changes.
type Admin struct {
	Name    string `json:"name"`              // login name; never shown to visitors
	Hash    string `json:"hash"`              // bcrypt
	Role    string `json:"role,omitempty"`    // RoleAdmin or RoleAgent; "" (files older than roles) is RoleAdmin
	Display string `json:"display,omitempty"` // name shown to visitors; "" shows DefaultDisplay
	TOTP    string `json:"totp,omitempty"`    // base32 TOTP secret: two-factor login required (auth/totp.go)
}

// NewMessage is what a sender asks to store.
type NewMessage struct {
	Client string // visitor public id the conversation belongs to
	From   string // FromClient or FromAdmin
	Admin  string // admin name when From == FromAdmin
	CID    string // sender's id, unique per visitor conversation
	Text   string
	Note   bool // an internal note (From must be FromAdmin)
}

// VisitorSummary is one row of the admins' visitor list.
type VisitorSummary struct {
	Visitor
	Last uint64    // offset of the visitor's latest message, 0 if none
	Page *PageView // current page, filled by VisitorsPage; nil if none
	// Conversation is the visitor's conversation, filled by VisitorsPage and ConversationsPage.
	Conversation Conversation
}
