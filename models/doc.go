// Package models holds Efipay's wire types (what the lookup answers and what
// the webhook carries) and the database rows, in separate files and structs.
package models
