// Package efipay checks and reads the payment webhooks Efipay sends.
//
// Efipay POSTs a JSON body to the URL given in a recauda's
// advanced_options.result_urls.webhook each time a payment attempt changes
// state. The header Signature carries the lowercase hex HMAC-SHA256 of the raw
// body, keyed with the commerce's webhook token: [Verify] checks it over the
// exact bytes received, before anything is decoded, and [Sign] produces it.
//
// Efipay retries a webhook only after a non-2xx answer: once after 10 s, once
// more after 100 s, and never again. It offers no API to query a transaction
// later, so the webhook is the only channel: a caller must store the event
// durably before answering 2xx, and must treat a repeated event as harmless
// (the same transaction can arrive again, and its status can move on, for
// instance from Aprobada to Reversada).
//
// [Parse] decodes a body into an [Event]: the transaction's id and status,
// the status's meaning ([OutcomeOf]), the amount as an exact decimal, and
// every reference that may tie the payment to a recauda. How Efipay echoes a
// recauda's ref_payment is undocumented, so the bridge sends ref_payment in
// advanced_options.references and Parse gathers every place a reference may
// come back: the path Efipay's own plugins read
// (checkout.payment_gateway.advanced_option.references), its top-level
// fallback, the plural advanced_options spelling of both, and any ref_payment
// field anywhere in the body. Parse fails for a given body every time, so a
// caller that wants to keep such a webhook must store the raw body itself.
package efipay
