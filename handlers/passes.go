package handlers

import (
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"
	"github.com/skip2/go-qrcode"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// passKeyDocument is what /.well-known/eventhive-pass-key serves: the
// public key a scanner verifies passes with, offline.
type passKeyDocument struct {
	Alg     string `json:"alg"`
	Key     string `json:"key"` // base64url without padding of the 32-byte public key
	Version int    `json:"version"`
	Format  string `json:"format"`
}

// passKey serves the public key of EventHive passes and their format.
func (h *Handler) passKey(w http.ResponseWriter, r *http.Request) {
	key, err := h.store.PassPublicKey(r.Context())
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	body, err := json.Marshal(passKeyDocument{Alg: "Ed25519", Key: base64.RawURLEncoding.EncodeToString(key),
		Version: store.PassVersion, Format: store.PassFormat})
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	// The key never changes; scanners on other sites may fetch it.
	hdr.Set("Cache-Control", "public, max-age=86400")
	hdr.Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(append(body, '\n'))
}

type passPage struct {
	Page
	Pass store.HeldPass
	// QR is the pass's QR code, a PNG as a data: URI (the CSP allows
	// data: images), QRSize its width and height in pixels.
	QR     template.URL
	QRSize int
	// SellPath leads to the form that sells the ticket on, until the event
	// starts.
	SellPath string
}

// qrModulePixels is the size of one module of a pass's QR code: large
// enough to print sharp and to scan from a phone's screen in the sun.
const qrModulePixels = 8

// showPass shows a pass to its holder, and to nobody else: whoever else asks,
// signed in or not, gets 404, as for a code that is no pass at all.
func (h *Handler) showPass(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	u := currentUser(r)
	if u == nil {
		h.notFound(w, r)
		return
	}
	held, err := h.store.HeldPass(r.Context(), chi.URLParam(r, "code"), u.ID)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	qr, err := qrcode.New(held.Code(), qrcode.Medium)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	png, err := qr.PNG(-qrModulePixels)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	data := passPage{
		Page:   h.page(r, "Pass: "+held.Event.Name),
		Pass:   held,
		QR:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		QRSize: len(qr.Bitmap()) * qrModulePixels,
	}
	if !held.Event.Started(data.Now) {
		holding, err := h.store.Holding(r.Context(), held.RootID)
		if err != nil {
			h.serverError(w, r, err)
			return
		}
		data.SellPath = "/my/tickets/" + strconv.FormatInt(holding.TicketID, 10) + "/sell"
	}
	h.render(w, r, http.StatusOK, templates.Pass, data)
}
