package main

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/chatd/chatd/internal/atomicfile"
	"github.com/chatd/chatd/seed"
	"github.com/chatd/chatd/server"
	"github.com/chatd/chatd/store"
)

// agentsFile is server.Agents over the admins file: each change is written
// to the file (seed.SetWith / seed.Remove, as `chatd admin` does) and then
// applied at once through the ops watcher (reload), so the file stays the
// one source of truth whatever changed it. Changes are serialized.
type agentsFile struct {
	mu     sync.Mutex
	dir    string
	cost   int
	reload func() error // set once ops runs; applies the file now
	// mirror, in cluster mode, first writes the cluster's admins into the
	// file, so a change made through this node starts from what every node
	// holds (nil on a single node: the file is the truth).
	mirror func() error
	byMu   sync.Mutex
	by     string // the agent whose API change is being applied, "" otherwise
}

// actor is the agent whose API change is being applied now ("" when the
// file changed otherwise): admin:conversation's by when it unassigns.
func (a *agentsFile) actor() string {
	a.byMu.Lock()
	defer a.byMu.Unlock()
	return a.by
}

func (a *agentsFile) setActor(by string) {
	a.byMu.Lock()
	a.by = by
	a.byMu.Unlock()
}

func (a *agentsFile) List() ([]store.Admin, error) {
	if a.mirror != nil {
		a.mu.Lock()
		err := a.mirror()
		a.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return seed.Load(a.dir)
}

func (a *agentsFile) Set(name string, c seed.Change) (store.Admin, error) {
	if err := seed.ValidName(name); err != nil {
		return store.Admin{}, fmt.Errorf("%w: %v", server.ErrInvalidAgent, err)
	}
	if c.Role != nil {
		if err := store.ValidRole(*c.Role); err != nil {
			return store.Admin{}, fmt.Errorf("%w: %v", server.ErrInvalidAgent, err)
		}
	}
	if c.Display != nil && *c.Display != "" {
		if err := seed.ValidDisplay(*c.Display); err != nil {
			return store.Admin{}, fmt.Errorf("%w: %v", server.ErrInvalidAgent, err)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.mirror != nil {
		if err := a.mirror(); err != nil {
			return store.Admin{}, err
		}
	}
	if c.Role != nil && *c.Role != store.RoleAdmin {
		if err := a.keepsAnAdmin(name); err != nil {
			return store.Admin{}, err
		}
	}
	c.Cost = a.cost
	saved, err := seed.SetWith(a.dir, name, c)
	if errors.Is(err, seed.ErrBadLogin) {
		return store.Admin{}, fmt.Errorf("%w: %v", server.ErrInvalidAgent, err)
	}
	if err != nil && !errors.Is(err, atomicfile.ErrNotDurable) {
		return store.Admin{}, err
	}
	// Not durable: the file is replaced, so it is applied too (the watcher
	// would anyway): what is in force is what the file holds.
	return saved, errors.Join(err, a.apply())
}

func (a *agentsFile) Remove(name, by string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.setActor(by)
	defer a.setActor("")
	if a.mirror != nil {
		if err := a.mirror(); err != nil {
			return err
		}
	}
	if err := a.keepsAnAdmin(name); err != nil {
		return err
	}
	err := seed.Remove(a.dir, name)
	if err != nil && !errors.Is(err, atomicfile.ErrNotDurable) {
		return err
	}
	return errors.Join(err, a.apply()) // not durable: applied all the same, as in Set
}

// keepsAnAdmin refuses a change that takes the admin role from name when no
// other agent has it.
func (a *agentsFile) keepsAnAdmin(name string) error {
	list, err := seed.Load(a.dir)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(list, func(x store.Admin) bool { return x.Name == name && x.EffectiveRole() == store.RoleAdmin }) {
		return nil // not an admin now: nothing is lost
	}
	if slices.ContainsFunc(list, func(x store.Admin) bool { return x.Name != name && x.EffectiveRole() == store.RoleAdmin }) {
		return nil
	}
	return server.ErrLastAdmin
}

// setReload gives the function that applies the file (ops' watcher).
func (a *agentsFile) setReload(fn func() error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reload = fn
}

// apply puts the file in force now (the watcher would within --admins-poll).
func (a *agentsFile) apply() error {
	if a.reload == nil {
		return errors.New("the admins file is written but not applied yet: chatd is starting")
	}
	return a.reload()
}
