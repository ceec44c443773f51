package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// wireConn is one keep-alive HTTP/1.1 connection driven by hand, the way
// wrk drives its own: the request's bytes are written as they are and the
// answer is read by its length. net/http's client costs several times the
// CPU per request (a goroutine per connection for reading and one for
// writing, a channel handoff each way), CPU taken from the servers under
// test on a machine of two cores: the ceiling was measuring the client.
// Each worker owns one, so no locking.
type wireConn struct {
	addr string
	c    net.Conn
	br   *bufio.Reader
}

func newWireConn(addr string) *wireConn { return &wireConn{addr: addr} }

// dial connects when not connected.
func (w *wireConn) dial() error {
	if w.c != nil {
		return nil
	}
	c, err := net.DialTimeout("tcp", w.addr, 5*time.Second)
	if err != nil {
		return err
	}
	w.c = c
	if w.br == nil {
		w.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		w.br.Reset(c)
	}
	return nil
}

func (w *wireConn) close() {
	if w.c != nil {
		w.c.Close()
		w.c = nil
	}
}

// do sends a request (its bytes on the wire) and reads the whole answer;
// true when it is a 200. A connection that failed, or that the server
// closes, is dialed again on the next request.
func (w *wireConn) do(req []byte) bool {
	if err := w.dial(); err != nil {
		return false
	}
	_ = w.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := w.c.Write(req); err != nil {
		w.close()
		return false
	}
	status, keep, err := readResponse(w.br)
	if err != nil || !keep {
		w.close()
	}
	return err == nil && status == 200
}

// readResponse reads one HTTP/1.1 response from br, body included (by its
// Content-Length or its chunks), and returns its status and whether the
// connection may carry another request.
func readResponse(br *bufio.Reader) (status int, keepAlive bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, keepAlive := -1, false, true
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("bad header %q", line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keepAlive = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = discardChunks(br)
	case length >= 0:
		_, err = br.Discard(length)
	case status == 204 || status == 304:
	default:
		// No length: the body runs to the connection's end.
		_, err = io.Copy(io.Discard, br)
		keepAlive = false
	}
	return status, keepAlive && err == nil, err
}

// discardChunks reads a chunked body and its trailer.
func discardChunks(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			// Trailer lines, then the blank line.
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := br.Discard(int(n)); err != nil {
			return err
		}
		if crlf, err := br.ReadSlice('\n'); err != nil || len(bytes.TrimRight(crlf, "\r\n")) != 0 {
			return errors.Join(errors.New("chunk not followed by CRLF"), err)
		}
	}
}
