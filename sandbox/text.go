package sandbox

import "fmt"

// The sandbox speaks Spanish, and English on request (?lang=en, then
// remembered in a cookie), like the dashboard. Every word its pages show
// comes from this table; a test checks that both languages have the same
// keys and that every key the templates use is in both.

// Languages.
const (
	LangES = "es"
	LangEN = "en"
)

var text = map[string]map[string]string{
	LangES: {
		"title":                 "Sandbox de Efipay",
		"language":              "Idioma",
		"nav_lookup":            "Consultar",
		"nav_webhooks":          "Webhooks enviados",
		"intro":                 "Un sustituto local del portal de recaudo de Efipay: consulta el endpoint como lo hace Efipay, muestra los cobros como los vería el cliente y paga con webhooks firmados.",
		"calls":                 "Consulta",
		"remote_warning":        "--allow-remote: este sandbox llama a hosts fuera de esta máquina.",
		"webhook_override":      "Los webhooks van a",
		"id_label":              "Número de identificación",
		"search":                "Consultar",
		"took":                  "Respuesta en %s (HTTP %d)",
		"no_answer":             "Sin respuesta tras %s",
		"problem":               "Problema",
		"none_pending":          "No hay cobros pendientes para este número.",
		"earlier":               "Ofrecido en una consulta anterior",
		"earlier_note":          "El puente no lo envió de nuevo; Efipay lo conserva por su ref_payment y el cliente lo sigue viendo.",
		"again":                 "Enviado de nuevo: Efipay ignora la copia y conserva el primero (mismo ref_payment).",
		"unreadable":            "Ítem ilegible: Efipay lo rechazaría",
		"valid":                 "Válido según las reglas de Efipay",
		"invalid":               "Efipay rechazaría este ítem",
		"amount":                "Valor",
		"due":                   "Fecha límite",
		"no_due":                "sin fecha límite",
		"discount":              "Descuento por pronto pago",
		"discount_until":        "%s hasta el %s",
		"advance":               "Anticipo mínimo",
		"advance_percent":       "%s %% del valor",
		"delivery":              "Envío",
		"delivery_free":         "Gratis",
		"delivery_paid":         "Con valor: %s",
		"address":               "Pide dirección de entrega",
		"comments":              "Comentarios",
		"picture":               "Imagen (no se carga)",
		"ref":                   "Referencia",
		"paid_so_far":           "Pagado hasta ahora",
		"total":                 "Total a pagar hoy",
		"pay":                   "Pagar",
		"production":            "production: true (pago real)",
		"kind_full":             "Pagar el total",
		"kind_advance":          "Pagar un anticipo",
		"kind_rejected":         "Intento rechazado",
		"kind_pending_approved": "Pendiente y luego aprobado",
		"kind_reversal":         "Reversar el último pago aprobado",
		"advance_amount":        "Valor del anticipo",
		"result_title":          "Pago enviado",
		"back":                  "Volver a los cobros de %s",
		"webhooks_title":        "Webhooks enviados",
		"no_webhooks":           "Todavía no se ha enviado ningún webhook.",
		"when":                  "Hora",
		"status":                "Estado Efipay",
		"transaction":           "Transacción",
		"destination":           "Destino",
		"attempts":              "Intentos",
		"answer":                "Respuesta",
		"next_retry":            "Próximo reintento: %s",
		"no_more_retries":       "Sin más reintentos (Efipay reintenta a los 10 s y a los 100 s, y luego nunca más).",
		"delivered":             "Entregado",
		"not_delivered":         "No entregado",
		"body":                  "Cuerpo firmado",
		"error_title":           "No se pudo pagar",
		"err_unknown_ref":       "No se recibió ningún ítem con esa referencia: consulte primero al cliente.",
		"err_not_payable":       "Efipay no aceptaría un pago de este ítem: incumple una regla.",
		"err_no_webhook":        "El ítem no trae result_urls.webhook (inicie el sandbox con --webhook URL).",
		"err_bad_amount":        "El valor debe ser un número decimal positivo (use punto para los decimales).",
		"err_nothing_to_rev":    "Este ítem no tiene un pago aprobado que reversar.",
		"err_other":             "Error: %s",
		"err_bad_id":            "Escriba un número de identificación.",
	},
	LangEN: {
		"title":                 "Efipay sandbox",
		"language":              "Language",
		"nav_lookup":            "Look up",
		"nav_webhooks":          "Webhooks sent",
		"intro":                 "A local stand-in for Efipay's collection portal: it calls the endpoint as Efipay does, shows the charges as the customer would see them and pays with signed webhooks.",
		"calls":                 "Lookup",
		"remote_warning":        "--allow-remote: this sandbox calls hosts outside this machine.",
		"webhook_override":      "Webhooks go to",
		"id_label":              "ID number",
		"search":                "Look up",
		"took":                  "Answered in %s (HTTP %d)",
		"no_answer":             "No answer after %s",
		"problem":               "Problem",
		"none_pending":          "Nothing pending for this ID number.",
		"earlier":               "Offered in an earlier lookup",
		"earlier_note":          "The bridge did not send it again; Efipay keeps it by its ref_payment and the customer still sees it.",
		"again":                 "Sent again: Efipay ignores the copy and keeps the first (same ref_payment).",
		"unreadable":            "Unreadable item: Efipay would refuse it",
		"valid":                 "Valid under Efipay's rules",
		"invalid":               "Efipay would refuse this item",
		"amount":                "Amount",
		"due":                   "Due date",
		"no_due":                "no due date",
		"discount":              "Early-payment discount",
		"discount_until":        "%s until %s",
		"advance":               "Minimum advance",
		"advance_percent":       "%s %% of the amount",
		"delivery":              "Delivery",
		"delivery_free":         "Free",
		"delivery_paid":         "Paid: %s",
		"address":               "Asks for a delivery address",
		"comments":              "Comments",
		"picture":               "Picture (not loaded)",
		"ref":                   "Reference",
		"paid_so_far":           "Paid so far",
		"total":                 "Total to pay today",
		"pay":                   "Pay",
		"production":            "production: true (a real payment)",
		"kind_full":             "Pay in full",
		"kind_advance":          "Pay an advance",
		"kind_rejected":         "Rejected attempt",
		"kind_pending_approved": "Pending, then approved",
		"kind_reversal":         "Reverse the latest approved payment",
		"advance_amount":        "Advance amount",
		"result_title":          "Payment sent",
		"back":                  "Back to the charges of %s",
		"webhooks_title":        "Webhooks sent",
		"no_webhooks":           "No webhook sent yet.",
		"when":                  "Time",
		"status":                "Efipay status",
		"transaction":           "Transaction",
		"destination":           "Destination",
		"attempts":              "Attempts",
		"answer":                "Answer",
		"next_retry":            "Next retry: %s",
		"no_more_retries":       "No more retries (Efipay retries after 10 s and 100 s, then never again).",
		"delivered":             "Delivered",
		"not_delivered":         "Not delivered",
		"body":                  "Signed body",
		"error_title":           "The payment could not be made",
		"err_unknown_ref":       "No item with this reference was received: look the customer up first.",
		"err_not_payable":       "Efipay would not take a payment for this item: it breaks a rule.",
		"err_no_webhook":        "The item has no result_urls.webhook (start the sandbox with --webhook URL).",
		"err_bad_amount":        "The amount must be a positive decimal number (a dot before the decimals).",
		"err_nothing_to_rev":    "This item has no approved payment to reverse.",
		"err_other":             "Error: %s",
		"err_bad_id":            "Type an ID number.",
	},
}

// Text is one language's strings, as the templates use them.
type Text struct{ lang string }

// T returns the string of key, formatted with args when given. An unknown
// key shows as itself between question marks, which the tests catch.
func (t Text) T(key string, args ...any) string {
	s, ok := text[t.lang][key]
	if !ok {
		return "??" + key + "??"
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}
