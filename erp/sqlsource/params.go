package sqlsource

import (
	"fmt"
	"strconv"
	"strings"
)

// statement is one SQL statement with its named parameters rewritten into
// the driver's placeholders. params lists, in placeholder order, the name
// whose value each driver argument takes: with numbered placeholders ($1,
// @p1) a repeated name reuses its number and appears once; with "?" every
// occurrence is an argument of its own.
type statement struct {
	sql    string
	params []string
}

// args returns the driver arguments of st, taking each value from values.
func (st statement) args(values map[string]any) []any {
	args := make([]any, len(st.params))
	for i, name := range st.params {
		args[i] = values[name]
	}
	return args
}

// uses reports whether st binds the parameter name.
func (st statement) uses(name string) bool {
	for _, p := range st.params {
		if p == name {
			return true
		}
	}
	return false
}

// rewrite turns the merchant's SQL text into statements for dialect d: every
// named parameter ":name" outside string literals, quoted identifiers and
// comments becomes the driver's placeholder, and the text is split into
// statements at top-level semicolons (empty ones are dropped). The values are
// bound by the driver, never written into the text.
//
// A name that is not in allowed is an error (it is almost always a typo), and
// so are the driver's own placeholders ("$1", "?", "@p1") written by hand:
// they would take arguments meant for the named ones.
func rewrite(d dialect, text string, allowed []string) ([]statement, error) {
	r := rewriter{d: d, src: text, allowed: allowed}
	if err := r.run(); err != nil {
		return nil, err
	}
	return r.stmts, nil
}

type rewriter struct {
	d       dialect
	src     string
	allowed []string

	i       int             // read position in src
	out     strings.Builder // current statement
	code    bool            // current statement has something besides blanks and comments
	params  []string
	numbers map[string]int // name -> placeholder number, for numbered dialects
	stmts   []statement
}

func (r *rewriter) run() error {
	for r.i < len(r.src) {
		c := r.src[r.i]
		switch {
		case c == '\'':
			if err := r.quoted('\'', r.d.backslashEscapes || r.escapeStringPrefix()); err != nil {
				return err
			}
		case c == '"':
			if err := r.quoted('"', r.d.backslashEscapes && r.d.doubleQuotedStrings); err != nil {
				return err
			}
		case c == '`' && r.d.backticks:
			if err := r.quoted('`', false); err != nil {
				return err
			}
		case c == '[' && r.d.brackets:
			if err := r.quoted(']', false); err != nil {
				return err
			}
		case c == '-' && r.peek(1) == '-' && (!r.d.dashCommentNeedsSpace || isSpace(r.peek(2)) || r.peek(2) == 0):
			r.lineComment()
		case c == '#' && r.d.hashComments:
			r.lineComment()
		case c == '/' && r.peek(1) == '*':
			if err := r.blockComment(); err != nil {
				return err
			}
		case c == '$' && r.d.dollarQuotes:
			if err := r.dollar(); err != nil {
				return err
			}
		case c == '?' && r.d.questionMarks:
			return fmt.Errorf("a %q placeholder at offset %d: write named parameters (:name) instead", "?", r.i)
		case c == '@' && r.d.atParams && isAtParam(r.src[r.i:]):
			return fmt.Errorf("an @p placeholder at offset %d: write named parameters (:name) instead", r.i)
		case c == ':' && r.peek(1) == ':':
			// A PostgreSQL cast (x::text) or a T-SQL scope (geography::Point).
			r.copy(2)
		case c == ':' && isNameStart(r.peek(1)):
			if err := r.param(); err != nil {
				return err
			}
		case c == ';':
			r.i++
			r.endStatement()
		default:
			if !isSpace(c) {
				r.code = true
			}
			r.copy(1)
		}
	}
	r.endStatement()
	if len(r.stmts) == 0 {
		return fmt.Errorf("no SQL statement")
	}
	return nil
}

func (r *rewriter) peek(n int) byte {
	if r.i+n < len(r.src) {
		return r.src[r.i+n]
	}
	return 0
}

func (r *rewriter) copy(n int) {
	r.out.WriteString(r.src[r.i : r.i+n])
	r.i += n
}

func (r *rewriter) endStatement() {
	if r.code {
		r.stmts = append(r.stmts, statement{sql: strings.TrimSpace(r.out.String()), params: r.params})
	}
	r.out.Reset()
	r.code = false
	r.params = nil
	r.numbers = nil
}

// escapeStringPrefix reports whether the quote at r.i opens a PostgreSQL
// escape string (E'...'), where a backslash escapes the next character.
func (r *rewriter) escapeStringPrefix() bool {
	if !r.d.escapeStrings || r.i == 0 {
		return false
	}
	p := r.src[r.i-1]
	if p != 'e' && p != 'E' {
		return false
	}
	return r.i == 1 || !isNameChar(r.src[r.i-2])
}

// quoted copies a literal or quoted identifier that starts at r.i and ends
// with closer; a doubled closer stands for itself, and with backslash a
// backslash escapes the next byte.
func (r *rewriter) quoted(closer byte, backslash bool) error {
	start := r.i
	r.code = true
	r.i++
	for r.i < len(r.src) {
		c := r.src[r.i]
		switch {
		case backslash && c == '\\':
			r.i += 2
		case c == closer && r.peek(1) == closer:
			r.i += 2
		case c == closer:
			r.i++
			r.out.WriteString(r.src[start:r.i])
			return nil
		default:
			r.i++
		}
	}
	return fmt.Errorf("unterminated %s starting at offset %d", quoteKind(r.src[start]), start)
}

func quoteKind(open byte) string {
	switch open {
	case '\'':
		return "string literal"
	case '"':
		return `"quoted" identifier or string`
	case '`':
		return "`quoted` identifier"
	default:
		return "[bracketed] identifier"
	}
}

func (r *rewriter) lineComment() {
	end := strings.IndexByte(r.src[r.i:], '\n')
	if end < 0 {
		end = len(r.src) - r.i
	}
	r.copy(end)
}

func (r *rewriter) blockComment() error {
	start := r.i
	depth := 0
	for r.i < len(r.src) {
		switch {
		case r.src[r.i] == '/' && r.peek(1) == '*':
			if depth == 0 || r.d.nestedComments {
				depth++
			}
			r.i += 2
		case r.src[r.i] == '*' && r.peek(1) == '/':
			depth--
			r.i += 2
			if depth == 0 {
				r.out.WriteString(r.src[start:r.i])
				return nil
			}
		default:
			r.i++
		}
	}
	return fmt.Errorf("unterminated /* comment starting at offset %d", start)
}

// dollar handles a '$' in PostgreSQL: a dollar-quoted string ($$...$$ or
// $tag$...$tag$), a positional parameter written by hand ($1), or part of an
// identifier (a$b).
func (r *rewriter) dollar() error {
	if r.i > 0 && isNameChar(r.src[r.i-1]) {
		r.copy(1)
		return nil
	}
	if isDigit(r.peek(1)) {
		return fmt.Errorf("a $%c placeholder at offset %d: write named parameters (:name) instead", r.peek(1), r.i)
	}
	j := r.i + 1
	for j < len(r.src) && isNameChar(r.src[j]) && r.src[j] != '$' {
		j++
	}
	if j >= len(r.src) || r.src[j] != '$' || (j > r.i+1 && isDigit(r.src[r.i+1])) {
		r.copy(1)
		return nil
	}
	tag := r.src[r.i : j+1]
	end := strings.Index(r.src[j+1:], tag)
	if end < 0 {
		return fmt.Errorf("unterminated dollar-quoted string %s starting at offset %d", tag, r.i)
	}
	r.code = true
	r.copy(j + 1 + end + len(tag) - r.i)
	return nil
}

func (r *rewriter) param() error {
	start := r.i
	j := r.i + 1
	for j < len(r.src) && isNameChar(r.src[j]) && r.src[j] != '$' {
		j++
	}
	name := r.src[r.i+1 : j]
	if !contains(r.allowed, name) {
		return fmt.Errorf("unknown parameter :%s at offset %d (this statement may use %s)", name, start, listParams(r.allowed))
	}
	r.code = true
	r.i = j
	if !r.d.numbered {
		r.params = append(r.params, name)
		r.out.WriteString("?")
		return nil
	}
	if r.numbers == nil {
		r.numbers = map[string]int{}
	}
	n, ok := r.numbers[name]
	if !ok {
		r.params = append(r.params, name)
		n = len(r.params)
		r.numbers[name] = n
	}
	r.out.WriteString(r.d.placeholderPrefix)
	r.out.WriteString(strconv.Itoa(n))
	return nil
}

func listParams(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = ":" + n
	}
	return strings.Join(quoted, ", ")
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isAtParam reports whether s starts with "@p" and digits, the SQL Server
// driver's own positional placeholder.
func isAtParam(s string) bool {
	if len(s) < 3 || (s[1] != 'p' && s[1] != 'P') || !isDigit(s[2]) {
		return false
	}
	i := 3
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i == len(s) || !isNameChar(s[i])
}

func isNameStart(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// isNameChar is a byte that can continue an identifier; bytes of multi-byte
// UTF-8 characters count, as they do in the databases.
func isNameChar(c byte) bool {
	return isNameStart(c) || isDigit(c) || c == '$' || c >= 0x80
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
