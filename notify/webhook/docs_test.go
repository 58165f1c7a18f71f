package webhook

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatd/chatd/internal/docsnippet"
)

// The verification snippets of docs/notifications.md, run in their own
// interpreters on a secret file as `openssl rand -hex 32 > file` writes it,
// accept chatd's signature (chatd drops the file's trailing newline and
// keys the HMAC with the text) and refuse a changed body.
func TestDocSnippetsVerifyChatdsSignature(t *testing.T) {
	const docPath = "/run/secrets/chatd-webhook"
	secret := strings.Repeat("0123456789abcdef", 4)
	file := filepath.Join(t.TempDir(), "webhook")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	body := `{"type":"message.created","data":{"text":"Zoë <b>&</b>"}}`
	header := Sign(secret, time.Now(), []byte(body))
	for _, tc := range []struct{ lang, post string }{
		{"js", "\nprocess.stdout.write(String(verify(secret, %s, Buffer.from(%s, 'utf8'))));\n"},
		{"python", "\nprint(str(verify(secret, %s, %s.encode())).lower(), end='')\n"},
	} {
		blocks := docsnippet.Blocks(t, "../../docs/notifications.md", tc.lang)
		var snippet string
		for _, b := range blocks {
			if strings.Contains(b, "verify") {
				snippet = b
			}
		}
		if !strings.Contains(snippet, docPath) {
			t.Fatalf("docs/notifications.md: the %s verify snippet does not read %s", tc.lang, docPath)
		}
		snippet = strings.ReplaceAll(snippet, docPath, file)
		for _, c := range []struct {
			body, want string
		}{{body, "true"}, {body + " ", "false"}} {
			code := snippet + fmt.Sprintf(tc.post, strconv.Quote(header), strconv.Quote(c.body))
			if got := docsnippet.Run(t, tc.lang, code); got != c.want {
				t.Errorf("%s snippet on body %q: %q, want %s", tc.lang, c.body, got, c.want)
			}
		}
	}
}
