package store

import (
	"encoding/json"
	"fmt"

	"github.com/chatd/chatd/db"
)

// migrate upgrades a data file from schema version from to from+1, inside
// one transaction (package db calls it at open, once per step).
//
//	1 -> 2: messages go from JSON documents to messageCodec's binary form;
//	        package db then packs them into blocks (the first open after the
//	        upgrade does that before it returns, and compacts the file after).
func migrate(from int, tx *db.Tx) error {
	switch from {
	case 1:
		return migrateMessagesToBinary(tx)
	}
	return fmt.Errorf("no migration from schema version %d", from)
}

func migrateMessagesToBinary(tx *db.Tx) error {
	type rec struct{ key, val string }
	var recs []rec
	err := tx.Ascend("messages:", func(k, v string) bool {
		if len(v) > 0 && v[0] == '{' { // a record already converted is skipped
			recs = append(recs, rec{k, v})
		}
		return true
	})
	if err != nil {
		return err
	}
	var c messageCodec
	var buf []byte
	for _, r := range recs {
		var m Message
		if err := json.Unmarshal([]byte(r.val), &m); err != nil {
			return fmt.Errorf("message %s: %w", r.key, err)
		}
		buf, _ = c.Append(buf[:0], &m)
		if err := tx.Set(r.key, string(buf)); err != nil {
			return fmt.Errorf("message %s: %w", r.key, err)
		}
	}
	return nil
}
