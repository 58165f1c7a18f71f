package seed

import (
	"os"
	"testing"
)

// TestAgentNamesFollowTheNameRule: agent names are checked by the same rule
// as visitor names (package names): visible, no bidi, format or invisible
// characters.
func TestAgentNamesFollowTheNameRule(t *testing.T) {
	for _, name := range []string{"\u202Eevil.exe", "\u200B", "\uFEFF", "\u3164", "ann\u200F", " ann", "ann ", "\u0301", "a\u2066b"} {
		if ValidName(name) == nil {
			t.Errorf("agent name %+q accepted", name)
		}
	}
	for _, name := range []string{"ann", "Zoë", "李", "ann.smith-2"} {
		if err := ValidName(name); err != nil {
			t.Errorf("agent name %q refused: %v", name, err)
		}
	}
	dir := t.TempDir()
	if err := writeRaw(dir, "[{\"name\":\"ann\\u202e\",\"hash\":\"x\"}]"); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("a seed file with a bidi control in a name loaded")
	}
	if err := writeRaw(dir, "[{\"name\":\"ann\xff\",\"hash\":\"x\"}]"); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("a seed file that is not UTF-8 loaded")
	}
}

func writeRaw(dir, content string) error {
	return os.WriteFile(Path(dir), []byte(content), 0o600)
}
