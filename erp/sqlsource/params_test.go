package sqlsource

import (
	"reflect"
	"strings"
	"testing"
)

func mustDialect(t *testing.T, name string) dialect {
	t.Helper()
	d, ok := dialectFor(name)
	if !ok {
		t.Fatalf("dialectFor(%q): not found", name)
	}
	return d
}

var lookupParams = []string{paramIDNumber}

func TestRewritePlaceholders(t *testing.T) {
	tests := []struct {
		name    string
		driver  string
		in      string
		allowed []string
		want    string
		params  []string
	}{
		{"postgres", "postgres", "SELECT * FROM c WHERE doc = :id_number", lookupParams,
			"SELECT * FROM c WHERE doc = $1", []string{"id_number"}},
		{"mysql", "mysql", "SELECT * FROM c WHERE doc = :id_number", lookupParams,
			"SELECT * FROM c WHERE doc = ?", []string{"id_number"}},
		{"sqlite", "sqlite", "SELECT * FROM c WHERE doc = :id_number", lookupParams,
			"SELECT * FROM c WHERE doc = ?", []string{"id_number"}},
		{"sqlserver", "sqlserver", "SELECT * FROM c WHERE doc = :id_number", lookupParams,
			"SELECT * FROM c WHERE doc = @p1", []string{"id_number"}},
		{"driver alias mariadb", "mariadb", "WHERE a = :id_number", lookupParams,
			"WHERE a = ?", []string{"id_number"}},

		// A repeated name keeps its number where the driver numbers
		// placeholders, and is one argument per occurrence with "?".
		{"postgres repeat", "postgres", ":amount + :ref_payment + :amount", writebackParams,
			"$1 + $2 + $1", []string{"amount", "ref_payment"}},
		{"sqlserver repeat", "sqlserver", ":amount + :ref_payment + :amount", writebackParams,
			"@p1 + @p2 + @p1", []string{"amount", "ref_payment"}},
		{"mysql repeat", "mysql", ":amount + :ref_payment + :amount", writebackParams,
			"? + ? + ?", []string{"amount", "ref_payment", "amount"}},
		{"sqlite repeat", "sqlite", ":amount + :ref_payment + :amount", writebackParams,
			"? + ? + ?", []string{"amount", "ref_payment", "amount"}},

		// Casts and scopes.
		{"postgres cast after param", "postgres", "WHERE doc = :id_number::text", lookupParams,
			"WHERE doc = $1::text", []string{"id_number"}},
		{"postgres cast of column", "postgres", "SELECT i.due::date, i.total::numeric(14,2) FROM i WHERE d = :id_number", lookupParams,
			"SELECT i.due::date, i.total::numeric(14,2) FROM i WHERE d = $1", []string{"id_number"}},
		{"postgres cast without spaces", "postgres", "WHERE x::text=:id_number", lookupParams,
			"WHERE x::text=$1", []string{"id_number"}},
		{"sqlserver scope", "sqlserver", "SELECT geography::Point(1, 2, 4326) WHERE d = :id_number", lookupParams,
			"SELECT geography::Point(1, 2, 4326) WHERE d = @p1", []string{"id_number"}},
		{"param at the very end", "postgres", "WHERE d=:id_number", lookupParams,
			"WHERE d=$1", []string{"id_number"}},
		{"param in parentheses", "mysql", "WHERE d IN (:id_number)", lookupParams,
			"WHERE d IN (?)", []string{"id_number"}},
		{"param next to a comma", "postgres", "VALUES (:ref_payment,:amount)", writebackParams,
			"VALUES ($1,$2)", []string{"ref_payment", "amount"}},
		{"colon then space is no param", "postgres", "SELECT 'a' || ': ' WHERE d = :id_number AND x = a : b", lookupParams,
			"SELECT 'a' || ': ' WHERE d = $1 AND x = a : b", []string{"id_number"}},
		{"array slice with numbers", "postgres", "SELECT tags[1:2] WHERE d = :id_number", lookupParams,
			"SELECT tags[1:2] WHERE d = $1", []string{"id_number"}},
		{"mysql assignment", "mysql", "SELECT @n := :id_number", lookupParams,
			"SELECT @n := ?", []string{"id_number"}},

		// String literals.
		{"string literal", "postgres", "SELECT ':id_number' WHERE d = :id_number", lookupParams,
			"SELECT ':id_number' WHERE d = $1", []string{"id_number"}},
		{"doubled quote", "postgres", "SELECT 'it''s :id_number' WHERE d = :id_number", lookupParams,
			"SELECT 'it''s :id_number' WHERE d = $1", []string{"id_number"}},
		{"postgres backslash is plain", "postgres", `SELECT 'C:\' || :id_number`, lookupParams,
			`SELECT 'C:\' || $1`, []string{"id_number"}},
		{"postgres escape string", "postgres", `SELECT E'it\'s :id_number' WHERE d = :id_number`, lookupParams,
			`SELECT E'it\'s :id_number' WHERE d = $1`, []string{"id_number"}},
		{"postgres lower-case escape string", "postgres", `SELECT e'\\' WHERE d = :id_number`, lookupParams,
			`SELECT e'\\' WHERE d = $1`, []string{"id_number"}},
		{"name ending in e is no escape prefix", "postgres", `SELECT name'x' || :id_number`, lookupParams,
			`SELECT name'x' || $1`, []string{"id_number"}},
		{"mysql backslash escape", "mysql", `SELECT 'it\'s :id_number' WHERE d = :id_number`, lookupParams,
			`SELECT 'it\'s :id_number' WHERE d = ?`, []string{"id_number"}},
		{"mysql double-quoted string", "mysql", `SELECT "a \" :id_number" WHERE d = :id_number`, lookupParams,
			`SELECT "a \" :id_number" WHERE d = ?`, []string{"id_number"}},
		{"sqlserver N string", "sqlserver", "SELECT N'Año :id_number' WHERE d = :id_number", lookupParams,
			"SELECT N'Año :id_number' WHERE d = @p1", []string{"id_number"}},
		{"utf-8 in literal and around", "sqlite", "SELECT 'ñandú: :id_number', año WHERE d = :id_number", lookupParams,
			"SELECT 'ñandú: :id_number', año WHERE d = ?", []string{"id_number"}},
		{"question mark in literal", "mysql", "SELECT '¿?' WHERE d = :id_number", lookupParams,
			"SELECT '¿?' WHERE d = ?", []string{"id_number"}},
		{"postgres jsonb ? operator", "postgres", "SELECT extra ? 'k' WHERE d = :id_number", lookupParams,
			"SELECT extra ? 'k' WHERE d = $1", []string{"id_number"}},

		// Quoted identifiers.
		{"double-quoted identifier", "postgres", `SELECT "odd:id_number" AS "references" WHERE d = :id_number`, lookupParams,
			`SELECT "odd:id_number" AS "references" WHERE d = $1`, []string{"id_number"}},
		{"doubled double quote", "sqlite", `SELECT "a"":id_number" WHERE d = :id_number`, lookupParams,
			`SELECT "a"":id_number" WHERE d = ?`, []string{"id_number"}},
		{"backticks", "mysql", "SELECT `a:id_number` AS `references` WHERE d = :id_number", lookupParams,
			"SELECT `a:id_number` AS `references` WHERE d = ?", []string{"id_number"}},
		{"brackets", "sqlserver", "SELECT [a:id_number] AS [references] WHERE d = :id_number", lookupParams,
			"SELECT [a:id_number] AS [references] WHERE d = @p1", []string{"id_number"}},
		{"sqlite brackets", "sqlite", "SELECT [a:id_number] WHERE d = :id_number", lookupParams,
			"SELECT [a:id_number] WHERE d = ?", []string{"id_number"}},

		// Comments.
		{"line comment", "postgres", "SELECT 1 -- bound as :id_number\nWHERE d = :id_number", lookupParams,
			"SELECT 1 -- bound as :id_number\nWHERE d = $1", []string{"id_number"}},
		{"line comment at the end", "sqlite", "SELECT 1 WHERE d = :id_number -- :nothing", lookupParams,
			"SELECT 1 WHERE d = ? -- :nothing", []string{"id_number"}},
		{"block comment", "mysql", "SELECT /* :id_number ' */ 1 WHERE d = :id_number", lookupParams,
			"SELECT /* :id_number ' */ 1 WHERE d = ?", []string{"id_number"}},
		{"postgres nested block comment", "postgres", "SELECT /* a /* :x */ :y */ 1 WHERE d = :id_number", lookupParams,
			"SELECT /* a /* :x */ :y */ 1 WHERE d = $1", []string{"id_number"}},
		{"mysql hash comment", "mysql", "SELECT 1 # :x\nWHERE d = :id_number", lookupParams,
			"SELECT 1 # :x\nWHERE d = ?", []string{"id_number"}},
		{"postgres hash is an operator", "postgres", "SELECT 1 # 2 WHERE d = :id_number", lookupParams,
			"SELECT 1 # 2 WHERE d = $1", []string{"id_number"}},
		{"mysql double dash needs a blank", "mysql", "SELECT 5--:id_number", lookupParams,
			"SELECT 5--?", []string{"id_number"}},
		{"quote inside a comment", "postgres", "SELECT 1 -- don't\nWHERE d = :id_number", lookupParams,
			"SELECT 1 -- don't\nWHERE d = $1", []string{"id_number"}},

		// Dollar quoting.
		{"dollar quote", "postgres", "SELECT $$ :x ' $$ WHERE d = :id_number", lookupParams,
			"SELECT $$ :x ' $$ WHERE d = $1", []string{"id_number"}},
		{"tagged dollar quote", "postgres", "SELECT $f$ a $$ :x $f$ WHERE d = :id_number", lookupParams,
			"SELECT $f$ a $$ :x $f$ WHERE d = $1", []string{"id_number"}},
		{"dollar inside identifier", "postgres", "SELECT a$b, c$ FROM t WHERE d = :id_number", lookupParams,
			"SELECT a$b, c$ FROM t WHERE d = $1", []string{"id_number"}},

		// Statements.
		{"trailing semicolon", "postgres", "SELECT 1 WHERE d = :id_number;\n", lookupParams,
			"SELECT 1 WHERE d = $1", []string{"id_number"}},
		{"semicolon in literal", "mysql", "SELECT ';' WHERE d = :id_number", lookupParams,
			"SELECT ';' WHERE d = ?", []string{"id_number"}},
		{"comment only after semicolon", "sqlite", "SELECT 1 WHERE d = :id_number; -- done", lookupParams,
			"SELECT 1 WHERE d = ?", []string{"id_number"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stmts, err := rewrite(mustDialect(t, tt.driver), tt.in, tt.allowed)
			if err != nil {
				t.Fatalf("rewrite: %v", err)
			}
			if len(stmts) != 1 {
				t.Fatalf("got %d statements, want 1: %#v", len(stmts), stmts)
			}
			if stmts[0].sql != tt.want {
				t.Errorf("got SQL\n%s\nwant\n%s", stmts[0].sql, tt.want)
			}
			if !reflect.DeepEqual(stmts[0].params, tt.params) {
				t.Errorf("got params %q, want %q", stmts[0].params, tt.params)
			}
		})
	}
}

func TestRewriteSplitsStatements(t *testing.T) {
	in := `-- record the payment once
INSERT INTO payments (tx, amount) VALUES (:transaction_id, :amount)
ON DUPLICATE KEY UPDATE tx = tx;
/* then apply it */ ;
UPDATE invoices SET balance = balance - :amount WHERE number = ':x;' AND tx = :transaction_id;`
	stmts, err := rewrite(mustDialect(t, "mysql"), in, writebackParams)
	if err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	if len(stmts) != 2 {
		t.Fatalf("got %d statements, want 2: %#v", len(stmts), stmts)
	}
	if got, want := stmts[0].sql, "-- record the payment once\nINSERT INTO payments (tx, amount) VALUES (?, ?)\nON DUPLICATE KEY UPDATE tx = tx"; got != want {
		t.Errorf("statement 1: got\n%s\nwant\n%s", got, want)
	}
	if got, want := stmts[1].sql, "UPDATE invoices SET balance = balance - ? WHERE number = ':x;' AND tx = ?"; got != want {
		t.Errorf("statement 2: got\n%s\nwant\n%s", got, want)
	}
	if got, want := stmts[0].params, []string{"transaction_id", "amount"}; !reflect.DeepEqual(got, want) {
		t.Errorf("statement 1 params: got %q, want %q", got, want)
	}
	if got, want := stmts[1].params, []string{"amount", "transaction_id"}; !reflect.DeepEqual(got, want) {
		t.Errorf("statement 2 params: got %q, want %q", got, want)
	}
}

func TestRewriteNumbersPerStatement(t *testing.T) {
	stmts, err := rewrite(mustDialect(t, "postgres"), "SELECT :amount, :status; SELECT :status", writebackParams)
	if err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	if got, want := stmts[1].sql, "SELECT $1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := stmts[1].params, []string{"status"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got params %q, want %q", got, want)
	}
}

func TestRewriteErrors(t *testing.T) {
	tests := []struct {
		name   string
		driver string
		in     string
		want   string // part of the error
	}{
		{"unknown name", "postgres", "WHERE d = :id_numbr", "unknown parameter :id_numbr"},
		{"name of another statement kind", "mysql", "WHERE d = :amount", "unknown parameter :amount"},
		{"case matters", "sqlite", "WHERE d = :ID_NUMBER", "unknown parameter :ID_NUMBER"},
		{"hand-written $1", "postgres", "WHERE d = $1", "$1 placeholder"},
		{"hand-written ?", "mysql", "WHERE d = ?", `"?" placeholder`},
		{"hand-written ? in sqlite", "sqlite", "WHERE d = ? OR d = :id_number", `"?" placeholder`},
		{"hand-written @p1", "sqlserver", "WHERE d = @p1", "@p placeholder"},
		{"unterminated string", "postgres", "WHERE d = 'abc", "unterminated string literal"},
		{"unterminated identifier", "postgres", `SELECT "abc`, "unterminated"},
		{"unterminated comment", "mysql", "SELECT /* abc", "unterminated /* comment"},
		{"unterminated nested comment", "postgres", "SELECT /* /* */ :id_number", "unterminated /* comment"},
		{"unterminated dollar quote", "postgres", "SELECT $a$ abc $b$", "unterminated dollar-quoted string $a$"},
		{"mysql backslash before closing quote", "mysql", `SELECT 'abc\'`, "unterminated string literal"},
		{"empty", "postgres", "  \n", "no SQL statement"},
		{"comments only", "mysql", "-- nothing\n/* at all */ ;", "no SQL statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rewrite(mustDialect(t, tt.driver), tt.in, lookupParams)
			if err == nil {
				t.Fatalf("got no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestStatementArgs(t *testing.T) {
	st := statement{sql: "? ? ?", params: []string{"amount", "status", "amount"}}
	got := st.args(map[string]any{"amount": "10.50", "status": "paid", "unused": 1})
	if want := []any{"10.50", "paid", "10.50"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// FuzzRewrite checks that no input makes the rewriter panic and that every
// parameter it reports has a placeholder in the text it returns.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM c WHERE d = :id_number",
		"SELECT ':id_number', \"x\", `y`, [z] -- :id_number\n/* :id_number */ WHERE a::text = :id_number;",
		"SELECT $$:id_number$$, E'\\':id_number', $t$ $t$ WHERE d = :id_number",
		"SELECT 1 # :id_number\n WHERE 5--:id_number; SELECT :id_number",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, name := range []string{"postgres", "mysql", "sqlite", "sqlserver"} {
			d, _ := dialectFor(name)
			stmts, err := rewrite(d, in, lookupParams)
			if err != nil {
				continue
			}
			for _, st := range stmts {
				if len(st.params) == 0 {
					continue
				}
				want := "?"
				if d.numbered {
					want = d.placeholderPrefix + "1"
				}
				if !strings.Contains(st.sql, want) {
					t.Errorf("%s: %q gave %q with params %q but no %s", name, in, st.sql, st.params, want)
				}
			}
		}
	})
}
