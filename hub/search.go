package hub

import (
	"errors"

	"golang.org/x/time/rate"

	"github.com/chatd/chatd/internal/names"
	"github.com/chatd/chatd/store"
)

// admin:search looks through every conversation (store.Search): visitors
// whose name, e-mail or attributes hold the query, then messages (notes
// included: only agents search) holding each of its words, newest first.
// A result names the visitor and the message's offset, so the portal opens
// the conversation at the message. Searches are limited per agent.

const evAdminSearch = "admin:search"

// searchDefault is the default number of results of a search.
const searchDefault = 20

var (
	searchRate  = rate.Limit(10) // searches per second per agent
	searchBurst = 20
)

// msgNoWord answers a query without a word (emoji or punctuation alone, as
// "🚚" or "!!"): the index holds only words (runs of letters and digits,
// store.SearchWords), so such a query could never find a message; an empty
// answer would read as "no message holds it". docs/protocol.md quotes it.
const msgNoWord = "the query holds no word: search matches words of letters and digits"

// searchRequest is admin:search.
type searchRequest struct {
	Q     string `json:"q"`
	Limit int    `json:"limit"`
	CID   string `json:"cid"`
}

// searchReply is admin:search's answer.
type searchReply struct {
	Q       string      `json:"q"`
	CID     string      `json:"cid,omitempty"`
	Results []searchHit `json:"results"`
	More    bool        `json:"more"`
}

type searchHit struct {
	Client  string `json:"client"`
	Name    string `json:"name"`
	Offset  uint64 `json:"offset"`
	At      string `json:"at"`
	Field   string `json:"field"`
	Snippet string `json:"snippet"`
	Note    bool   `json:"note,omitempty"` // the match is in an internal note
}

func decodeSearch(data []byte, cid func() string) (*inboxFrame, *frameError) {
	var p searchRequest
	if err := decodeData(data, &p); err != nil {
		return nil, refuse(codeBadRequest, err.Error(), cid())
	}
	if err := checkCID(p.CID); err != nil {
		return nil, refuse(codeBadRequest, err.Error(), "")
	}
	switch {
	case !names.HasVisible(p.Q) || len(p.Q) > store.MaxQuery:
		return nil, refuse(codeBadRequest, "q must be 1 to 256 bytes with a visible character", p.CID)
	case len(store.SearchWords(p.Q)) == 0:
		return nil, refuse(codeBadRequest, msgNoWord, p.CID)
	case p.Limit < 0:
		return nil, refuse(codeBadRequest, "limit must not be negative", p.CID)
	case p.Limit == 0:
		p.Limit = searchDefault
	case p.Limit > store.MaxSearchLimit:
		p.Limit = store.MaxSearchLimit
	}
	return &inboxFrame{cid: p.CID, p: &p}, nil
}

// adminSearch answers admin:search.
func (h *Hub) adminSearch(c *conn, p *searchRequest) {
	if !h.searchLimits.allow(c.who().name) {
		h.reply(c, refuse(codeRateLimited, "too many searches, slow down", p.CID))
		return
	}
	ctx, cancel := storeCtx()
	defer cancel()
	rs, more, err := h.st.Search(ctx, p.Q, p.Limit)
	switch {
	case errors.Is(err, store.ErrInvalid):
		h.reply(c, refuse(codeBadRequest, "q must be 1 to 256 bytes of text", p.CID))
		return
	case err != nil:
		h.log.Warn().Err(err).Str("admin", c.logAdmin()).Msg("search")
		h.reply(c, refuse(codeUnavailable, "search unavailable, retry", p.CID))
		return
	}
	out := searchReply{Q: p.Q, CID: p.CID, Results: make([]searchHit, 0, len(rs)), More: more}
	for _, r := range rs {
		out.Results = append(out.Results, searchHit{Client: r.Client, Name: r.Name, Offset: r.Offset, At: rfc3339ms(r.At), Field: r.Field, Snippet: r.Snippet, Note: r.Note})
	}
	c.live(0, encodeFrame(evAdminSearch, out))
}
