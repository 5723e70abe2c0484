package attribution

import (
	"net/url"
	"testing"
)

func viaParseQuery(q string) Touch {
	v, _ := url.ParseQuery(q)
	return Touch{
		Source: v.Get("utm_source"), Medium: v.Get("utm_medium"), Campaign: v.Get("utm_campaign"),
		ID: v.Get("utm_id"), Content: v.Get("utm_content"), Term: v.Get("utm_term"), TTCLID: v.Get("ttclid"),
	}
}

var querySeeds = []string{
	"utm_source=tiktok&utm_medium=paid&utm_campaign=1&utm_content=3&ttclid=E.C.P.1",
	"utm_source=a&utm_source=b", "utm_source=%zz&utm_source=ok", "utm_source=x;y&utm_medium=m", "utm%5Fsource=enc&utm_term=a+b%20c",
	"&&utm_id&=x&utm_campaign=", "ttclid=1&ttclid=2;", "utm_medium=%E2%82%AC&utm_content=%", "", "=", "a=b=c&utm_term=t=u",
}

func TestFromQueryIsParseQuery(t *testing.T) {
	for _, q := range querySeeds {
		if got, want := fromQuery(q), viaParseQuery(q); got != want {
			t.Fatalf("%q: %+v, url.ParseQuery %+v", q, got, want)
		}
	}
}

// FuzzFromQuery: the fast path reads a query exactly as url.ParseQuery and
// Get do.
func FuzzFromQuery(f *testing.F) {
	for _, q := range querySeeds {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		if got, want := fromQuery(q), viaParseQuery(q); got != want {
			t.Fatalf("%q: %+v, url.ParseQuery %+v", q, got, want)
		}
	})
}
