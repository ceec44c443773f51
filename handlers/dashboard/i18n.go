package dashboard

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/locale"
	"recauda-bridge/recauda"
	"recauda-bridge/validation"
)

// The dashboard's words are in package locale, one file per language. This
// file words what recauda and validation give as codes (timeline lines,
// webhook details, violations) in the reader's language; a text in no known
// form is shown as the store kept it.

// entryText words a timeline line.
func entryText(l *locale.Locale, detail string) string {
	e := recauda.ReadEntry(detail)
	if e.Code == "" {
		return detail
	}
	p := params(e.Params)
	switch e.Code {
	case "webhook":
		p["outcome"] = l.Label("outcome", e.Params["outcome"])
		if d, err := decimal.NewFromString(e.Params["amount"]); err == nil {
			p["amount"] = l.Money(d, e.Params["currency"])
		}
	case "webhook_parent":
		p["status"] = l.Label("status", e.Params["status"])
	case "writeback_retry":
		p["state"] = l.Label("wb", e.Params["state"])
	case "writeback_failed":
		if at, err := time.Parse(time.RFC3339, e.Params["next"]); err == nil {
			p["next"] = l.When(&at)
		}
	}
	text, ok := l.Fill("entry_"+e.Code, p)
	if !ok {
		return detail
	}
	if e.Params["cancelled"] != "" {
		text += l.T("entry_cancelled_in_flight")
	}
	if s := e.Params["note"]; s != "" {
		text += ": " + notesText(l, s)
	}
	if s := e.Params["changes"]; s != "" {
		text += ": " + s
	}
	if s := e.Params["detail"]; s != "" {
		text += ": " + decisionText(l, s)
	}
	return text
}

// decisionText words what the state machine said of a webhook.
func decisionText(l *locale.Locale, detail string) string {
	e := recauda.ReadDecision(detail)
	if e.Code == "" {
		return detail
	}
	if text, ok := l.Fill("decision_"+e.Code, params(e.Params)); ok {
		return text
	}
	return detail
}

// notesText words what the lookup changed in an item it sent.
func notesText(l *locale.Locale, note string) string {
	notes := recauda.ReadNotes(note)
	if notes == nil {
		return note
	}
	parts := make([]string, len(notes))
	for i, n := range notes {
		text, ok := l.Fill("note_"+n.Code, params(n.Params))
		if !ok {
			return note
		}
		parts[i] = text
	}
	return strings.Join(parts, "; ")
}

// violationText words a broken rule. A violation stored before violations
// carried their values has none, and shows its English message.
func violationText(l *locale.Locale, v validation.Violation) string {
	if v.Params == nil {
		return v.Message
	}
	p := params(v.Params)
	p["field"], p["message"] = v.Field, v.Message
	key := "violation_" + v.Rule
	if variant := v.Params["variant"]; variant != "" {
		key += "_" + variant
	}
	text, ok := l.Fill(key, p)
	if !ok {
		return v.Message
	}
	if value, ok := v.Params["value"]; ok {
		text += l.T("violation_value", locale.Params{"value": value})
	}
	return text
}

func params(m map[string]string) locale.Params {
	p := make(locale.Params, len(m)+2)
	for k, v := range m {
		p[k] = v
	}
	return p
}
