package e2e

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"testing"

	"github.com/chatd/chatd/static"
)

// widgetBudget is the most the widget may weigh, gzipped, for everything it loads.
const widgetBudget = 10 * 1024

// widgetAssets are the files a customer page loads for the widget. The widget
// carries its stylesheet and icons inside widget.js, so that is all of it.
var widgetAssets = []string{"widget.js"}

func TestWidgetSizeBudget(t *testing.T) {
	total := 0
	for _, name := range widgetAssets {
		raw, err := fs.ReadFile(static.Public(), name)
		if err != nil {
			t.Fatalf("read %s: %v", name, err)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if _, err := zw.Write(raw); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes, %d gzipped", name, len(raw), buf.Len())
		total += buf.Len()
	}
	t.Logf("widget total: %d bytes gzipped (budget %d)", total, widgetBudget)
	if total > widgetBudget {
		t.Errorf("widget weighs %d bytes gzipped, over the %d byte budget", total, widgetBudget)
	}
}
