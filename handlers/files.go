package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/eventhive/eventhive/store"
	"github.com/eventhive/eventhive/templates"
)

// maxUploadBytes bounds the body of an e-ticket upload: the largest file and
// the multipart form around it.
const maxUploadBytes = store.MaxFileBytes + 64<<10

// isUpload reports whether r posts an e-ticket file, to
// /tickets/{id}/files/{n}: the only requests whose body may be that large.
func isUpload(r *http.Request) bool {
	rest, ok := strings.CutPrefix(r.URL.Path, "/tickets/")
	id, n, found := strings.Cut(rest, "/files/")
	return r.Method == http.MethodPost && ok && found && positiveID(id) > 0 && positiveID(n) > 0
}

// fileTypes are the e-ticket files accepted, by the type their content
// shows (http.DetectContentType), with the extension they are served with.
var fileTypes = map[string]string{"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}

// Messages beside an e-ticket's file field.
const (
	fileMissing = "Choose the e-ticket’s file: a PDF, PNG or JPEG of at most 5 MB."
	fileTooBig  = "This file is larger than 5 MB. Attach the e-ticket itself: a PDF, PNG or JPEG of at most 5 MB."
	fileWrong   = "This file is not a PDF, PNG or JPEG: its content is checked, not its name. Attach the e-ticket itself."
	fileBroken  = "The file could not be read. Please choose it again."

	passesNoFiles = "This event checks tickets in with EventHive passes: buyers get a pass, and there are no files to attach."
)

// fileUploads is what a seller's listing page shows of its tickets' files.
type fileUploads struct {
	Slots []store.FileSlot
	// Open: files may be attached, the event not having started.
	Open bool
	// Resale: the listing resells tickets bought, which keep their seats'
	// files; its seller attaches none.
	Resale bool
	// Errors are the messages beside the file fields, by ticket number.
	Errors map[int]string
	// Error is a refusal that no field can mend: the ticket sold, the
	// event started.
	Error string
}

// fileUploads is the file part of the seller's page of listing t, or nil for
// an event whose tickets are EventHive passes.
func (h *Handler) fileUploads(ctx context.Context, t store.Listing, now time.Time) (*fileUploads, error) {
	slots, err := h.store.ListingFiles(ctx, t.ID)
	if err != nil || len(slots) == 0 {
		return nil, err
	}
	return &fileUploads{Slots: slots, Open: !t.Event.Started(now), Resale: slots[0].SeatID != slots[0].TicketID}, nil
}

// ticketNumber reads the {n} URL parameter: a ticket's number within its
// listing or order, from 1.
func ticketNumber(r *http.Request) (int, bool) {
	n, err := strconv.Atoi(chi.URLParam(r, "n"))
	return n, err == nil && n >= 1 && n <= store.MaxQuantity
}

// attachFile attaches the posted file to the n-th ticket of the seller's
// listing, or shows the listing's page with the reason beside the field.
func (h *Handler) attachFile(w http.ResponseWriter, r *http.Request) {
	t, ok := h.ownTicket(w, r)
	if !ok {
		return
	}
	n, ok := ticketNumber(r)
	if !ok {
		h.notFound(w, r)
		return
	}
	up := readUpload(r)
	if up.problem == "" {
		err := h.store.AttachFile(r.Context(), t.SellerID, t.ID, n, up.content, up.contentType, h.now())
		if err == nil {
			h.sessions.Put(r.Context(), sessionFlash, fmt.Sprintf("The e-ticket of ticket %d is attached.", n))
			redirect(w, r, ticketPath(t.ID)+"#ticket-files")
			return
		}
		ref, known := refusalFor(attaching, facts{err: err, now: h.now()})
		if !known {
			h.storeError(w, r, err)
			return
		}
		up.status, up.problem = ref.status, ref.message
	}
	data, err := h.ticketPage(r, t)
	if err != nil {
		h.serverError(w, r, err)
		return
	}
	switch {
	case data.Files == nil:
		h.renderError(w, r, http.StatusConflict, "No e-ticket files", passesNoFiles)
		return
	case n > len(data.Files.Slots):
		h.notFound(w, r)
		return
	}
	if up.status == http.StatusConflict {
		data.Files.Error = up.problem
	} else {
		data.Files.Errors = map[int]string{n: up.problem}
	}
	h.renderMain(w, r, up.status, templates.Ticket, data)
}

// upload is an e-ticket file as posted, or why it is refused.
type upload struct {
	content     []byte
	contentType string
	status      int
	problem     string // "" when the file may be attached
}

// readUpload reads the "file" field of a multipart form, judging its type by
// its content.
func readUpload(r *http.Request) upload {
	tooBig := upload{status: http.StatusRequestEntityTooLarge, problem: fileTooBig}
	if r.ContentLength > maxUploadBytes {
		return tooBig
	}
	form, err := r.MultipartReader()
	if err != nil {
		return upload{status: http.StatusBadRequest, problem: fileBroken}
	}
	for {
		part, err := form.NextPart()
		var over *http.MaxBytesError
		switch {
		case errors.As(err, &over):
			return tooBig
		case errors.Is(err, io.EOF):
			return upload{status: http.StatusUnprocessableEntity, problem: fileMissing}
		case err != nil:
			return upload{status: http.StatusBadRequest, problem: fileBroken}
		}
		if part.FormName() != "file" {
			continue
		}
		content, err := io.ReadAll(io.LimitReader(part, store.MaxFileBytes+1))
		switch {
		case errors.As(err, &over) || len(content) > store.MaxFileBytes:
			return tooBig
		case err != nil:
			return upload{status: http.StatusBadRequest, problem: fileBroken}
		case len(content) == 0:
			return upload{status: http.StatusUnprocessableEntity, problem: fileMissing}
		}
		contentType := http.DetectContentType(content)
		if _, ok := fileTypes[contentType]; !ok {
			return upload{status: http.StatusUnprocessableEntity, problem: fileWrong}
		}
		return upload{content: content, contentType: contentType}
	}
}

// listingFile serves the file of the n-th ticket of a listing: to the
// seller until it is sold, then to its holder. Anyone else, signed out
// included, gets 404.
func (h *Handler) listingFile(w http.ResponseWriter, r *http.Request) {
	h.serveTicketFile(w, r, h.store.ListingFile)
}

// orderFile serves the file of the n-th ticket of a paid order to its buyer
// while they hold it. Anyone else, signed out included, gets 404.
func (h *Handler) orderFile(w http.ResponseWriter, r *http.Request) {
	h.serveTicketFile(w, r, h.store.OrderFile)
}

// serveTicketFile serves what read finds for the signed-in viewer, the
// {id} and the {n} of the URL, as a download that no browser renders as a
// page of the app.
func (h *Handler) serveTicketFile(w http.ResponseWriter, r *http.Request,
	read func(ctx context.Context, viewerID, id int64, n int) (store.TicketFile, error)) {
	u := currentUser(r)
	id, idOK := pathID(r)
	n, nOK := ticketNumber(r)
	if u == nil || !idOK || !nOK {
		h.notFound(w, r)
		return
	}
	f, err := read(r.Context(), u.ID, id, n)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	header := w.Header()
	header.Set("Content-Type", f.ContentType)
	header.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="eventhive-ticket-%d.%s"`, f.SeatID,
		fileTypes[f.ContentType]))
	header.Set("X-Content-Type-Options", "nosniff")
	header.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	header.Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.Content))
}
