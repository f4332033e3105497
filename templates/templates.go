// Package templates holds EventHive's html/template files, embedded and parsed
// once at start-up. Each page file defines "content" (placed in the layout)
// and the named fragments that HTMX swaps, so a fragment and its full page
// always share their markup.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/eventhive/eventhive/money"
	"github.com/eventhive/eventhive/static"
)

//go:embed *.html
var files embed.FS

// Set is the parsed templates, one template tree per page.
type Set struct {
	pages map[string]*template.Template
}

var funcs = template.FuncMap{
	"static": static.Path,
	"price": func(amount int64, currency string) string {
		return money.Format(amount) + " " + strings.ToUpper(currency)
	},
	"amount":  money.Format,
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) },
	"when":    func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04:05 UTC") },
	"add":     func(a, b int) int { return a + b },
}

// Load parses every page with the layout. A template error, or a reference to
// a static file that does not exist, fails here rather than in a request.
func Load() (*Set, error) {
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

// Render writes a page, or one of its fragments when fragment is not empty,
// into a buffer first so that a template error never leaves half a page.
func (s *Set) Render(w io.Writer, page, fragment string, data any) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("no page %q", page)
	}
	name := "layout"
	if fragment != "" {
		name = fragment
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("render %s/%s: %w", page, name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}
