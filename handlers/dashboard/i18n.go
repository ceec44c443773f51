package dashboard

import (
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"recauda-bridge/models"
	"recauda-bridge/web"
)

// The dashboard speaks Spanish, and English on request (?lang=en, then
// remembered in a cookie). Every word it shows comes from these two maps;
// a test checks that they have the same keys and that every key the
// templates use is in both.

const (
	langES = "es"
	langEN = "en"
)

// dashboardText holds the dashboard's strings per language. Never written
// after start-up.
var dashboardText = map[string]map[string]string{
	langES: {
		"skip":                     "Ir al contenido",
		"language":                 "Idioma",
		"sections":                 "Secciones",
		"nav_overview":             "Resumen",
		"nav_charges":              "Cobros",
		"nav_heldback":             "Retenidos",
		"nav_webhooks":             "Webhooks",
		"nav_writebacks":           "Registro en el ERP",
		"sign_in":                  "Entrar",
		"sign_out":                 "Cerrar sesión",
		"footer":                   "Horas en Colombia (UTC−5).",
		"login_title":              "Panel del operador",
		"login_intro":              "Escriba el token de administración (ADMIN_TOKEN) para entrar.",
		"token_label":              "Token de administración",
		"login_wrong":              "El token no es correcto.",
		"login_form_stale":         "El formulario caducó o el navegador no guarda cookies. Intente de nuevo.",
		"login_throttled":          "Demasiados intentos fallidos desde esta dirección. Espere un minuto e intente de nuevo.",
		"login_expired":            "Su sesión terminó. Entre de nuevo.",
		"login_signed_out":         "Sesión cerrada.",
		"disabled_title":           "Panel desactivado",
		"disabled_body":            "ADMIN_TOKEN no está configurado, así que este panel y la API de administración están apagados.",
		"disabled_fix":             "Defina ADMIN_TOKEN (o ADMIN_TOKEN_FILE, un archivo con el token) y reinicie el servicio.",
		"overview_title":           "Resumen",
		"card_offered":             "Ofrecidos",
		"card_offered_note":        "cobros enviados a Efipay",
		"card_sent":                "Esperando pago",
		"card_in_progress":         "En proceso",
		"card_paid":                "Pagados",
		"card_partial_note":        "con pago parcial: %d",
		"card_failed":              "Fallidos",
		"card_reversed_note":       "reversados: %d",
		"card_inactive":            "Inactivos",
		"card_heldback":            "Retenidos",
		"card_heldback_note":       "registros con errores, no enviados",
		"card_collected":           "Recaudado",
		"nothing_collected":        "Nada todavía",
		"chart_title":              "Cobros enviados y pagados por día, últimos 30 días",
		"chart_desc":               "Barras por día (hora de Colombia) del %s al %s: enviados %d en total, pagados %d en total.",
		"chart_sent":               "Enviados",
		"chart_paid":               "Pagados",
		"chart_data":               "Ver los datos",
		"day":                      "Día",
		"charges_title":            "Cobros",
		"search_label":             "Número de identificación o referencia",
		"search_hint":              "Búsqueda exacta",
		"state":                    "Estado",
		"all_states":               "Todos",
		"from":                     "Actividad desde",
		"to":                       "Actividad hasta",
		"filter":                   "Buscar",
		"clear":                    "Limpiar",
		"results_id":               "Cobros del número de identificación %s",
		"results_ref":              "Cobro con referencia %s",
		"no_charges":               "No hay cobros que coincidan.",
		"bad_date":                 "Fecha no válida en «%s»; se ignoró.",
		"bad_range":                "La fecha inicial es posterior a la final; se ignoraron.",
		"ref":                      "Referencia",
		"id_number":                "Identificación",
		"payer":                    "Pagador",
		"description":              "Descripción",
		"amount":                   "Valor",
		"paid_amount":              "Pagado",
		"balance":                  "Saldo",
		"last_activity":            "Última actividad",
		"total":                    "%d en total",
		"page_of":                  "Página %d de %d",
		"previous":                 "Anterior",
		"next":                     "Siguiente",
		"pagination":               "Paginación",
		"charge_title":             "Cobro %s",
		"details":                  "Datos",
		"send_count":               "Veces enviado",
		"first_sent":               "Primer envío",
		"last_sent":                "Último envío",
		"offered_again":            "Se ofrece de nuevo",
		"paid_at":                  "Fecha de pago",
		"transaction":              "Transacción Efipay",
		"parent_ref":               "Derivado del cobro del ERP",
		"due_date":                 "Vencimiento en el ERP",
		"overdue":                  "Vencido",
		"created":                  "Registrado",
		"actions":                  "Acciones",
		"release":                  "Ofrecer en la próxima consulta",
		"release_help":             "Vuelve a enviar el cobro a Efipay en la próxima consulta del cliente.",
		"deactivate":               "Desactivar",
		"deactivate_help":          "Deja de ofrecer el cobro hasta que se active.",
		"activate":                 "Activar",
		"activate_help":            "Vuelve al estado anterior y se ofrece en la próxima consulta.",
		"receipt":                  "Imprimir comprobante",
		"no_actions":               "Ninguna acción aplica en este estado.",
		"done_release":             "Listo: el cobro se ofrecerá en la próxima consulta.",
		"done_deactivate":          "Listo: el cobro quedó inactivo.",
		"done_activate":            "Listo: el cobro quedó activo.",
		"done_retry":               "Listo: el registro en el ERP se intentará de nuevo ahora.",
		"done_cancel":              "Listo: el registro en el ERP quedó cancelado.",
		"failed_release":           "No se pudo ofrecer: solo un cobro enviado, fallido o reversado puede ofrecerse de nuevo.",
		"failed_deactivate":        "No se pudo desactivar: solo un cobro enviado, fallido o reversado puede desactivarse.",
		"failed_activate":          "No se pudo activar: solo un cobro inactivo puede activarse.",
		"failed_retry":             "No se pudo reintentar: el registro ya está hecho.",
		"failed_cancel":            "No se pudo cancelar: el registro ya está hecho.",
		"timeline":                 "Historial",
		"when":                     "Fecha",
		"event":                    "Evento",
		"change":                   "Cambio",
		"detail":                   "Detalle",
		"no_events":                "Sin eventos.",
		"webhooks_title":           "Webhooks de Efipay",
		"no_webhooks":              "Sin webhooks.",
		"outcome":                  "Resultado",
		"all_outcomes":             "Todos",
		"received":                 "Recibido",
		"efipay_status":            "Estado Efipay",
		"webhook_title":            "Webhook #%d",
		"method":                   "Medio de pago",
		"production":               "Producción",
		"yes":                      "Sí",
		"no":                       "No",
		"body":                     "Cuerpo recibido",
		"writebacks_title":         "Registro de pagos en el ERP",
		"writebacks_intro":         "Cada pago aprobado, y cada reverso de uno, se registra en el ERP; los fallidos se reintentan con espera creciente. Un reverso que la fuente no sabe registrar espera al operador: hágalo en el ERP y cancele el registro.",
		"no_writebacks":            "Sin registros.",
		"attempts":                 "Intentos",
		"next_attempt":             "Próximo intento",
		"last_error":               "Último error",
		"retry":                    "Reintentar",
		"cancel":                   "Cancelar",
		"heldback_title":           "Registros retenidos",
		"heldback_intro":           "Estos cobros del ERP no cumplen una regla de Efipay y no se envían. Corrija el campo en el ERP; el registro sale de esta lista cuando una consulta envía la versión corregida.",
		"heldback_none":            "No hay registros retenidos.",
		"heldback_shown":           "Se muestran los %d vistos más recientemente de %d.",
		"rule":                     "Regla",
		"field":                    "Campo",
		"reason":                   "Motivo",
		"seen":                     "Visto",
		"seen_count":               "Veces",
		"only_rule":                "Solo esta regla",
		"all_rules":                "Todas las reglas",
		"records":                  "%d registros",
		"records_one":              "%d registro",
		"error_title":              "Error",
		"error_not_found":          "No existe lo que busca.",
		"error_conflict":           "La acción no aplica al estado actual del cobro.",
		"error_bad_request":        "La solicitud no es válida.",
		"error_forbidden":          "El formulario caducó o no viene de este panel. Vuelva a la página e intente de nuevo.",
		"error_unavailable":        "La base de datos no está disponible en este momento. Intente de nuevo en unos segundos.",
		"error_internal":           "Ocurrió un error interno. Quedó registrado en el log del servicio.",
		"back_overview":            "Volver al resumen",
		"status_sent":              "Enviado",
		"status_in_progress":       "En proceso",
		"status_paid":              "Pagado",
		"status_partially_paid":    "Pago parcial",
		"status_failed":            "Fallido",
		"status_reversed":          "Reversado",
		"status_inactive":          "Inactivo",
		"outcome_applied":          "Aplicado",
		"outcome_duplicate":        "Duplicado",
		"outcome_unmatched":        "Sin cobro",
		"outcome_unparseable":      "Ilegible",
		"outcome_flagged":          "Marcado",
		"outcome_stale":            "Desactualizado",
		"wb_pending":               "Pendiente",
		"wb_done":                  "Hecho",
		"wb_cancelled":             "Cancelado",
		"event_sent":               "Enviado a Efipay",
		"event_resent":             "Enviado de nuevo",
		"event_released":           "Liberado",
		"event_deactivated":        "Desactivado",
		"event_activated":          "Activado",
		"event_webhook":            "Webhook",
		"event_writeback_enqueued": "Registro en el ERP en cola",

		// Reversals written back to the ERP.
		"card_needs_operator":            "Registros para el operador",
		"card_needs_operator_note":       "reversos que la fuente no registra: hágalos en el ERP",
		"wb_needs_operator":              "Requiere al operador",
		"wb_kind_reversal":               "Reverso",
		"event_writeback_needs_operator": "Registro en el ERP: requiere al operador",
	},
	langEN: {
		"skip":                     "Skip to content",
		"language":                 "Language",
		"sections":                 "Sections",
		"nav_overview":             "Overview",
		"nav_charges":              "Charges",
		"nav_heldback":             "Held back",
		"nav_webhooks":             "Webhooks",
		"nav_writebacks":           "ERP write-back",
		"sign_in":                  "Sign in",
		"sign_out":                 "Sign out",
		"footer":                   "Times in Colombia (UTC−5).",
		"login_title":              "Operator dashboard",
		"login_intro":              "Enter the admin token (ADMIN_TOKEN) to sign in.",
		"token_label":              "Admin token",
		"login_wrong":              "That token is not correct.",
		"login_form_stale":         "The form expired or the browser keeps no cookies. Please try again.",
		"login_throttled":          "Too many failed attempts from this address. Wait a minute and try again.",
		"login_expired":            "Your session ended. Please sign in again.",
		"login_signed_out":         "Signed out.",
		"disabled_title":           "Dashboard disabled",
		"disabled_body":            "ADMIN_TOKEN is not set, so this dashboard and the admin API are off.",
		"disabled_fix":             "Set ADMIN_TOKEN (or ADMIN_TOKEN_FILE, a file holding the token) and restart the service.",
		"overview_title":           "Overview",
		"card_offered":             "Offered",
		"card_offered_note":        "charges sent to Efipay",
		"card_sent":                "Awaiting payment",
		"card_in_progress":         "In progress",
		"card_paid":                "Paid",
		"card_partial_note":        "partially paid: %d",
		"card_failed":              "Failed",
		"card_reversed_note":       "reversed: %d",
		"card_inactive":            "Inactive",
		"card_heldback":            "Held back",
		"card_heldback_note":       "records with errors, not sent",
		"card_collected":           "Collected",
		"nothing_collected":        "Nothing yet",
		"chart_title":              "Charges sent and paid per day, last 30 days",
		"chart_desc":               "Bars per day (Colombia time) from %s to %s: %d sent in all, %d paid in all.",
		"chart_sent":               "Sent",
		"chart_paid":               "Paid",
		"chart_data":               "Show the data",
		"day":                      "Day",
		"charges_title":            "Charges",
		"search_label":             "ID number or reference",
		"search_hint":              "Exact match",
		"state":                    "State",
		"all_states":               "All",
		"from":                     "Activity from",
		"to":                       "Activity to",
		"filter":                   "Search",
		"clear":                    "Clear",
		"results_id":               "Charges of ID number %s",
		"results_ref":              "Charge with reference %s",
		"no_charges":               "No charges match.",
		"bad_date":                 "Invalid date in “%s”; ignored.",
		"bad_range":                "The start date is after the end date; both ignored.",
		"ref":                      "Reference",
		"id_number":                "ID number",
		"payer":                    "Payer",
		"description":              "Description",
		"amount":                   "Amount",
		"paid_amount":              "Paid",
		"balance":                  "Balance",
		"last_activity":            "Last activity",
		"total":                    "%d in all",
		"page_of":                  "Page %d of %d",
		"previous":                 "Previous",
		"next":                     "Next",
		"pagination":               "Pagination",
		"charge_title":             "Charge %s",
		"details":                  "Details",
		"send_count":               "Times sent",
		"first_sent":               "First sent",
		"last_sent":                "Last sent",
		"offered_again":            "Offered again",
		"paid_at":                  "Paid on",
		"transaction":              "Efipay transaction",
		"parent_ref":               "Derived from the ERP's charge",
		"due_date":                 "Due date in the ERP",
		"overdue":                  "Overdue",
		"created":                  "Tracked since",
		"actions":                  "Actions",
		"release":                  "Offer at the next lookup",
		"release_help":             "Sends the charge to Efipay again at the customer's next lookup.",
		"deactivate":               "Deactivate",
		"deactivate_help":          "Stops offering the charge until it is activated.",
		"activate":                 "Activate",
		"activate_help":            "Returns to its former state and is offered at the next lookup.",
		"receipt":                  "Print receipt",
		"no_actions":               "No action applies in this state.",
		"done_release":             "Done: the charge will be offered at the next lookup.",
		"done_deactivate":          "Done: the charge is inactive.",
		"done_activate":            "Done: the charge is active.",
		"done_retry":               "Done: the ERP write-back will be tried again now.",
		"done_cancel":              "Done: the ERP write-back is cancelled.",
		"failed_release":           "Not offered: only a sent, failed or reversed charge can be offered again.",
		"failed_deactivate":        "Not deactivated: only a sent, failed or reversed charge can be deactivated.",
		"failed_activate":          "Not activated: only an inactive charge can be activated.",
		"failed_retry":             "Not retried: the write-back is already done.",
		"failed_cancel":            "Not cancelled: the write-back is already done.",
		"timeline":                 "Timeline",
		"when":                     "When",
		"event":                    "Event",
		"change":                   "Change",
		"detail":                   "Detail",
		"no_events":                "No events.",
		"webhooks_title":           "Efipay webhooks",
		"no_webhooks":              "No webhooks.",
		"outcome":                  "Outcome",
		"all_outcomes":             "All",
		"received":                 "Received",
		"efipay_status":            "Efipay status",
		"webhook_title":            "Webhook #%d",
		"method":                   "Payment method",
		"production":               "Production",
		"yes":                      "Yes",
		"no":                       "No",
		"body":                     "Body received",
		"writebacks_title":         "Payments written back to the ERP",
		"writebacks_intro":         "Every approved payment, and every reversal of one, is recorded in the ERP; failures are retried with growing waits. A reversal the source cannot record waits for the operator: do it in the ERP, then cancel the job.",
		"no_writebacks":            "No write-backs.",
		"attempts":                 "Attempts",
		"next_attempt":             "Next attempt",
		"last_error":               "Last error",
		"retry":                    "Retry",
		"cancel":                   "Cancel",
		"heldback_title":           "Held-back records",
		"heldback_intro":           "These ERP charges break an Efipay rule and are not sent. Fix the field in the ERP; a record leaves this list when a lookup sends the fixed version.",
		"heldback_none":            "No records are held back.",
		"heldback_shown":           "Showing the %d most recently seen of %d.",
		"rule":                     "Rule",
		"field":                    "Field",
		"reason":                   "Reason",
		"seen":                     "Seen",
		"seen_count":               "Times",
		"only_rule":                "Only this rule",
		"all_rules":                "All rules",
		"records":                  "%d records",
		"records_one":              "%d record",
		"error_title":              "Error",
		"error_not_found":          "What you are looking for does not exist.",
		"error_conflict":           "The action does not apply to the charge's current state.",
		"error_bad_request":        "The request is not valid.",
		"error_forbidden":          "The form expired or did not come from this dashboard. Go back to the page and try again.",
		"error_unavailable":        "The database is unavailable right now. Try again in a few seconds.",
		"error_internal":           "An internal error occurred. It was written to the service's log.",
		"back_overview":            "Back to the overview",
		"status_sent":              "Sent",
		"status_in_progress":       "In progress",
		"status_paid":              "Paid",
		"status_partially_paid":    "Partially paid",
		"status_failed":            "Failed",
		"status_reversed":          "Reversed",
		"status_inactive":          "Inactive",
		"outcome_applied":          "Applied",
		"outcome_duplicate":        "Duplicate",
		"outcome_unmatched":        "Unmatched",
		"outcome_unparseable":      "Unparseable",
		"outcome_flagged":          "Flagged",
		"outcome_stale":            "Stale",
		"wb_pending":               "Pending",
		"wb_done":                  "Done",
		"wb_cancelled":             "Cancelled",
		"event_sent":               "Sent to Efipay",
		"event_resent":             "Sent again",
		"event_released":           "Released",
		"event_deactivated":        "Deactivated",
		"event_activated":          "Activated",
		"event_webhook":            "Webhook",
		"event_writeback_enqueued": "ERP write-back queued",

		// Reversals written back to the ERP.
		"card_needs_operator":            "Write-backs for the operator",
		"card_needs_operator_note":       "reversals the source cannot record: do them in the ERP",
		"wb_needs_operator":              "Needs the operator",
		"wb_kind_reversal":               "Reversal",
		"event_writeback_needs_operator": "ERP write-back needs the operator",
	},
}

// translator gives a page its language's words and formats.
type translator struct {
	lang string
	text map[string]string
}

func newTranslator(lang string) translator {
	if _, ok := dashboardText[lang]; !ok {
		lang = langES
	}
	return translator{lang: lang, text: dashboardText[lang]}
}

// T is the text of key; the key itself when it has none, so that a missing
// word shows instead of vanishing (a test keeps that from shipping).
func (t translator) T(key string) string {
	if s, ok := t.text[key]; ok {
		return s
	}
	return key
}

// label is the text of prefix_value, or value itself when there is none (a
// state or outcome newer than the dashboard).
func (t translator) label(prefix, value string) string {
	if s, ok := t.text[prefix+"_"+value]; ok {
		return s
	}
	return value
}

// money writes an exact amount with its currency: "$ 1.234.567,50 COP" in
// Spanish, "$1,234,567.50 COP" in English.
func (t translator) money(d decimal.Decimal, currency string) string {
	s := web.Money(d)
	if t.lang == langEN {
		s = strings.NewReplacer(".", ",", ",", ".").Replace(s)
		return "$" + s + " " + currency
	}
	return "$ " + s + " " + currency
}

// when writes a time in Colombia to the minute; "—" for none.
func (t translator) when(at *time.Time) string {
	if at == nil || at.IsZero() {
		return "—"
	}
	if t.lang == langEN {
		return at.In(models.Bogota).Format("2006-01-02 15:04")
	}
	return at.In(models.Bogota).Format("02/01/2006 15:04")
}

// day writes a calendar day, short: "22/11" or "Nov 22".
func (t translator) day(d time.Time) string {
	if t.lang == langEN {
		return d.Format("Jan 2")
	}
	return d.Format("02/01")
}
