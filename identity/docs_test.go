package identity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatd/chatd/internal/docsnippet"
)

// Every snippet of docs/identity.md, run in its own interpreter on a secret
// file as `openssl rand -hex 32 > file` writes it (a trailing newline),
// computes the hash chatd accepts for that file (chatd drops the newline).
func TestDocSnippetsComputeTheHashChatdAccepts(t *testing.T) {
	const docPath = "/run/secrets/chatd-identity"
	for _, ending := range []string{"\n", "\r\n", ""} {
		file := filepath.Join(t.TempDir(), "identity")
		if err := os.WriteFile(file, []byte(docSecret+ending), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ lang, pre, post string }{
			{"js", "", "\nprocess.stdout.write(identityHash(secret, 'user-42'));\n"},
			{"php", "<?php\n$userId = 'user-42';\n", "\necho $identityHash;\n"},
			{"python", "user_id = 'user-42'\n", "\nprint(identity_hash, end='')\n"},
			{"ruby", "user_id = 'user-42'\n", "\nprint identity_hash\n"},
		} {
			blocks := docsnippet.Blocks(t, "../docs/identity.md", tc.lang)
			if len(blocks) != 1 || !strings.Contains(blocks[0], docPath) {
				t.Fatalf("docs/identity.md: want one %s snippet reading %s, got %d", tc.lang, docPath, len(blocks))
			}
			code := tc.pre + strings.ReplaceAll(blocks[0], docPath, file) + tc.post
			if got := docsnippet.Run(t, tc.lang, code); got != docHash {
				t.Errorf("%s snippet, secret file ending %q: %q, want %s", tc.lang, ending, got, docHash)
			}
		}
	}
}
