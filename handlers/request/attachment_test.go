package request_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"recauda-bridge/handlers/request"
)

// A file that takes longer than the server's write timeout still arrives
// whole: the dashboard's and the admin API's downloads share this.
func TestAttachmentOutlivesTheServersWriteTimeout(t *testing.T) {
	e := echo.New()
	e.GET("/file", func(c echo.Context) error {
		return request.Attachment(c, "text/csv", "pagos.csv", func(w *echo.Response) error {
			time.Sleep(300 * time.Millisecond)
			_, err := io.WriteString(w, "a,b\n1,2\n")
			return err
		})
	})
	srv := httptest.NewUnstartedServer(e)
	srv.Config.WriteTimeout = 50 * time.Millisecond
	srv.Start()
	defer srv.Close()

	res, err := http.Get(srv.URL + "/file")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v (the write timeout cut the file)", err)
	}
	if got, want := string(body), "a,b\n1,2\n"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
	if got := res.Header.Get("Content-Disposition"); !strings.Contains(got, `filename="pagos.csv"`) {
		t.Errorf("Content-Disposition = %q, want the file name", got)
	}
	if got := res.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}
