// Command ceiling is the physical limit the load test compares against: a
// bare Echo server answering GET /get-recaudas with fixed bytes.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/labstack/echo/v4"
)

var body = []byte(`{"payments":[{"recauda_information":{"description":"Cuota de prueba","amount":150000,"selected_taxes":null,"currency_type":"COP","id_number":"70000000","payer_name":"Cliente de prueba","ref_payment":"LOAD-1"},"advanced_options":{"limit_date":"2099-12-31","references":["LOAD-1"],"has_comments":false}}]}`)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	flag.Parse()
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/get-recaudas", func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, body)
	})
	log.Fatal(e.Start(*addr))
}
