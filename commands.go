package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"recauda-bridge/config"
	"recauda-bridge/models"
	"recauda-bridge/recauda"
	"recauda-bridge/validation"
)

// validateFile checks a {"payments":[...]} file against every rule
// (recauda.CheckDocument), one line per violation. Exit 1 when any item is
// invalid.
func validateFile(path string, stdout io.Writer) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	items, err := recauda.CheckDocument(raw, validation.New(time.Now))
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s: %w", path, err)}
	}
	invalid := 0
	for i, it := range items {
		for _, v := range it.Violations {
			fmt.Fprintf(stdout, "item %d\tref_payment=%s\t%s\t%s\t%s\n", i, it.RefPayment, v.Field, v.Rule, v.Message)
		}
		if len(it.Violations) > 0 {
			invalid++
		}
	}
	fmt.Fprintf(stdout, "%d items, %d valid, %d invalid\n", len(items), len(items)-invalid, invalid)
	if invalid > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// preview shows what a lookup for idNumber would send, hold back and
// withhold, without claiming anything.
func preview(ctx context.Context, env config.Lookup, idNumber string, stdout, stderr io.Writer) error {
	if err := recauda.ValidateIDNumber(idNumber); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%q: ID_NUMBER must be 5 to 20 digits", idNumber)}
	}
	a, err := newApp(ctx, env, stderr, readOnly)
	if err != nil {
		return err
	}
	defer a.close()
	l, err := a.service.Preview(ctx, idNumber)
	if err != nil {
		return err
	}
	counts := map[recauda.Decision]int{}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	var send []models.Payment
	for _, it := range l.Items {
		counts[it.Decision]++
		info := it.Payment.RecaudaInformation
		switch it.Decision {
		case recauda.DecisionSend:
			send = append(send, it.Payment)
			fmt.Fprintf(tw, "SEND\t%s\t%s %s\t%s\n", it.RefPayment, info.CurrencyType, info.Amount.String(), info.Description)
		case recauda.DecisionWithheld:
			fmt.Fprintf(tw, "WITHHELD\t%s\t%s %s\t%s\n", it.RefPayment, info.CurrencyType, info.Amount.String(), it.Reason)
		case recauda.DecisionHeldBack:
			for _, v := range it.Violations {
				fmt.Fprintf(tw, "HELD BACK\t%s\t%s\t%s: %s\n", it.RefPayment, v.Field, v.Rule, v.Message)
			}
		}
		for _, n := range it.Due.NotesFor(it.Decision) {
			fmt.Fprintf(tw, "  NOTE\t%s\t\t%s\n", it.RefPayment, n)
		}
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\n%d charges: %d would be sent, %d held back, %d withheld\n",
		len(l.Items), counts[recauda.DecisionSend], counts[recauda.DecisionHeldBack], counts[recauda.DecisionWithheld])
	if len(send) > 0 {
		b, err := json.MarshalIndent(models.PaymentsResponse{Payments: send}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "\nThe answer would be:\n%s\n", b)
	}
	return nil
}
