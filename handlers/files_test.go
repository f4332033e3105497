package handlers_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/eventhive/eventhive/store"
)

// Files as the tests upload them: their content decides their type.
var (
	pdfHeader  = "%PDF-1.7\n"
	pngHeader  = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	jpegHeader = "\xff\xd8\xff\xe0\x00\x10JFIF\x00"
)

// eticket is a PDF whose content differs by name.
func eticket(name string) []byte { return []byte(pdfHeader + "% e-ticket " + name + "\n%%EOF\n") }

// inAMonth is the sell form's fields for tickets of a new event a month
// from the bundle's now.
func (b *testBundle) inAMonth(t *testing.T, name string, quantity string) url.Values {
	t.Helper()
	return with(b.newEvent(t, name, 30*24*time.Hour), "quantity", quantity)
}

// filesPath is where the n-th ticket's file of a listing is uploaded and
// read by its seller.
func filesPath(listingID int64, n int) string {
	return "/tickets/" + itoa(listingID) + "/files/" + itoa(int64(n))
}

// orderFilePath is where the buyer of an order reads its n-th ticket's file.
func orderFilePath(orderID int64, n int) string {
	return "/orders/" + itoa(orderID) + "/tickets/" + itoa(int64(n)) + "/file"
}

// upload posts a file, named filename, as the "file" field of a multipart
// form to the n-th ticket of a listing.
func (b *testBundle) upload(t *testing.T, c *http.Client, listingID int64, n int, filename string, content []byte) *response {
	t.Helper()
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	part, err := form.CreateFormFile("file", filename)
	require.NoError(t, err)
	_, err = part.Write(content)
	require.NoError(t, err)
	require.NoError(t, form.Close())
	return b.do(t, c, http.MethodPost, filesPath(listingID, n), &body, withHeader("Content-Type", form.FormDataContentType()))
}

// uploadOK uploads a file and checks that it was taken.
func (b *testBundle) uploadOK(t *testing.T, c *http.Client, listingID int64, n int, content []byte) {
	t.Helper()
	requireRedirect(t, b.upload(t, c, listingID, n, "ticket.pdf", content), "/tickets/"+itoa(listingID)+"#ticket-files")
}

// payOK pays an order through the built-in checkout and waits for the
// webhook's job to record it.
func (b *testBundle) payOK(t *testing.T, c *http.Client, orderID int64) {
	t.Helper()
	res := b.postForm(t, c, "/checkout/"+b.startCheckout(t, c, orderID)+"/pay", url.Values{})
	requireRedirect(t, res, "/orders/"+itoa(orderID))
	require.Eventually(t, func() bool { return b.order(t, orderID).Status == store.Paid },
		10*time.Second, 20*time.Millisecond)
}

// attachment matches the Content-Disposition of an e-ticket.
var attachment = regexp.MustCompile(`^attachment; filename="eventhive-ticket-\d+\.(pdf|png|jpg)"$`)

// requireDownload checks that a file is served as a download of content,
// of the type, that no browser renders as a page of the app.
func requireDownload(t *testing.T, res *response, contentType string, content []byte) {
	t.Helper()
	requireStatus(t, res, http.StatusOK)
	require.Equal(t, content, []byte(res.HTML))
	require.Equal(t, contentType, res.Header.Get("Content-Type"))
	require.Regexp(t, attachment, res.Header.Get("Content-Disposition"))
	require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
	require.Equal(t, "sandbox; default-src 'none'", res.Header.Get("Content-Security-Policy"))
	require.Equal(t, "private, no-store", res.Header.Get("Cache-Control"))
}

// requireNoFile checks that each client gets the 404 page at path.
func requireNoFile(t *testing.T, b *testBundle, path string, clients ...*http.Client) {
	t.Helper()
	for _, c := range clients {
		requireNotFound(t, b.get(t, c, path))
	}
}

func TestTicketFiles(t *testing.T) {
	t.Parallel()

	forEachDialect(t, func(t *testing.T, dialect store.Dialect) {
		t.Run("BuyerDownloadsOncePaidAndNobodyElse", func(t *testing.T) {
			t.Parallel()
			b, _ := paymentBundle(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			buyer := b.signUp(t, "buyer@example.com")
			stranger := b.signUp(t, "stranger@example.com")
			l := b.sellOK(t, seller, b.inAMonth(t, "Opera", "2"))

			page := b.get(t, seller, "/tickets/"+itoa(l.ID))
			for _, n := range []int{1, 2} {
				form := requireElement(t, page.HTML, `#ticket-files form[method="post"][enctype="multipart/form-data"][action="`+
					filesPath(l.ID, n)+`"]`)
				require.Equal(t, 1, form.Find(`input[type="file"][name="file"]#file-`+itoa(int64(n))).Length())
			}
			requireNoElement(t, b.get(t, buyer, "/tickets/"+itoa(l.ID)).HTML, "#ticket-files", "only the seller's")

			b.uploadOK(t, seller, l.ID, 1, eticket("one"))
			page = b.get(t, seller, "/tickets/"+itoa(l.ID))
			requireElement(t, page.HTML, `#ticket-file-1 a[href="`+filesPath(l.ID, 1)+`"]`)
			requireElementText(t, page.HTML, `#ticket-file-1 button`, "Replace the file of ticket 1")
			requireDownload(t, b.get(t, seller, filesPath(l.ID, 1)), "application/pdf", eticket("one"))
			requireNoFile(t, b, filesPath(l.ID, 1), buyer, stranger, newClient(t))
			requireNoFile(t, b, filesPath(l.ID, 2), seller)

			order := b.buyN(t, buyer, l.ID, 2)
			requireNoFile(t, b, orderFilePath(order, 1), buyer, seller, stranger, newClient(t))
			requireNoElement(t, b.get(t, buyer, "/orders/"+itoa(order)).HTML, "#ticket-files", "not before paying")

			b.payOK(t, buyer, order)
			requireDownload(t, b.get(t, buyer, orderFilePath(order, 1)), "application/pdf", eticket("one"))
			seatName := b.get(t, buyer, orderFilePath(order, 1)).Header.Get("Content-Disposition")
			requireNoFile(t, b, orderFilePath(order, 1), seller, stranger, newClient(t))
			requireNoFile(t, b, filesPath(l.ID, 1), seller, stranger, newClient(t))
			requireNoFile(t, b, orderFilePath(order, 2), buyer)
			requireNoFile(t, b, orderFilePath(order, 3), buyer)
			requireNoFile(t, b, "/orders/"+itoa(order)+"/tickets/0/file", buyer)

			page = b.get(t, buyer, "/orders/"+itoa(order))
			requireElement(t, page.HTML, `#ticket-file-1 a[href="`+orderFilePath(order, 1)+`"]`)
			requireElementText(t, page.HTML, "#ticket-file-2", "Ticket 2: The seller has not attached this e-ticket yet; "+
				"we will put it here for you to download as soon as they do.")
			requireNoElement(t, page.HTML, `#ticket-file-2 a`)

			// The seller sees the paid ticket waiting for its file, and
			// attaches it; the sold ticket's file stays as the buyer got it.
			mine := b.get(t, seller, "/my/tickets")
			requireElementText(t, mine.HTML, `#my-ticket-`+itoa(l.ID)+` .awaiting-files`,
				"A buyer is waiting for their e-ticket: attach it")
			page = b.get(t, seller, "/tickets/"+itoa(l.ID))
			requireElement(t, page.HTML, `#ticket-file-2 .awaiting-file`)
			requireNoElement(t, page.HTML, `#ticket-file-1 form`, "sold with its file: no replacing")
			res := b.upload(t, seller, l.ID, 1, "new.pdf", eticket("replaced"))
			requireStatus(t, res, http.StatusConflict)
			requireElementText(t, res.HTML, `#ticket-files [role="alert"]`,
				"This ticket is sold: its buyer has this file, so it can no longer be replaced.")
			b.uploadOK(t, seller, l.ID, 2, eticket("two"))
			requireNoElement(t, b.get(t, seller, "/my/tickets").HTML, ".awaiting-files")
			requireDownload(t, b.get(t, buyer, orderFilePath(order, 2)), "application/pdf", eticket("two"))
			requireDownload(t, b.get(t, buyer, orderFilePath(order, 1)), "application/pdf", eticket("one"))
			require.Equal(t, seatName, b.get(t, buyer, orderFilePath(order, 1)).Header.Get("Content-Disposition"))
		})

		t.Run("SameFileRefusedOnAnotherTicket", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			other := b.signUp(t, "other@example.com")
			l := b.sellOK(t, seller, b.inAMonth(t, "Opera", "2"))
			elsewhere := b.sellOK(t, other, b.inAMonth(t, "Opera again", "1"))
			b.uploadOK(t, seller, l.ID, 1, eticket("one"))

			for _, at := range []struct {
				c       *http.Client
				listing int64
				n       int
			}{{seller, l.ID, 2}, {other, elsewhere.ID, 1}} {
				res := b.upload(t, at.c, at.listing, at.n, "copy.pdf", eticket("one"))
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, "file-"+itoa(int64(at.n)),
					"This file is already attached to another ticket: each e-ticket can be sold once.")
			}
			require.Equal(t, 1, b.rowCount(t, "ticket_files"))
			b.uploadOK(t, seller, l.ID, 1, eticket("one")) // the same ticket again is no copy
		})

		t.Run("TypeJudgedByContent", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			l := b.sellOK(t, seller, b.inAMonth(t, "Opera", "3"))
			png := []byte(pngHeader + "image data")
			jpeg := []byte(jpegHeader + "image data")

			requireRedirect(t, b.upload(t, seller, l.ID, 1, "ticket.pdf", png), "/tickets/"+itoa(l.ID)+"#ticket-files")
			res := b.get(t, seller, filesPath(l.ID, 1))
			requireDownload(t, res, "image/png", png)
			require.True(t, strings.HasSuffix(res.Header.Get("Content-Disposition"), `.png"`))
			requireRedirect(t, b.upload(t, seller, l.ID, 2, "ticket", jpeg), "/tickets/"+itoa(l.ID)+"#ticket-files")
			requireDownload(t, b.get(t, seller, filesPath(l.ID, 2)), "image/jpeg", jpeg)

			for _, content := range []string{
				"<!doctype html><html><script>alert(1)</script></html>",
				"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
				"just some text",
				"GIF89a\x01\x00\x01\x00",
			} {
				res := b.upload(t, seller, l.ID, 3, "ticket.pdf", []byte(content))
				requireStatus(t, res, http.StatusUnprocessableEntity)
				requireFieldError(t, res.HTML, "file-3",
					"This file is not a PDF, PNG or JPEG: its content is checked, not its name. Attach the e-ticket itself.")
			}
			res = b.upload(t, seller, l.ID, 3, "empty.pdf", nil)
			requireStatus(t, res, http.StatusUnprocessableEntity)
			requireFieldError(t, res.HTML, "file-3", "Choose the e-ticket’s file: a PDF, PNG or JPEG of at most 5 MB.")
			require.Equal(t, 2, b.rowCount(t, "ticket_files"), "nothing saved")
		})

		t.Run("TooBigRefused", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			l := b.sellOK(t, seller, b.inAMonth(t, "Opera", "2"))
			pdfOf := func(size int) []byte {
				return append([]byte(pdfHeader), bytes.Repeat([]byte("x"), size-len(pdfHeader))...)
			}

			// Over 5 MB by a byte, read to find so; over the limit of the
			// request's body, refused from its length.
			for _, size := range []int{store.MaxFileBytes + 1, store.MaxFileBytes + 1<<20} {
				res := b.upload(t, seller, l.ID, 1, "big.pdf", pdfOf(size))
				requireStatus(t, res, http.StatusRequestEntityTooLarge)
				requireFieldError(t, res.HTML, "file-1",
					"This file is larger than 5 MB. Attach the e-ticket itself: a PDF, PNG or JPEG of at most 5 MB.")
			}
			require.Zero(t, b.rowCount(t, "ticket_files"), "nothing saved")
			b.uploadOK(t, seller, l.ID, 1, pdfOf(store.MaxFileBytes))
			requireDownload(t, b.get(t, seller, filesPath(l.ID, 1)), "application/pdf", pdfOf(store.MaxFileBytes))
		})

		t.Run("OnlyTheSellerUploadsUntilTheEventStarts", func(t *testing.T) {
			t.Parallel()
			b := setup(t, dialect)
			seller := b.signUp(t, "seller@example.com")
			stranger := b.signUp(t, "stranger@example.com")
			l := b.sellOK(t, seller, b.inAMonth(t, "Opera", "1"))

			requireStatus(t, b.upload(t, stranger, l.ID, 1, "t.pdf", eticket("x")), http.StatusNotFound)
			requireStatus(t, b.upload(t, seller, l.ID, 2, "t.pdf", eticket("x")), http.StatusNotFound)
			requireStatus(t, b.upload(t, seller, 999999, 1, "t.pdf", eticket("x")), http.StatusNotFound)
			requireRedirect(t, b.upload(t, newClient(t), l.ID, 1, "t.pdf", eticket("x")), signInTo("/"))

			passes := b.sellOK(t, seller, b.inAMonth(t, "Passes", "1"))
			b.exec(t, `UPDATE events SET checkin_with_eventhive = TRUE WHERE id = $1`, passes.Event.ID)
			requireNoElement(t, b.get(t, seller, "/tickets/"+itoa(passes.ID)).HTML, "#ticket-files")
			res := b.upload(t, seller, passes.ID, 1, "t.pdf", eticket("x"))
			requireStatus(t, res, http.StatusConflict)
			require.Contains(t, text(res.HTML), "This event checks tickets in with EventHive passes")

			b.clock.Advance(31 * 24 * time.Hour)
			requireNoElement(t, b.get(t, seller, "/tickets/"+itoa(l.ID)).HTML, "#ticket-files form", "sales closed")
			res = b.upload(t, seller, l.ID, 1, "t.pdf", eticket("x"))
			requireStatus(t, res, http.StatusConflict)
			requireElementText(t, res.HTML, `#ticket-files [role="alert"]`, "The event has started: files can no longer be attached.")
			require.Zero(t, b.rowCount(t, "ticket_files"))
		})
	})
}
