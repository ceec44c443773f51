// Package loopback builds the HTTP clients of the tools that play Efipay
// (the sandbox, the conformance check): by default they may reach only this
// machine, so that a test run cannot post a payment or probe a host by
// mistake.
package loopback

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// ErrRemote means a call was about to leave the machine without the
// operator's consent (--allow-remote).
var ErrRemote = errors.New("not a loopback address (pass --allow-remote to call other hosts)")

// Client returns an HTTP client with timeout, without cookies, that follows
// no redirect (Efipay's answer is the first one) and, unless allowRemote,
// connects only to loopback addresses. The check is made on the address
// actually dialled, after name resolution, so no name can smuggle a remote
// host in.
func Client(timeout time.Duration, allowRemote bool) *http.Client {
	d := &net.Dialer{Timeout: timeout}
	if !allowRemote {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("%s: %w", address, ErrRemote)
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // a proxy would hide the host really called
	tr.DialContext = d.DialContext
	return &http.Client{
		Timeout:       timeout,
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// IsLocal says whether u names this machine: localhost or a loopback IP.
// Commands use it to refuse early, before any call, and to say loudly
// which remote hosts they call when allowed to.
func IsLocal(u *url.URL) bool { return IsLocalHost(u.Hostname()) }

// IsLocalHost says whether host (no port) is localhost or a loopback IP.
func IsLocalHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
