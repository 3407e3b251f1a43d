package engine

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// ClockMode says where the cache's "now" comes from.
type ClockMode int

const (
	// ClockWall is the machine's clock, as in production.
	ClockWall ClockMode = iota
	// ClockEvent is each event's p_event_time (wall clock when it has none),
	// so replays of old logs expire items as they did at the time.
	ClockEvent
	// ClockFixed is a time the user sets and moves.
	ClockFixed
)

func (m ClockMode) String() string {
	switch m {
	case ClockEvent:
		return "event"
	case ClockFixed:
		return "fixed"
	}
	return "wall"
}

// Clock is the cache's notion of now. It is safe for concurrent use; the
// workbench moves a fixed clock while runs read it.
type Clock struct {
	mu    sync.Mutex
	mode  ClockMode
	fixed time.Time
}

// NewClock returns a clock in the given mode; fixed is used by ClockFixed.
func NewClock(mode ClockMode, fixed time.Time) *Clock {
	return &Clock{mode: mode, fixed: fixed}
}

// ParseClock reads the --clock flag: wall, event or fixed:RFC3339.
func ParseClock(s string) (*Clock, error) {
	switch {
	case s == "" || s == "wall":
		return NewClock(ClockWall, time.Time{}), nil
	case s == "event":
		return NewClock(ClockEvent, time.Time{}), nil
	case strings.HasPrefix(s, "fixed:"):
		t, err := time.Parse(time.RFC3339, strings.TrimPrefix(s, "fixed:"))
		if err != nil {
			return nil, fmt.Errorf("--clock %s: %w (want fixed:2024-05-01T12:00:00Z)", s, err)
		}
		return NewClock(ClockFixed, t), nil
	}
	return nil, fmt.Errorf("--clock %q: want wall, event or fixed:RFC3339", s)
}

// Now is the time for a cache call made while evaluating an event whose
// p_event_time is eventTime (zero when unknown).
func (c *Clock) Now(eventTime time.Time) time.Time {
	if c == nil {
		return time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.mode {
	case ClockEvent:
		if !eventTime.IsZero() {
			return eventTime
		}
	case ClockFixed:
		return c.fixed
	}
	return time.Now()
}

// Mode reports the clock's mode.
func (c *Clock) Mode() ClockMode {
	if c == nil {
		return ClockWall
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mode
}

// Set fixes the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.mode, c.fixed = ClockFixed, t
	c.mu.Unlock()
}

// Advance moves a fixed clock by d (fixing it at now+d first if it was not
// fixed), and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mode != ClockFixed {
		c.mode, c.fixed = ClockFixed, time.Now().Truncate(time.Second)
	}
	c.fixed = c.fixed.Add(d)
	return c.fixed
}

// SetMode switches between wall and event time (use Set for a fixed time).
func (c *Clock) SetMode(m ClockMode) {
	c.mu.Lock()
	if m == ClockFixed && c.fixed.IsZero() {
		c.fixed = time.Now().Truncate(time.Second)
	}
	c.mode = m
	c.mu.Unlock()
}

func (c *Clock) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mode == ClockFixed {
		return "fixed:" + c.fixed.UTC().Format(time.RFC3339)
	}
	return c.mode.String()
}
