package hub

import (
	"context"
	"errors"

	"github.com/chatd/chatd/internal/names"
	"github.com/chatd/chatd/store"
)

// A site that knows its user passes client:add an identity: the user's id on
// the site, a name and an e-mail, and hash = hex HMAC-SHA256(id) keyed with
// the identity secret both share. A verified id opens the same visitor (same
// public id, same conversation) on every device; each device gets a token
// of its own. The hash covers the id only: the name and e-mail that come
// with it are the user's claims, taken like a name or address the visitor
// typed, never as proof of anything. A refused identity creates nothing and
// leaves the socket open (the widget may then identify anonymously).

// IdentityVerifier checks identity hashes; *identity.Verifier satisfies it.
type IdentityVerifier interface {
	// Verify returns nil when hash is hex(HMAC-SHA256(secret, userID)), else
	// an error whose message is safe to show to the site's developer.
	Verify(userID, hash string) error
}

// identityClaim is client:add's identity.
type identityClaim struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Hash  string `json:"hash"`
}

// identified is what identifyVisitor resolved for clientAdd.
type identified struct {
	token   string // the token clientAdd restores the visitor with
	created bool   // a new visitor was made
	// switched: the visitor is not the one the socket's token restored (or
	// it had none): the client's cursor belongs to another conversation.
	switched bool
	changes  adminClient
}

// identifyVisitor verifies p.Identity and resolves its visitor. current is
// the visitor p.Token restores ("" for none). It answers the socket and
// returns nil when the identity is refused or the store failed.
func (h *Hub) identifyVisitor(ctx context.Context, c *conn, p *clientAdd) *identified {
	claim := p.Identity
	if h.cfg.Identity == nil {
		h.reply(c, refuse(codeBadIdentity, "identity verification is not configured on this server", ""))
		return nil
	}
	if err := h.cfg.Identity.Verify(claim.ID, claim.Hash); err != nil {
		h.log.Info().Str("remote", c.remote).Str("reason", err.Error()).Msg("identity refused")
		h.reply(c, refuse(codeBadIdentity, err.Error(), ""))
		return nil
	}
	current := ""
	if p.Token != "" {
		if v, err := h.st.VisitorByToken(p.Token); err == nil {
			current = v.ID
		} else if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrInvalid) {
			h.log.Error().Err(err).Str("remote", c.remote).Msg("look up visitor token")
			h.reply(c, refuse(codeUnavailable, "store unavailable, retry", ""))
			return nil
		}
	}
	// A name claim the name rule refuses is left out, not the identity.
	if claim.Name != "" {
		if n, err := names.CheckTrimmed(claim.Name, h.lim.maxName); err == nil {
			claim.Name = n
		} else {
			claim.Name = ""
		}
	}
	name := p.Name
	if claim.Name != "" {
		name = claim.Name
	}
	// A new device token is like a new visitor for the limits: each costs a write.
	if known, err := h.st.VisitorByIdentity(claim.ID); err == nil && known.ID != current {
		if !h.newVisitors.allow(c.addr) {
			h.log.Info().Str("remote", c.remote).Str("addr", c.addr).Msg("device token rate-limited")
			h.reply(c, refuse(codeRateLimited, "too many new visitors from this address, retry later", ""))
			return nil
		}
	}
	// A new visitor may be made: the same limit as for anonymous ones.
	if _, err := h.st.VisitorByIdentity(claim.ID); errors.Is(err, store.ErrNotFound) && !h.bindable(current) {
		if name == "" {
			h.reply(c, refuse(codeBadRequest, "name is required for a new visitor", ""))
			return nil
		}
		if !h.newVisitors.allow(c.addr) {
			h.log.Info().Str("remote", c.remote).Str("addr", c.addr).Msg("visitor creation rate-limited")
			h.reply(c, refuse(codeRateLimited, "too many new visitors from this address, retry later", ""))
			return nil
		}
		cost := visitorOverhead + len(name)
		for k, val := range p.Meta {
			cost += len(k) + len(val)
		}
		if !h.quota.takeAddr(c.addr, cost) {
			h.reply(c, refuse(codeQuota, "storage budget of this address is used up; no new visitor, retry later", ""))
			return nil
		}
	}
	res, err := h.st.Identify(ctx, claim.ID, current, name, p.Meta)
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			h.reply(c, refuse(codeBadRequest, trimInvalid(err), ""))
			return nil
		}
		h.log.Error().Err(err).Str("remote", c.remote).Msg("identify visitor")
		h.reply(c, refuse(codeUnavailable, "store unavailable, retry", ""))
		return nil
	}
	out := &identified{token: res.Token, created: res.Created, switched: res.Visitor.ID != current}
	if out.token == "" {
		out.token = p.Token
	}
	vid := res.Visitor.ID
	out.changes.ID = vid
	if res.Created || res.Bound {
		out.changes.Identity = claim.ID
	}
	// The claims: a name or address the user would otherwise have typed.
	if claim.Name != "" && !res.Created && claim.Name != res.Visitor.Name {
		if ch, err := h.st.Rename(ctx, vid, claim.Name); err == nil && ch {
			out.changes.Name = claim.Name
		}
	}
	if claim.Email != "" && h.cfg.CheckEmail != nil && h.cfg.EmailCapture != EmailOff {
		if email, err := h.cfg.CheckEmail(claim.Email); err == nil {
			if ch, err := h.st.SetEmail(ctx, vid, email); err == nil && ch {
				out.changes.Email = email
			}
		}
	}
	h.log.Debug().Str("visitor", vid).Bool("created", res.Created).Bool("bound", res.Bound).Msg("identity verified")
	return out
}

// bindable reports whether visitor id exists without an identity (Identify would bind it).
func (h *Hub) bindable(id string) bool {
	if id == "" {
		return false
	}
	p, err := h.st.Profile(id)
	return err == nil && p.Identity == ""
}

// identityChanged tells the admins what an identity changed on its visitor.
func (h *Hub) identityChanged(idn *identified) {
	if idn == nil {
		return
	}
	if ch := idn.changes; ch.Name != "" || ch.Email != "" || ch.Identity != "" {
		h.tellAdmins(encodeFrame(evAdminClient, ch))
	}
}
