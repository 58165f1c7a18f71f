package notify

import (
	"reflect"
	"testing"
)

func TestPageLink(t *testing.T) {
	for in, want := range map[string]string{
		"https://shop.test/cart?session=SECRET#frag":  "https://shop.test/cart",
		"  HTTPS://Shop.test/a/b?x=1  ":               "https://Shop.test/a/b",
		"http://user:pass@shop.test:8080/p#t=SECRET":  "http://shop.test:8080/p",
		"https://shop.test/%E2%9C%93?q":               "https://shop.test/%E2%9C%93",
		"https://shop.test#only-a-fragment":           "https://shop.test",
		"javascript:alert(1)//https://shop.test/?s=1": "",
		"//shop.test/cart?session=SECRET":             "",
		"/cart?session=SECRET":                        "",
		"ftp://shop.test/f?x":                         "",
		"https://%zz/?session=SECRET":                 "",
		"":                                            "",
	} {
		if got := PageLink(in); got != want {
			t.Errorf("PageLink(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestScrubMeta(t *testing.T) {
	in := map[string]string{"page": "https://shop.test/cart?session=SECRET#frag", "referrer": "HTTP://search.test/?q=my+email",
		"title": "Cart ? # &", "plan": "pro", "odd": "https://%zz/?session=SECRET", "proto": "//cdn.test/x?k=SECRET"}
	want := map[string]string{"page": "https://shop.test/cart", "referrer": "http://search.test/", "title": "Cart ? # &", "plan": "pro", "odd": "", "proto": ""}
	if got := ScrubMeta(in); !reflect.DeepEqual(got, want) {
		t.Errorf("ScrubMeta = %v, want %v", got, want)
	}
	if in["page"] != "https://shop.test/cart?session=SECRET#frag" {
		t.Error("ScrubMeta changed the caller's map (the stored visitor)")
	}
	if ScrubMeta(nil) != nil {
		t.Error("nil meta became a map")
	}
}
