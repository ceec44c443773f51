package request

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// AttachmentWriteTimeout bounds the writing of one downloaded file.
const AttachmentWriteTimeout = 10 * time.Minute

// Attachment answers 200 with a file that write fills as it goes. A large
// range takes longer than the server's write timeout, which is sized for
// lookups, so the file gets minutes of its own. An error after the first
// byte cannot change the status: the error handler logs it and the client
// sees a cut file.
func Attachment(c echo.Context, contentType, name string, write func(w *echo.Response) error) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, contentType)
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", name))
	h.Set("Cache-Control", "no-store")
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Now().Add(AttachmentWriteTimeout))
	c.Response().WriteHeader(http.StatusOK)
	return write(c.Response())
}
