package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// KeySize is the size of a sealing key: AES-256.
const KeySize = 32

// sealPrefix versions the sealed form, so a later change of algorithm can
// open old rows and re-seal them instead of needing a flag day.
const sealPrefix = "v1:"

// sealAD is authenticated with every sealed secret. It binds a ciphertext to
// this use, so that if the same key ever sealed something else, that value
// could not be passed off as a webhook secret.
var sealAD = []byte("renkei webhook secret v1")

// Sealer encrypts signing secrets before they are stored. The database then
// holds nothing that can sign a message: a stolen backup or a read-only SQL
// injection does not let anyone forge payments to related services without
// also stealing the key, which lives outside the database.
// A Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer using key, which must be KeySize bytes.
// AES-GCM with a fresh random nonce per secret is used: the number of
// secrets sealed under one key stays far below the 2^32 that random nonces
// allow.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("new sealer: key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("new sealer: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("new sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plain and returns text fit for a TEXT column:
// "v1:" and the base64 of nonce, ciphertext and tag. Sealing the same secret
// twice gives different text, so equal secrets cannot be spotted in a dump.
// The error is always nil today; it is there so that a future key kept in a
// KMS, which can fail, does not change the signature.
func (s *Sealer) Seal(plain string) (string, error) {
	ct := s.aead.Seal(nil, nil, []byte(plain), sealAD)
	return sealPrefix + base64.StdEncoding.EncodeToString(ct), nil
}

// Open decrypts what Seal returned. It fails, without saying more, if the
// text was altered or sealed under another key: telling the two apart would
// only help an attacker.
func (s *Sealer) Open(sealed string) (string, error) {
	rest, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return "", errors.New("open sealed secret: unknown format")
	}
	ct, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", errors.New("open sealed secret: invalid base64")
	}
	plain, err := s.aead.Open(nil, nil, ct, sealAD)
	if err != nil {
		return "", errors.New("open sealed secret: wrong key or altered data")
	}
	return string(plain), nil
}

// LoadOrCreateKey returns the sealing key kept in the file at path, creating
// the file with a new random key (mode 0600) on first start, so that a
// single-binary install seals secrets without any setup. A key file that
// group or others may read or write is refused rather than used: the key is
// what keeps every endpoint's secret, and silently trusting a world-readable
// copy would hide that it may already have leaked.
//
// Losing the file makes every sealed secret unreadable, so back it up apart
// from the database.
func LoadOrCreateKey(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := createKeyFile(path); err != nil {
		return nil, err
	}
	// Read back what is on disk: if another process created the file at
	// the same moment, its key won and is the one to use.
	return readKeyFile(path)
}

// KeyFromEnv decodes a base64 sealing key taken from an environment variable,
// for deployments (containers, PaaS) that hand out secrets that way instead
// of as files. Errors never repeat the value.
func KeyFromEnv(value string) ([]byte, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, errors.New("sealing key: empty value")
	}
	key, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return nil, errors.New("sealing key: not valid base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealing key: %d bytes, want %d", len(key), KeySize)
	}
	return key, nil
}

// readKeyFile reads and checks an existing key file.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sealing key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sealing key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("sealing key file %s: not a regular file", path)
	}
	// Windows has no Unix permission bits; Go reports made-up ones there.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sealing key file %s has mode %04o and may be read by other users; run: chmod 600 %s",
			path, fi.Mode().Perm(), path)
	}
	// A key file is a few dozen bytes; refuse to read a huge file by mistake.
	buf, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("sealing key file %s: %w", path, err)
	}
	key, err := KeyFromEnv(string(buf))
	if err != nil {
		return nil, fmt.Errorf("sealing key file %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new key to path without ever leaving a partial file
// under that name: the key goes to a temporary file that is synced and then
// hard-linked into place, which fails instead of overwriting if path appeared
// meanwhile. The directory is synced too, because a key lost on power
// failure would make every secret sealed since unreadable.
func createKeyFile(path string) error {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("create sealing key: %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".sealing-key-*") // mode 0600
	if err != nil {
		return fmt.Errorf("create sealing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("create sealing key: %w", err)
	}
	if _, err := tmp.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("create sealing key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("create sealing key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("create sealing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create sealing key: %w", err)
	}
	// Windows cannot open or sync a directory; its file system journals the
	// link itself.
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("create sealing key: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("create sealing key: sync %s: %w", dir, err)
	}
	return nil
}
