package ensemble

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxIDBytes bounds the length of an id.
const MaxIDBytes = 256

// MaxLineIDBytes bounds the length of an invoice or settlement line id.
// The library composes a line's id of several ids, each at most
// MaxIDBytes (a subscription, an item, a period's start, an offer and a
// charge; a credit note's line adds the invoice's id, the request's and the
// credited line's), so a line id has a bound of its own: package invoice
// refuses to issue or credit a line whose id is longer (so an invoice line
// never fails at settlement), and settlement refuses such a line.
const MaxLineIDBytes = 2048

// RefSeparators are all the characters the library joins ids on: pins
// ("offer@3"), price and plan paths ("offer/charge", "root/channel"), entry
// ids ("line:root/seller#clawback"), rule parties ("partner:acme"). An id
// that held the separator its refs are joined on could be read back as
// another id, so each id type refuses its own (a subset of these), and
// every id a payout entry id is built from refuses EntrySeparators (see the
// package doc's Ids section).
const RefSeparators = "/@:#"

// EntrySeparators are the separators of settlement's payout entry ids
// ("L1:root/seller#reserve": ':' ends the line part, '#' starts a suffix).
// Every id an entry id is built from refuses them where it is written, as
// the package doc's Ids section lists, so that an id that loads in one
// package is never refused by settlement later.
const EntrySeparators = ":#"

// ErrInvalidID is matched by every *IDError.
var ErrInvalidID = errors.New("ensemble: invalid id")

// IDError reports an id that cannot name anything: empty, too long, not
// valid UTF-8, or holding white space, a control character (NUL among them)
// or a separator its refs are joined on. Validation wraps it in a
// *FieldError whose Path names the field that holds the id.
type IDError struct {
	ID     string // the id, cut to 64 bytes
	Reason string
	// Separator is the separator the id holds when that is why it is
	// refused (its first, as written; one of RefSeparators), and empty
	// otherwise.
	Separator string
}

func (e *IDError) Error() string {
	return "ensemble: id " + strconv.Quote(e.ID) + ": " + e.Reason
}

// Is reports whether target is ErrInvalidID.
func (e *IDError) Is(target error) bool { return target == ErrInvalidID }

// CheckID is the one validation every id type of the library uses (offer,
// charge, partner, order, line, rule, meter, record ids): nil for a usable
// id, an *IDError otherwise. separators are the characters the id type may
// not hold: those its refs join on, and EntrySeparators for an id a payout
// entry id is built from (catalog ids RefSeparators, partner ids
// EntrySeparators, usage record ids none; see the package doc's Ids
// section).
func CheckID(id, separators string) error {
	if plainID(id, separators, MaxIDBytes) {
		return nil
	}
	return checkID(id, separators, MaxIDBytes)
}

// CheckLineID is CheckID for an invoice or settlement line id: the same
// grammar without EntrySeparators, at most MaxLineIDBytes long.
func CheckLineID(id string) error {
	if plainID(id, EntrySeparators, MaxLineIDBytes) {
		return nil
	}
	return checkID(id, EntrySeparators, MaxLineIDBytes)
}

// plainID reports whether id is a usable id made of printable ASCII only:
// not empty, at most max bytes long, and holding no white space, control
// character or byte of separators. It decides the common case without
// decoding runes; checkID decides every other id.
func plainID(id, separators string, max int) bool {
	if id == "" || len(id) > max {
		return false
	}
	// The printable ASCII separators as a set of bits, so that each byte
	// of the id is one test (the others never reach it: a non-ASCII byte
	// is not plain anyway).
	var sep [2]uint64
	for j := 0; j < len(separators); j++ {
		if c := separators[j]; c < 0x80 {
			sep[c>>6] |= 1 << (c & 63)
		}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		// space, control characters, DEL, non-ASCII, a separator
		if c <= ' ' || c >= 0x7f || sep[c>>6]&(1<<(c&63)) != 0 {
			return false
		}
	}
	return true
}

// checkID is CheckID for any id of at most max bytes.
func checkID(id, separators string, max int) error {
	reason, sep := "", ""
	switch {
	case id == "":
		reason = "empty"
	case len(id) > max:
		reason = "longer than " + strconv.Itoa(max) + " bytes"
	case !utf8.ValidString(id):
		reason = "not valid UTF-8"
	default:
		if i := strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }); i >= 0 {
			reason = "white space or a control character at byte " + strconv.Itoa(i)
		} else if i := strings.IndexAny(id, separators); i >= 0 {
			sep = id[i : i+1]
			reason = strconv.Quote(sep) + " at byte " + strconv.Itoa(i) + " is a separator ids are joined on (ensemble.RefSeparators)"
		}
	}
	if reason == "" {
		return nil
	}
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	return &IDError{ID: id, Reason: reason, Separator: sep}
}
