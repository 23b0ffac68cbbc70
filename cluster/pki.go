package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// peerServerName is the DNS name every node certificate carries and every
// node verifies: trust comes from the cluster CA, not from addresses, so a
// node keeps its certificate when its address changes.
const peerServerName = "node.xdr.cluster"

// PKI is a node's cluster credentials: the cluster CA (certificate and key,
// so any member can admit a joining node), the node's own certificate, and
// the cluster secret from which the gossip key and join-token MACs derive.
// They live in DATA_DIR/tls, readable only by the service user.
type PKI struct {
	CA       *x509.Certificate
	CAKey    crypto.Signer
	CAPEM    []byte
	CAKeyPEM []byte
	Node     tls.Certificate
	Secret   []byte // 32 bytes
}

const (
	caCertFile   = "cluster-ca.crt"
	caKeyFile    = "cluster-ca.key"
	nodeCertFile = "node.crt"
	nodeKeyFile  = "node.key"
	secretFile   = "cluster.secret"
)

// HasPKI reports whether dataDir holds cluster credentials.
func HasPKI(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, "tls", secretFile))
	return err == nil
}

// LoadPKI reads the credentials of dataDir.
func LoadPKI(dataDir string) (*PKI, error) {
	dir := filepath.Join(dataDir, "tls")
	read := func(name string) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read cluster credentials: %w", err)
		}
		return b, nil
	}
	caPEM, err := read(caCertFile)
	if err != nil {
		return nil, err
	}
	caKeyPEM, err := read(caKeyFile)
	if err != nil {
		return nil, err
	}
	secret, err := read(secretFile)
	if err != nil {
		return nil, err
	}
	p, err := parseCA(caPEM, caKeyPEM, secret)
	if err != nil {
		return nil, err
	}
	certPEM, err := read(nodeCertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := read(nodeKeyFile)
	if err != nil {
		return nil, err
	}
	if err := p.loadNode(certPEM, keyPEM); err != nil {
		return nil, err
	}
	return p, nil
}

func parseCA(caPEM, caKeyPEM, secret []byte) (*PKI, error) {
	if len(secret) != 32 {
		return nil, errors.New("cluster secret must be 32 bytes")
	}
	block, _ := pem.Decode(caPEM)
	if block == nil {
		return nil, errors.New("cluster CA certificate is not PEM")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse cluster CA: %w", err)
	}
	kb, _ := pem.Decode(caKeyPEM)
	if kb == nil {
		return nil, errors.New("cluster CA key is not PEM")
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse cluster CA key: %w", err)
	}
	return &PKI{CA: ca, CAKey: key, CAPEM: caPEM, CAKeyPEM: caKeyPEM, Secret: secret}, nil
}

// NewPKI creates the credentials of a new cluster: a CA, a secret, and the
// bootstrap node's certificate; it writes them to dataDir.
func NewPKI(dataDir, nodeID, advertise string) (*PKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "Mini-XDR cluster CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create cluster CA: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	p, err := parseCA(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), secret)
	if err != nil {
		return nil, err
	}
	certPEM, nodeKeyPEM, err := p.issueNode(nodeID, advertise)
	if err != nil {
		return nil, err
	}
	if err := p.save(dataDir, certPEM, nodeKeyPEM); err != nil {
		return nil, err
	}
	return p, nil
}

// issueNode creates a key and a CA-signed certificate for a node. The key
// never leaves the admitting member except in the join answer, over TLS
// pinned to this CA.
func (p *PKI) issueNode(nodeID, advertise string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: nodeID},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{peerServerName},
	}
	if host, _, err := net.SplitHostPort(advertise); err == nil {
		if ip := net.ParseIP(host); ip != nil {
			tmpl.IPAddresses = []net.IP{ip}
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, host)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.CA, &key.PublicKey, p.CAKey)
	if err != nil {
		return nil, nil, fmt.Errorf("sign node certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

// save writes the credentials (secret last: its presence marks a complete
// set, see HasPKI) and loads the node pair.
func (p *PKI) save(dataDir string, certPEM, keyPEM []byte) error {
	dir := filepath.Join(dataDir, "tls")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create tls dir: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{caCertFile, p.CAPEM}, {caKeyFile, p.CAKeyPEM}, {nodeCertFile, certPEM}, {nodeKeyFile, keyPEM}, {secretFile, p.Secret}} {
		if err := writeFileSync(filepath.Join(dir, f.name), f.data); err != nil {
			return err
		}
	}
	return p.loadNode(certPEM, keyPEM)
}

// loadNode sets the node's TLS pair. The CA rides along in the chain so a
// joining node can pin it.
func (p *PKI) loadNode(certPEM, keyPEM []byte) error {
	node, err := tls.X509KeyPair(append(slices.Clip(certPEM), p.CAPEM...), keyPEM)
	if err != nil {
		return fmt.Errorf("load node certificate: %w", err)
	}
	p.Node = node
	return nil
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return f.Close()
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

// CAFingerprint is the SHA-256 of the CA certificate: what a join token
// pins.
func (p *PKI) CAFingerprint() [32]byte { return sha256.Sum256(p.CA.Raw) }

func (p *PKI) pool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.CA)
	return pool
}

// ServerTLS accepts any client (joining nodes have no certificate yet);
// the connection's first byte decides whether a verified one is required.
func (p *PKI) serverTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.Node},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    p.pool(),
		MinVersion:   tls.VersionTLS13,
	}
}

// clientTLS presents the node certificate and trusts only the cluster CA.
func (p *PKI) clientTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{p.Node},
		RootCAs:      p.pool(),
		ServerName:   peerServerName,
		MinVersion:   tls.VersionTLS13,
	}
}

// derive returns a key for one purpose from the cluster secret.
func (p *PKI) derive(purpose string) []byte {
	m := hmac.New(sha256.New, p.Secret)
	m.Write([]byte("xdr cluster " + purpose))
	return m.Sum(nil)
}

// EnsurePKI loads dataDir's credentials, or creates those of a new
// cluster (bootstrap, or a node from before clustering) when it has none.
func EnsurePKI(dataDir, advertise string) (*PKI, error) {
	if HasPKI(dataDir) {
		return LoadPKI(dataDir)
	}
	id, err := NodeID(dataDir)
	if err != nil {
		return nil, err
	}
	return NewPKI(dataDir, id, advertise)
}
