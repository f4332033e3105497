package static

import (
	"net/http"
	"strconv"
	"strings"
)

// Encoding is a content coding a response can be sent in, as named in
// Content-Encoding; Identity is none.
type Encoding string

const (
	Identity Encoding = ""
	Brotli   Encoding = "br"
	Gzip     Encoding = "gzip"
)

// Negotiate returns the encoding among offered that r's Accept-Encoding
// weighs most, or Identity when it accepts none of them. An encoding is
// accepted with a q-value above 0 and not below that of an "identity" the
// client names; one the client does not name takes the q-value of "*", if
// any. Ties go to the first offered, so callers list their preferred
// encoding first. "gzip;q=0", "identity, gzip;q=0.5", no Accept-Encoding
// and a q-value that does not parse therefore all give Identity. Pages and
// static files both decide with it.
func Negotiate(r *http.Request, offered ...Encoding) Encoding {
	brQ, gzipQ, starQ, identityQ := -1.0, -1.0, -1.0, 0.0
	for _, field := range r.Header.Values("Accept-Encoding") {
		for item := range strings.SplitSeq(field, ",") {
			coding, params, _ := strings.Cut(item, ";")
			q := qvalue(params)
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "br":
				brQ = q
			case "gzip", "x-gzip":
				gzipQ = q
			case "*":
				starQ = q
			case "identity":
				identityQ = q
			}
		}
	}
	best, bestQ := Identity, 0.0
	for _, enc := range offered {
		q := gzipQ
		if enc == Brotli {
			q = brQ
		}
		if q < 0 {
			q = starQ
		}
		if q > bestQ && q >= identityQ {
			best, bestQ = enc, q
		}
	}
	return best
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
