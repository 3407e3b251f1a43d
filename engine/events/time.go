package events

import (
	"fmt"
	"strings"
	"time"
)

// ParseTime parses a p_event_time value. Panther writes
// "2006-01-02 15:04:05.000000000"; test events and other tools use RFC 3339.
// It accepts the same forms as the Python harness (panther_core's
// _parse_event_time), so that Go and the rules agree on an event's time:
//
//	2006-01-02[(T| )15:04[:05[(.|,)fraction]]][ ][zone][ UTC]
//
// with T and the zone case-insensitive, the fraction of any length (digits
// past nanoseconds are dropped), and zone one of Z, UTC, GMT, ±hh, ±hhmm or
// ±hh:mm. Without a zone the time is UTC. Surrounding white space is
// ignored.
func ParseTime(s string) (time.Time, error) {
	p := timeParser{s: strings.TrimSpace(s)}
	t, ok := p.parse()
	if !ok {
		if p.why == "" {
			p.why = "not a date and time"
		}
		return time.Time{}, fmt.Errorf("events: parsing time %q: %s", s, p.why)
	}
	return t, nil
}

type timeParser struct {
	s   string
	i   int
	why string // set when a field is out of range
}

func (p *timeParser) parse() (time.Time, bool) {
	year, ok1 := p.digits(4)
	ok2 := p.lit('-')
	month, ok3 := p.digits(2)
	ok4 := p.lit('-')
	day, ok5 := p.digits(2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return time.Time{}, false
	}
	var hour, minute, sec, nsec int
	// A time follows the date only as "T" or " " then hh:mm; otherwise
	// the space belongs before a zone ("2024-05-01 UTC").
	if rest := p.s[p.i:]; len(rest) >= 6 && (rest[0] == 'T' || rest[0] == 't' || rest[0] == ' ') &&
		isDigit(rest[1]) && isDigit(rest[2]) && rest[3] == ':' {
		p.i++
		hour, _ = p.digits(2)
		p.i++
		var ok bool
		if minute, ok = p.digits(2); !ok {
			return time.Time{}, false
		}
		if p.lit(':') {
			if sec, ok = p.digits(2); !ok {
				return time.Time{}, false
			}
			if p.lit('.') || p.lit(',') {
				if nsec, ok = p.fraction(); !ok {
					return time.Time{}, false
				}
			}
		}
	}
	p.space()
	loc, ok := p.zone()
	if !ok {
		return time.Time{}, false
	}
	if loc != nil && p.space() {
		p.word("UTC") // Go's time.String form: "+0000 UTC"
	}
	if p.i != len(p.s) {
		return time.Time{}, false
	}
	switch {
	case month < 1 || month > 12:
		p.why = "month out of range"
	case day < 1 || day > daysIn(time.Month(month), year):
		p.why = "day out of range"
	case hour > 23:
		p.why = "hour out of range"
	case minute > 59:
		p.why = "minute out of range"
	case sec > 59:
		p.why = "second out of range"
	}
	if p.why != "" {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc), true
}

// zone parses an optional zone. A nil location means none was given.
func (p *timeParser) zone() (*time.Location, bool) {
	if p.i == len(p.s) {
		return nil, true
	}
	if p.lit('Z') || p.lit('z') || p.word("UTC") || p.word("GMT") {
		return time.UTC, true
	}
	sign := 1
	switch p.s[p.i] {
	case '+':
	case '-':
		sign = -1
	default:
		return nil, true // not a zone; the caller rejects what is left
	}
	p.i++
	hh, ok := p.digits(2)
	if !ok {
		return nil, false
	}
	mm, save := 0, p.i
	p.lit(':')
	if m, ok := p.digits(2); ok {
		mm = m
	} else {
		p.i = save // "+05" alone; what follows is for the caller
	}
	if hh > 23 || mm > 59 {
		p.why = "zone offset out of range"
		return nil, false
	}
	off := sign * (hh*3600 + mm*60)
	if off == 0 {
		return time.UTC, true
	}
	return time.FixedZone("", off), true
}

// fraction parses the digits of a fraction of a second into nanoseconds.
func (p *timeParser) fraction() (int, bool) {
	start, ns, scale := p.i, 0, 100_000_000
	for p.i < len(p.s) && isDigit(p.s[p.i]) {
		ns += int(p.s[p.i]-'0') * scale
		scale /= 10
		p.i++
	}
	return ns, p.i > start
}

func (p *timeParser) digits(n int) (int, bool) {
	if len(p.s)-p.i < n {
		return 0, false
	}
	v := 0
	for _, c := range []byte(p.s[p.i : p.i+n]) {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v, true
}

func (p *timeParser) lit(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// word consumes w, case-insensitively.
func (p *timeParser) word(w string) bool {
	if len(p.s)-p.i >= len(w) && strings.EqualFold(p.s[p.i:p.i+len(w)], w) {
		p.i += len(w)
		return true
	}
	return false
}

// space consumes white space and reports whether there was any.
func (p *timeParser) space() bool {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	return p.i > start
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
