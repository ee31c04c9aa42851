// Package renkei holds the domain of the Renkei payment platform: wallets,
// merchants, payments, refunds, the ledger and the events that partners will
// later receive. It imports only the standard library; storage, HTTP and
// sending live in their own packages.
package renkei

import (
	"crypto/rand"
	"encoding/binary"
	"io"
	"strings"
	"sync"
	"time"
)

// Version is the release of the binary; set with -ldflags at build time.
var Version = "dev"

// Id prefixes, one per resource, as in CONVENTIONS.md.
const (
	PrefixUser           = "usr_"
	PrefixWallet         = "wal_"
	PrefixMerchant       = "mer_"
	PrefixTerminal       = "ter_"
	PrefixPayment        = "pay_"
	PrefixRefund         = "rfd_"
	PrefixEvent          = "evt_"
	PrefixTxn            = "txn_"
	PrefixPosting        = "pst_"
	PrefixRelatedService = "rsv_"
	PrefixLink           = "lnk_"
	PrefixProposal       = "prp_"
	PrefixSelection      = "sel_"
	PrefixMessage        = "msg_"
	PrefixAttempt        = "att_"
	PrefixStatement      = "stm_"
	PrefixConsent        = "cns_"
)

// crockford is Crockford's base32 alphabet: ids stay sortable as strings
// because the alphabet is in ASCII order.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDGen makes opaque ids that sort by creation time: 48 bits of
// milliseconds then 80 random bits, base32 (the ULID layout). Within one
// millisecond it increments the random part, so ids made by one process are
// strictly increasing.
type IDGen struct {
	Now  func() time.Time
	Rand io.Reader

	mu   sync.Mutex
	last [16]byte
}

// NewIDGen returns a generator on the wall clock and crypto/rand.
func NewIDGen() *IDGen { return &IDGen{Now: time.Now, Rand: rand.Reader} }

// New returns a fresh id with the given prefix.
func (g *IDGen) New(prefix string) string {
	g.mu.Lock()
	defer g.mu.Unlock()

	var b [16]byte
	ms := uint64(g.Now().UnixMilli())
	binary.BigEndian.PutUint64(b[0:8], ms<<16)
	lastMS := binary.BigEndian.Uint64(g.last[0:8]) >> 16
	if ms <= lastMS {
		// Same (or an earlier) millisecond: keep order by incrementing.
		b = g.last
		// A carry out of the random part moves into the time part, which
		// only happens after 2^80 ids in one millisecond.
		for i := 15; i >= 0; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else if _, err := io.ReadFull(g.Rand, b[6:]); err != nil {
		panic("renkei: random source failed: " + err.Error())
	}
	g.last = b

	var sb strings.Builder
	sb.Grow(len(prefix) + 26)
	sb.WriteString(prefix)
	// 128 bits as 26 base32 characters, most significant first.
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	for i := 25; i >= 0; i-- {
		shift := uint(i * 5)
		var v uint64
		switch {
		case shift >= 64:
			v = hi >> (shift - 64)
		case shift == 0:
			v = lo
		default:
			v = lo>>shift | hi<<(64-shift)
		}
		sb.WriteByte(crockford[v&31])
	}
	return sb.String()
}

// HasPrefix reports whether id looks like an id of the given kind. It is a
// cheap first check before a database lookup.
func HasPrefix(id, prefix string) bool {
	return len(id) == len(prefix)+26 && strings.HasPrefix(id, prefix)
}

// RandomToken returns a secret of n random bytes in URL-safe base32 behind
// a prefix: bearer tokens, terminal API keys and payment request references
// are made with it, so that none can be guessed.
func RandomToken(r io.Reader, prefix string, n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		panic("renkei: random source failed: " + err.Error())
	}
	var sb strings.Builder
	sb.WriteString(prefix)
	var acc uint32
	bits := 0
	for _, c := range b {
		acc = acc<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			sb.WriteByte(strings.ToLower(crockford)[(acc>>bits)&31])
		}
	}
	if bits > 0 {
		sb.WriteByte(strings.ToLower(crockford)[(acc<<(5-bits))&31])
	}
	return sb.String()
}
