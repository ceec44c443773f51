package deploy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestNginxExample runs proxy/nginx.conf, as an operator would install it,
// in front of a real bridge configured as its header says (TRUSTED_PROXIES,
// LOOKUP_ALLOW_CIDRS): nginx -t accepts it, lookups go through TLS, the
// allowlist sees the client's address through the proxy, and a client
// forging X-Forwarded-For gains nothing. Clients and proxy use different
// loopback addresses (127.0.0.2, .3 and .1) to stand for different hosts.
func TestNginxExample(t *testing.T) {
	nginx := need(t, "nginx", "nginx")
	bin := staticBinary(t)
	dir := t.TempDir()

	b := startBridge(t, bin, "DATABASE_URL="+filepath.Join(dir, "bridge.db"), "TRUSTED_PROXIES=127.0.0.1/32",
		"LOOKUP_ALLOW_CIDRS=127.0.0.2/32", "LOG_LEVEL=warn")
	cert, key := selfSigned(t, dir)
	httpsAddr, httpAddr := freeAddr(t), freeAddr(t)

	site := readFile(t, "proxy/nginx.conf")
	for old, repl := range map[string]string{
		"    listen 443 ssl;\n":                                  "    listen " + httpsAddr + " ssl;\n",
		"    listen 80;\n":                                       "    listen " + httpAddr + ";\n",
		"    listen [::]:443 ssl;\n":                             "",
		"    listen [::]:80;\n":                                  "",
		"/etc/letsencrypt/live/bridge.example.com/fullchain.pem": cert,
		"/etc/letsencrypt/live/bridge.example.com/privkey.pem":   key,
		"/var/log/nginx/recauda-bridge.access.log":               filepath.Join(dir, "access.log"),
		"server 127.0.0.1:8080;":                                 "server " + b.addr + ";",
	} {
		if !strings.Contains(site, old) {
			t.Fatalf("proxy/nginx.conf lacks %q", old)
		}
		site = strings.ReplaceAll(site, old, repl)
	}
	main := fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/site.conf;
}
`, dir)
	if err := os.WriteFile(filepath.Join(dir, "site.conf"), []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, time.Minute, dir, nginx, "-t", "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	var nlog syncBuffer
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	cmd.Stdout, cmd.Stderr = &nlog, &nlog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport: &http.Transport{DialContext: d.DialContext,
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the test's own self-signed certificate
	}
	get := func(c *http.Client, url, xff string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		var resp *http.Response
		var err error
		for i := 0; i < 100; i++ { // nginx starting
			if resp, err = c.Do(req); err == nil {
				resp.Body.Close()
				return resp
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("GET %s: %v\nnginx: %s", url, err, nlog.String())
		return nil
	}
	lookup := "https://" + httpsAddr + "/get-recaudas?id_number=79845123"
	tests := []struct {
		name   string
		client string
		url    string
		xff    string
		want   int
	}{
		{"the allowed client through TLS", "127.0.0.2", lookup, "", http.StatusOK},
		{"another client", "127.0.0.3", lookup, "", http.StatusForbidden},
		{"another client forging X-Forwarded-For", "127.0.0.3", lookup, "127.0.0.2", http.StatusForbidden},
		{"plain HTTP is redirected", "127.0.0.2", "http://" + httpAddr + "/get-recaudas?id_number=79845123", "", http.StatusMovedPermanently},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := get(from(tt.client), tt.url, tt.xff)
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d, want %d\nbridge log:\n%s", resp.StatusCode, tt.want, b.log.String())
			}
			if tt.want == http.StatusMovedPermanently && !strings.HasPrefix(resp.Header.Get("Location"), "https://") {
				t.Fatalf("got Location %q, want https://…", resp.Header.Get("Location"))
			}
		})
	}
	if access := readFile(t, filepath.Join(dir, "access.log")); strings.Contains(access, "79845123") {
		t.Fatalf("nginx's access log holds an ID number:\n%s", access)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bridge.example.com"},
		DNSNames: []string{"bridge.example.com"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}
