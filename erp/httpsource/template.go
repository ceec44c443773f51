package httpsource

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var placeholder = regexp.MustCompile(`\{([a-z_]+)\}`)

// checkPlaceholders returns an error naming any {placeholder} of t that is
// not in allowed. JSON braces are never mistaken for one: a placeholder is a
// brace, lower-case letters or underscores, and a brace.
func checkPlaceholders(t string, allowed []string) error {
	var unknown []string
	for _, m := range placeholder.FindAllStringSubmatch(t, -1) {
		found := false
		for _, a := range allowed {
			if m[1] == a {
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, "{"+m[1]+"}")
		}
	}
	if len(unknown) > 0 {
		sort.Strings(allowed)
		return fmt.Errorf("unknown placeholder %s (known: {%s})", strings.Join(unknown, ", "), strings.Join(allowed, "}, {"))
	}
	return nil
}

// render fills the placeholders of t with vals, each passed through esc.
func render(t string, vals map[string]string, esc func(string) string) string {
	return placeholder.ReplaceAllStringFunc(t, func(ph string) string {
		v, ok := vals[ph[1:len(ph)-1]]
		if !ok {
			return ph
		}
		return esc(v)
	})
}

// escapeURL percent-encodes everything but RFC 3986's unreserved characters,
// so a value is safe both in a path segment and in a query parameter.
func escapeURL(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// escapeJSON escapes s for use inside a JSON string literal (the template
// supplies the quotes).
func escapeJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// escapeHeader drops the characters that would split a header.
func escapeHeader(s string) string {
	return strings.NewReplacer("\r", "", "\n", "", "\x00", "").Replace(s)
}

// tidyQuery percent-encodes the characters RFC 3986 does not allow in a
// query (quotes, brackets, spaces, ...) and leaves everything else, escapes
// included, as written: a URL template may then carry readable JSON filters
// (ERPNext's filters=[["tax_id","=","{id_number}"]]) that strict servers and
// proxies still accept.
func tidyQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			strings.IndexByte("-._~!$&'()*+,;=:@/?%", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
