package sandbox

import "recauda-bridge/locale"

// The sandbox speaks Spanish, and English on request (?lang=en, then
// remembered in a cookie), like the dashboard. Its words are the sandbox_*
// keys of the locale package's files; a test checks that every key the
// templates use is there.

// textPrefix starts every key of the sandbox's texts.
const textPrefix = "sandbox_"

// Text is one language's texts, as the templates use them.
type Text struct{ l *locale.Locale }

// T returns the text of key (without its sandbox_ prefix), its
// placeholders filled from name, value pairs: T "took" "took" "20ms".
func (t Text) T(key string, pairs ...any) string {
	p := locale.Params{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if name, ok := pairs[i].(string); ok {
			p[name] = pairs[i+1]
		}
	}
	return t.l.T(textPrefix+key, p)
}
