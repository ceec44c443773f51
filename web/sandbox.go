package web

import (
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Sandbox page templates are templates/sandbox_<page>.html, each defining
// "content"; templates/sandbox_layout.html defines "layout". Like the
// dashboard's, they need no JavaScript and load nothing from elsewhere.
const (
	sandboxLayout  = "templates/sandbox_layout.html"
	sandboxPattern = "templates/sandbox_*.html"
)

// SandboxPages renders the pages of the local Efipay sandbox. It is safe for
// concurrent use.
type SandboxPages struct {
	pages map[string]*template.Template
	css   []byte
}

// NewSandbox parses the sandbox's embedded templates.
func NewSandbox() (*SandboxPages, error) {
	css, err := files.ReadFile("static/sandbox.css")
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	names, err := fs.Glob(files, sandboxPattern)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	p := &SandboxPages{pages: map[string]*template.Template{}, css: css}
	for _, name := range names {
		if name == sandboxLayout {
			continue
		}
		page := strings.TrimSuffix(strings.TrimPrefix(path.Base(name), "sandbox_"), ".html")
		t, err := template.New(page).ParseFS(files, sandboxLayout, name)
		if err != nil {
			return nil, fmt.Errorf("web: sandbox template %s: %w", page, err)
		}
		p.pages[page] = t
	}
	return p, nil
}

// Render writes page (the x of templates/sandbox_x.html) with data inside
// the layout. Nothing is written if the template fails.
func (p *SandboxPages) Render(w io.Writer, page string, data any) error {
	return renderInLayout(w, p.pages, "sandbox", page, data)
}

// CSS is the sandbox's stylesheet.
func (p *SandboxPages) CSS() []byte { return p.css }

// Templates returns the text of every sandbox template, for tests that
// check the keys they use.
func (p *SandboxPages) Templates() map[string]string {
	out := map[string]string{}
	names, _ := fs.Glob(files, sandboxPattern)
	for _, n := range names {
		b, _ := files.ReadFile(n)
		out[n] = string(b)
	}
	return out
}
