package static

import (
	"net/http"
	"strconv"
	"strings"
)

// AcceptsGzip reports whether r's Accept-Encoding lets the response be
// gzip-compressed: "gzip" (or "x-gzip"), else "*", with a q-value above 0
// and not below that of an "identity" the client names. "gzip;q=0" and
// "identity, gzip;q=0.5" therefore get the uncompressed body, and so does a
// request without Accept-Encoding or with a q-value that does not parse.
// Pages and static files both decide with it.
func AcceptsGzip(r *http.Request) bool {
	gzipQ, starQ, identityQ := -1.0, -1.0, 0.0
	for _, field := range r.Header.Values("Accept-Encoding") {
		for item := range strings.SplitSeq(field, ",") {
			coding, params, _ := strings.Cut(item, ";")
			q := qvalue(params)
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				gzipQ = q
			case "*":
				starQ = q
			case "identity":
				identityQ = q
			}
		}
	}
	if gzipQ < 0 {
		gzipQ = starQ
	}
	return gzipQ > 0 && gzipQ >= identityQ
}

// qvalue returns the weight in an Accept-Encoding item's parameters: 1 when
// there is none, 0 when it does not parse or lies outside 0 to 1.
func qvalue(params string) float64 {
	for p := range strings.SplitSeq(params, ";") {
		name, value, _ := strings.Cut(p, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || q < 0 || q > 1 {
			return 0
		}
		return q
	}
	return 1
}
