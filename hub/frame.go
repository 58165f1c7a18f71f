package hub

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/chatd/chatd/internal/jsontext"
	"github.com/chatd/chatd/internal/names"
	"github.com/chatd/chatd/store"
)

// Event types of the wire protocol (see docs/protocol.md).
const (
	evClientAdd      = "client:add"
	evClientID       = "client:id"
	evClientMessages = "client:messages"
	evClientMessage  = "client:message"
	evAdminAdd       = "admin:add"
	evAdminList      = "admin:list"
	evAdminMessages  = "admin:messages"
	evAdminMessage   = "admin:message"
	evAdminHistory   = "admin:history"
	evAdminStatus    = "admin:client_status"
	evError          = "error"

	// Extensions (docs/protocol.md).
	evClientReplayed  = "client:replayed"
	evClientHistory   = "client:history"
	evClientPage      = "client:page"
	evAdminReplayed   = "admin:replayed"
	evAdminVisitors   = "admin:visitors"
	evAdminClientPage = "admin:client_page"
	// Availability and visitor information (issue 12; availability.go, visitor_info.go).
	evClientAvailability = "client:availability"
	evClientEmail        = "client:email"
	evClientAttributes   = "client:attributes"
	evClientSeen         = "client:seen"
	evClientTranscript   = "client:transcript"
	evAdminSetStatus     = "admin:status"
	evAdminAgents        = "admin:agents"
	evAdminClient        = "admin:client"
	evAdminSeen          = "admin:seen"
)

// Error codes of the error frame.
const (
	codeBadJSON       = "bad_json"
	codeUnknownType   = "unknown_type"
	codeBadRequest    = "bad_request"
	codeTooLarge      = "too_large"
	codeNotIdentified = "not_identified"
	codeUnauthorized  = "unauthorized"
	codeRateLimited   = "rate_limited"
	codeTooMany       = "too_many_connections"
	codeNotFound      = "not_found"
	codeUnavailable   = "unavailable"
	codeInternal      = "internal"
	codeQuota         = "quota_exceeded"
	codeOrigin        = "origin_not_allowed"
	codeBadIdentity   = "bad_identity"
	// codeVisitorDeleted: the visitor's data was deleted (privacy, retention);
	// the socket is closed next (privacy.go).
	codeVisitorDeleted = "visitor_deleted"
)

// errorCodes lists every code, in the order of Stats.Rejected counters.
var errorCodes = [...]string{
	codeBadJSON, codeUnknownType, codeBadRequest, codeTooLarge, codeNotIdentified,
	codeUnauthorized, codeRateLimited, codeTooMany, codeNotFound, codeUnavailable, codeInternal,
	codeQuota, codeOrigin,
	codeBadIdentity,
	codeVisitorDeleted,
}

// Protocol limits that are not configurable.
const (
	maxCID        = store.MaxCIDLen // bytes of a cid
	maxToken      = 256             // bytes of a token; longer ones are refused as bad_request
	maxEpoch      = store.MaxEpochLen
	maxMetaKeys   = 32 // entries of client:add meta
	maxMetaKey    = 64 // bytes of one meta key
	maxMetaValue  = 1024
	maxPageURL    = maxMetaValue // bytes of a client:page url (and of meta.page)
	maxPageTitle  = 256          // bytes of a client:page title
	chunkMessages = 500          // messages per replay frame
	historyDef    = 100          // default admin:history / client:history limit
	historyMax    = 500          // largest admin:history / client:history limit
	replayCap     = 1000         // most messages a replay sends (the newest ones)
	listMax       = 500          // most visitors in admin:list and one admin:visitors page
	maxCursor     = 256          // bytes of an admin:visitors cursor
)

// frameError is a refusal to send back as an error frame.
type frameError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	CID     string `json:"cid"`
}

func (e *frameError) Error() string { return e.Code + ": " + e.Message }

func refuse(code, msg, cid string) *frameError {
	return &frameError{Code: code, Message: msg, CID: cid}
}

// limits are the checks decodeFrame applies; maxText and maxName come from
// the store's Limits, the one source of those numbers.
type limits struct {
	maxFrame int // bytes of a frame
	maxText  int // bytes of message text
	maxName  int // characters of a visitor name
}

// frame is one decoded, validated inbound event; exactly one payload is set.
type frame struct {
	Type          string
	ClientAdd     *clientAdd
	Message       *sendMessage // client:message and admin:message
	AdminAdd      *adminAdd
	AdminHistory  *adminHistory // admin:history and client:history (Client empty)
	ClientPage    *clientPage
	AdminVisitors *adminVisitors
	Inbox         *inboxFrame // inbox events (inbox_frames.go)
	Info          any         // visitor-info events and admin:status (visitor_info.go)
}

type clientAdd struct {
	Name  string            `json:"name"`
	Token string            `json:"token"`
	After uint64            `json:"after"`
	Epoch string            `json:"epoch"`
	Meta  map[string]string `json:"meta"`
	// Identity is a site user vouched for by its site (identify.go).
	Identity *identityClaim `json:"identity"`
}

type clientPage struct {
	URL   string `json:"url"`
	Title string `json:"title"`
}

type adminVisitors struct {
	Before string `json:"before"`
	Limit  int    `json:"limit"`
	Filter string `json:"filter"` // store.Filter* ("" = all)
}

type sendMessage struct {
	Client string `json:"client"` // admin:message only
	CID    string `json:"cid"`
	Text   string `json:"text"`
}

type adminAdd struct {
	Token  string `json:"token"`
	After  uint64 `json:"after"`
	Limit  int    `json:"limit"`
	Epoch  string `json:"epoch"`
	Filter string `json:"filter"` // store.Filter* ("" = all)
}

type adminHistory struct {
	Client string `json:"client"`
	Before uint64 `json:"before"`
	Limit  int    `json:"limit"`
}

// envelope is the outer shape of every frame.
type envelope struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// decodeFrame parses and validates one inbound frame. It never panics; a
// refused frame yields a *frameError carrying the cid when one could be read.
func decodeFrame(b []byte, lim limits) (frame, *frameError) {
	if !utf8.Valid(b) { // RFC 6455 §8.1: the socket is failed with 1007 (see handle)
		return frame{}, refuse(codeBadJSON, "frame is not valid UTF-8", "")
	}
	if lim.maxFrame > 0 && len(b) > lim.maxFrame {
		return frame{}, refuse(codeTooLarge, "frame larger than the limit", peekCID(b))
	}
	trimmed := bytes.Trim(b, " \t\r\n") // JSON white space only
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return frame{}, refuse(codeBadJSON, "frame is not a JSON object", "")
	}
	// encoding/json would decode an unpaired surrogate escape as U+FFFD
	// (text the sender did not send) and keep only the last of two values
	// of one name. Refused, never rewritten or picked from.
	if err := jsontext.CheckEscapes(trimmed); err != nil {
		if errors.Is(err, jsontext.ErrDuplicateName) {
			return frame{}, refuse(codeBadJSON, "an object holds the same name twice (names are matched ignoring case)", "")
		}
		return frame{}, refuse(codeBadJSON, "a string holds an escape that is not text (unpaired surrogate)", "")
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil { // Unmarshal checks the whole frame's syntax first
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return frame{}, refuse(codeBadJSON, "frame is not a JSON object", "")
		}
		return frame{}, refuse(codeBadRequest, "field type must be a string", "")
	}
	f := frame{Type: env.Type}
	data := env.Data
	// The cid is read again only for an error reply: valid frames decode once.
	cid := func() string { return peekCID(trimmed) }
	switch env.Type {
	case evClientAdd:
		var p clientAdd
		if err := decodeData(data, &p); err != nil {
			return f, refuse(codeBadRequest, err.Error(), cid())
		}
		if err := checkClientAdd(&p, lim); err != nil {
			return f, refuse(codeBadRequest, err.Error(), cid())
		}
		f.ClientAdd = &p
	case evClientMessage, evAdminMessage:
		var p sendMessage
		if err := decodeData(data, &p); err != nil {
			return f, refuse(codeBadRequest, err.Error(), cid())
		}
		if env.Type == evClientMessage {
			p.Client = "" // a visitor only ever writes to its own conversation
		} else if p.Client == "" {
			return f, refuse(codeBadRequest, "client is required", p.CID)
		}
		if fe := checkMessage(&p, lim); fe != nil {
			return f, fe
		}
		f.Message = &p
	case evAdminAdd:
		var p adminAdd
		if err := decodeData(data, &p); err != nil {
			return f, refuse(codeBadRequest, err.Error(), cid())
		}
		switch {
		case p.Limit < 0:
			return f, refuse(codeBadRequest, "limit must not be negative", cid())
		case len(p.Epoch) > maxEpoch || len(p.Token) > maxToken:
			return f, refuse(codeBadRequest, "epoch or token too long", cid())
		case !store.ValidFilter(p.Filter):
			return f, refuse(codeBadRequest, "filter must be all, open, resolved, snoozed, mine or unassigned", cid())
		}
		f.AdminAdd = &p
	case evAdminHistory, evClientHistory:
		var p adminHistory
		if err := decodeData(data, &p); err != nil {
			return f, refuse(codeBadRequest, err.Error(), cid())
		}
		if env.Type == evClientHistory {
			p.Client = "" // a visitor only ever reads its own conversation
		}
		switch {
		case p.Client == "" && env.Type == evAdminHistory:
			return f, refuse(codeBadRequest, "client is required", cid())
		case p.Limit < 0:
			return f, refuse(codeBadRequest, "limit must not be negative", cid())
		case p.Limit == 0:
			p.Limit = historyDef
		case p.Limit > historyMax:
			p.Limit = historyMax
		}
		f.AdminHistory = &p
	case evClientPage:
		var p clientPage
		if err := decodeData(data, &p); err != nil {
			return f, refuse(codeBadRequest, err.Error(), cid())
		}
		if err := checkPage(p.URL, p.Title); err != nil {
			return f, refuse(codeBadRequest, err.Error(), "")
		}
		f.ClientPage = &p
	case evAdminVisitors:
		var p adminVisitors
		if err := decodeData(data, &p); err != nil {
			return f, refuse(codeBadRequest, err.Error(), cid())
		}
		switch {
		case p.Limit < 0 || len(p.Before) > maxCursor:
			return f, refuse(codeBadRequest, "limit must not be negative, before must be a cursor", "")
		case !store.ValidFilter(p.Filter):
			return f, refuse(codeBadRequest, "filter must be all, open, resolved, snoozed, mine or unassigned", "")
		case p.Limit == 0 || p.Limit > listMax:
			p.Limit = listMax
		}
		f.AdminVisitors = &p
	case evClientEmail, evClientAttributes, evClientSeen, evClientTranscript, evAdminSetStatus:
		v, err := decodeInfo(env.Type, data)
		if err != nil {
			return f, refuse(codeBadRequest, err.Error(), cid())
		}
		f.Info = v
	case "":
		return f, refuse(codeBadRequest, "field type is required", cid())
	default:
		if isInbox(env.Type) {
			in, fe := decodeInbox(env.Type, data, lim, cid)
			f.Inbox = in
			return f, fe
		}
		return f, refuse(codeUnknownType, "unknown event type", cid())
	}
	return f, nil
}

// decodeData unmarshals an event payload, which must be a JSON object.
func decodeData(data json.RawMessage, v any) error {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return errors.New("data must be an object")
	}
	if err := json.Unmarshal(d, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			if msg, ok := integerProblem(te); ok {
				return errors.New("field " + te.Field + " " + msg)
			}
			return errors.New("field " + te.Field + " has the wrong type")
		}
		return errors.New("data has wrong field types")
	}
	return nil
}

func checkClientAdd(p *clientAdd, lim limits) error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name != "" { // required for a new visitor: checked once the token is looked up
		if err := names.Check(p.Name, lim.maxName); err != nil {
			return err
		}
	}
	if len(p.Token) > maxToken || len(p.Epoch) > maxEpoch {
		return errors.New("token or epoch is too long")
	}
	if len(p.Meta) > maxMetaKeys {
		return errors.New("meta has too many entries")
	}
	for k, v := range p.Meta {
		if k == "" || len(k) > maxMetaKey || len(v) > maxMetaValue {
			return errors.New("meta entry is empty or too long")
		}
		if hasHidden(k) {
			return errors.New("meta keys may not hold control, format or invisible characters")
		}
	}
	if page, ok := p.Meta["page"]; ok {
		if err := checkPage(page, p.Meta["title"]); err != nil {
			return errors.New("meta " + err.Error())
		}
	}
	return checkVisitMeta(p.Meta) // lang, tz, referrer (visitor_context.go)
}

// checkPage checks a page url and title: url 1 to maxPageURL bytes with a
// visible character (names.HasVisible) and no hidden one (names.Hidden: a
// browser percent-encodes them), title at most maxPageTitle bytes, neither with control
// characters.
func checkPage(url, title string) error {
	switch {
	case !names.HasVisible(url) || len(url) > maxPageURL || hasHidden(url):
		return errors.New("page url must be 1 to 1024 bytes with a visible character, without control, format or invisible characters")
	case len(title) > maxPageTitle || hasControl(title):
		return errors.New("page title must be at most 256 bytes without control characters")
	}
	return nil
}

func checkMessage(p *sendMessage, lim limits) *frameError {
	switch {
	case p.CID == "":
		return refuse(codeBadRequest, "cid is required", "")
	case len(p.CID) > maxCID || hasControl(p.CID):
		return refuse(codeBadRequest, "cid is too long or has control characters", "")
	case !names.HasVisible(p.Text):
		return refuse(codeBadRequest, "text is empty: it has no visible character", p.CID)
	case lim.maxText > 0 && len(p.Text) > lim.maxText:
		return refuse(codeTooLarge, "text longer than the limit", p.CID)
	}
	return nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// hasHidden: s holds a control, format or other invisible code point
// (names.Hidden), which no URL, address or key may hold.
func hasHidden(s string) bool {
	_, ok := names.HiddenIn(s)
	return ok
}

// peekCID reads data.cid from a frame whatever else is wrong with it, so an
// error can name the message it refuses. Oversized frames are scanned as is.
func peekCID(b []byte) string {
	var p struct {
		Data struct {
			CID json.RawMessage `json:"cid"`
		} `json:"data"`
	}
	if json.Unmarshal(b, &p) != nil {
		return ""
	}
	var cid string
	if jsontext.Check(p.Data.CID) != nil || json.Unmarshal(p.Data.CID, &cid) != nil || len(cid) > maxCID || hasControl(cid) {
		return ""
	}
	return cid
}

// Outbound payloads.

type clientID struct {
	ID      string `json:"id"`
	Token   string `json:"token"`
	Name    string `json:"name"`
	Epoch   string `json:"epoch"`
	Resync  bool   `json:"resync"`
	MaxText int    `json:"max_text"`
	// Extensions of issue 12 (visitor_info.go).
	Availability *Availability `json:"availability,omitempty"`
	AgentsOnline *int          `json:"agents_online,omitempty"`
	Email        string        `json:"email,omitempty"`
	// TypingPreview tells the widget whether agents see the text being
	// typed (--typing-preview): only then does client:typing carry text.
	TypingPreview bool `json:"typing_preview"`
}

type listEntry struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Connected bool              `json:"connected"`
	Last      uint64            `json:"last"`
	Seen      string            `json:"seen"`
	Created   string            `json:"created"`
	Meta      map[string]string `json:"meta,omitempty"`
	Page      *store.PageView   `json:"page,omitempty"`
	// The conversation (inbox_frames.go): status "" = none yet.
	Status      string  `json:"status"`
	Assignee    string  `json:"assignee"`
	SnoozeUntil *string `json:"snooze_until"`
	VisitorSeen uint64  `json:"visitor_seen"`
	AgentSeen   uint64  `json:"agent_seen"`
	// The visitor's profile (visitor_info.go).
	Email      string            `json:"email,omitempty"`
	Attributes map[string]string `json:"attributes,omitempty"`
	Identity   string            `json:"identity,omitempty"`
}

type clientStatus struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status bool   `json:"status"`
	New    bool   `json:"new,omitempty"`
}

type historyReply struct {
	Client   string          `json:"client"`
	Messages []store.Message `json:"messages"`
	More     bool            `json:"more"`
}

// replayed ends every replay: client:replayed, and admin:replayed with the List fields.
type replayed struct {
	Epoch    string `json:"epoch"`
	Last     uint64 `json:"last"`
	Resync   bool   `json:"resync"`
	More     bool   `json:"more"`
	ListMore *bool  `json:"list_more,omitempty"`
	ListNext string `json:"list_next,omitempty"`
}

type visitorsReply struct {
	Visitors []listEntry `json:"visitors"`
	More     bool        `json:"more"`
	Next     string      `json:"next"`
}

type pageEvent struct {
	ID    string `json:"id"`
	URL   string `json:"url"`
	Title string `json:"title"`
	At    string `json:"at"`
}

// encodeFrame renders {"type": typ, "data": data}. The payloads are plain
// structs of strings, numbers and times, so encoding cannot fail.
// messageFrames encodes a stored message and wraps it as the client:message
// and admin:message frames that carry it: visitors get m.Public() (an agent's
// display name, never its login), so only a visitor's own message is
// encoded once for both. A note (m.Note) has no client frame: client is
// nil, and nothing of it is ever encoded for a visitor socket.
func messageFrames(m store.Message) (client, admin []byte) {
	if m.Note {
		return nil, encodeFrame(evAdminMessage, m)
	}
	data, err := jsontext.Marshal(m)
	if err != nil {
		return encodeFrame(evClientMessage, m.Public()), encodeFrame(evAdminMessage, m)
	}
	admin = rawFrame(evAdminMessage, data)
	if m.From == store.FromAdmin {
		return encodeFrame(evClientMessage, m.Public()), admin
	}
	return rawFrame(evClientMessage, data), admin
}

// rawFrame is {"type":typ,"data":data} for an event name that needs no escaping.
func rawFrame(typ string, data []byte) []byte {
	b := make([]byte, 0, len(typ)+len(data)+20)
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","data":`...)
	b = append(b, data...)
	return append(b, '}')
}

func encodeFrame(typ string, data any) []byte {
	b, err := jsontext.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{typ, data})
	if err != nil {
		b, _ = jsontext.Marshal(map[string]any{"type": evError, "data": refuse(codeInternal, "encode failed", "")})
	}
	return b
}
