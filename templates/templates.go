// Package templates holds EventHive's html/template files, embedded and parsed
// once at start-up. Each page file defines "content" (placed in the layout)
// and the named fragments that HTMX swaps, so a fragment and its full page
// always share their markup.
package templates

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/static"
)

//go:embed *.html
var files embed.FS

// Set is the parsed templates, one template tree per page, writing prices
// as the readers of one locale do; In gives the set of another locale.
type Set struct {
	pages  map[string]*template.Template
	family *family
}

// family is the sets of the locales readers have come with so far. A
// locale's set is made the first time one of its readers comes: each takes
// about 1 MB, and a site sees few of the supported locales.
type family struct {
	// pristine is the pages as parsed, cloned for each locale. Clone works
	// only on templates that have not executed, so these pages never do,
	// but for the operator console's, which every set shares (see cloneFor).
	pristine *Set
	mu       sync.Mutex // held while a set is made
	sets     sync.Map   // *money.Locale -> *Set
}

var funcs = template.FuncMap{
	"static": static.Path,
	// Trusted: the site's own stylesheets, allowed by the CSP's hash of them.
	"stylesheet": func() template.CSS { return template.CSS(static.Stylesheet()) },
	"price":      isoPrice, // the operator console's; cloneFor binds each locale's
	"amount":     money.Format,
	"upper":      strings.ToUpper,
	"rfc3339":    func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"localtime":  localTime,
	"eventtime":  eventTime,
	"add":        func(a, b int) int { return a + b },
	"tickets":    ticketCount,
	"place":      place,
}

// ticketCount writes a number of tickets: "1 ticket", "3 tickets".
func ticketCount(n int) string {
	if n == 1 {
		return "1 ticket"
	}
	return strconv.Itoa(n) + " tickets"
}

// place joins where an event is, its venue and city, leaving out what is
// not known: "Olympia · Paris", "Paris", "".
func place(parts ...string) string {
	var known []string
	for _, p := range parts {
		if p != "" {
			known = append(known, p)
		}
	}
	return strings.Join(known, " · ")
}

// localTime marks up an instant for its reader: in UTC, which static/app.js
// rewrites in the reader's own time zone when it runs. The markup is built
// by hand, as template.HTML, from the two formats alone: they yield digits,
// month names, ':', '-', 'T', 'Z' and spaces, nothing to escape.
func localTime(t time.Time) template.HTML {
	t = t.UTC()
	return template.HTML(`<time datetime="` + t.Format(time.RFC3339) + `" data-local-time>` +
		t.Format("2 Jan 2006 15:04 UTC") + `</time>`)
}

// eventTime marks up when an event starts, in the event's own zone and
// naming it, as people going there need it: "Sat 12 Dec 2026, 20:00
// Europe/Paris (CET)", with the UTC instant in the datetime attribute. It has
// no data-local-time, so static/app.js leaves it as it is. A zone that does
// not load is shown as UTC, named so. A zero t is a date to be announced.
func eventTime(t time.Time, zone string) template.HTML {
	if t.IsZero() {
		return "Date to be announced"
	}
	loc, ok := eventZone(zone)
	if !ok {
		zone = "UTC"
	}
	local := t.In(loc)
	name := zone
	if abbr := local.Format("MST"); abbr != zone {
		if strings.HasPrefix(abbr, "+") || strings.HasPrefix(abbr, "-") {
			abbr = "UTC" + abbr // tzdata's "-03" for zones without a name
		}
		name += " (" + abbr + ")"
	}
	return template.HTML(`<time datetime="` + t.UTC().Format(time.RFC3339) + `">` +
		local.Format("Mon 2 Jan 2006, 15:04") + " " + template.HTMLEscapeString(name) + `</time>`)
}

// zones caches the locations eventZone has loaded: a page lists many events
// in few zones, and time.LoadLocation reads the zone database each time.
var zones sync.Map // IANA name -> *time.Location

// eventZone loads an IANA zone, or reports false with UTC. "Local" is
// refused: it is the server's zone, not an event's.
func eventZone(name string) (*time.Location, bool) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), true
	}
	loc, err := time.LoadLocation(name)
	if err != nil || name == "" || name == "Local" {
		return time.UTC, false
	}
	zones.Store(name, loc)
	return loc, true
}

// isoPrice writes a price as the operator console shows it, with the
// currency's ISO code: "45.00 USD". An operator compares amounts with the
// payment provider's, where a symbol such as "$" could be several currencies.
func isoPrice(amount int64, currency string) string {
	return money.Format(amount) + " " + strings.ToUpper(currency)
}

// Load parses every page with the layout. A template error, or a reference
// to a static file that does not exist, fails here rather than in a request.
// The set returned writes prices in the default locale.
func Load() (*Set, error) {
	pristine, err := parse()
	if err != nil {
		return nil, err
	}
	if err := pristine.check(views); err != nil {
		return nil, err
	}
	f := &family{pristine: pristine}
	set, err := f.cloneFor(money.Default())
	if err != nil {
		return nil, err
	}
	f.sets.Store(money.Default(), set)
	return set, nil
}

// parse parses every page with the layout, writing prices with ISO codes,
// as the operator console's pages (admin*.html) do.
func parse() (*Set, error) {
	names, err := fs.Glob(files, "*.html")
	if err != nil {
		return nil, err
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "layout.html")
	if err != nil {
		return nil, err
	}
	set := &Set{pages: map[string]*template.Template{}}
	for _, name := range names {
		if name == "layout.html" {
			continue
		}
		page, err := template.Must(layout.Clone()).ParseFS(files, name)
		if err != nil {
			return nil, err
		}
		set.pages[strings.TrimSuffix(name, ".html")] = page
	}
	return set, nil
}

// isConsole reports whether a page is the operator console's.
func isConsole(page string) bool { return strings.HasPrefix(page, "admin") }

// cloneFor copies the pristine pages to write prices as loc's readers do.
// It shares the operator console's pages, which write prices alike in every
// locale.
func (f *family) cloneFor(loc *money.Locale) (*Set, error) {
	fns := template.FuncMap{"price": loc.Price}
	set := &Set{pages: map[string]*template.Template{}, family: f}
	for name, page := range f.pristine.pages {
		if isConsole(name) {
			set.pages[name] = page
			continue
		}
		copied, err := page.Clone()
		if err != nil {
			return nil, err
		}
		set.pages[name] = copied.Funcs(fns)
	}
	return set, nil
}

// In returns the set that writes prices as loc's readers do, making it the
// first time.
func (s *Set) In(loc *money.Locale) *Set {
	f := s.family
	if set, ok := f.sets.Load(loc); ok {
		return set.(*Set)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if set, ok := f.sets.Load(loc); ok {
		return set.(*Set)
	}
	set, err := f.cloneFor(loc)
	if err != nil {
		// Load made a set the same way, and the pristine pages it
		// cloned never execute.
		panic(err)
	}
	f.sets.Store(loc, set)
	return set
}

// check reports a declared view whose page or fragment does not exist, a
// page without content, and a page file that no view declares.
func (s *Set) check(declared []View) error {
	used := map[string]bool{}
	for _, v := range declared {
		t, ok := s.pages[v.page]
		if !ok {
			return fmt.Errorf("view %s: no page %s.html", v, v.page)
		}
		used[v.page] = true
		for _, name := range []string{"content", v.fragment} {
			if name != "" && t.Lookup(name) == nil {
				return fmt.Errorf("view %s: %s.html defines no %q", v, v.page, name)
			}
		}
	}
	for name := range s.pages {
		if !used[name] {
			return fmt.Errorf("page %s.html: no view declares it", name)
		}
	}
	return nil
}

// Render writes a view: a whole page in its layout, or one fragment of it.
// The caller buffers: a template error may have written part of the view.
func (s *Set) Render(w io.Writer, v View, data any) error {
	name := "layout"
	if v.fragment != "" {
		name = v.fragment
	}
	if err := s.pages[v.page].ExecuteTemplate(w, name, data); err != nil {
		return fmt.Errorf("render %s: %w", v, err)
	}
	return nil
}
