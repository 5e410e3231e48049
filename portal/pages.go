package portal

import (
	"fmt"
	"html/template"
	"io/fs"
	"strings"
	"time"
)

// funcs are the templates' helpers. Every one returns text that the
// template escapes; none returns template.HTML.
var funcs = template.FuncMap{
	"time": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05") + " UTC"
		case *time.Time:
			if v == nil {
				return "—"
			}
			return v.UTC().Format("2006-01-02 15:04:05") + " UTC"
		}
		return fmt.Sprint(t)
	},
	"join": strings.Join,
	// dict passes several values to a shared template: dict "Base" b "Rows" r.
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict takes pairs")
		}
		m := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m, nil
	},
	"ms": func(n int64) string { return fmt.Sprintf("%d ms", n) },
}

// parsePages parses each page with the layout: pages["endpoints"] renders
// templates/endpoints.html inside templates/layout.html.
func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	layout, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("portal: layout: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("portal: page %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}
