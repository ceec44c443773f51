package config

import (
	"go/build"
	"path/filepath"
	"strings"
	"testing"
)

// config reads the ERP sources' settings through the table above it
// (erp/sources), so it must not depend on any of them: nothing of erp, at
// any depth.
func TestConfigImportsNoERPPackage(t *testing.T) {
	const module = "recauda-bridge/"
	seen := map[string]bool{}
	var walk func(path, dir string)
	walk = func(path, dir string) {
		if seen[path] {
			return
		}
		seen[path] = true
		pkg, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, imp := range pkg.Imports {
			rel, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if rel == "erp" || strings.HasPrefix(rel, "erp/") {
				t.Errorf("%s imports %s, want config free of the ERP sources", path, imp)
			}
			walk(imp, filepath.Join("..", filepath.FromSlash(rel)))
		}
	}
	walk(module+"config", ".")
}
