// Package cache is the Go side of panther_detection_helpers.caching: the
// semantics of every helper function (SPEC §4), applied to a Backend that
// stores items with the same attribute layout as Panther's DynamoDB table.
//
// Rules call the helpers in Python; the worker forwards each call here as a
// Call, and the Store answers it and records an Op so the workbench can show
// what every event did to the cache.
package cache

import (
	"context"
	"encoding/json"
	"time"
)

// Operation names, exactly as the Python helper functions are called.
const (
	OpGetCounter          = "get_counter"
	OpIncrementCounter    = "increment_counter"
	OpResetCounter        = "reset_counter"
	OpGetStringSet        = "get_string_set"
	OpPutStringSet        = "put_string_set"
	OpAddToStringSet      = "add_to_string_set"
	OpRemoveFromStringSet = "remove_from_string_set"
	OpResetStringSet      = "reset_string_set"
	OpGetDictionary       = "get_dictionary"
	OpPutDictionary       = "put_dictionary"
	OpSetKeyExpiration    = "set_key_expiration"
)

// DefaultTTL is the expiry applied when a write gives no usable epoch_seconds.
const DefaultTTL = 90 * 24 * time.Hour

// RelativeExpiryLimit: epoch_seconds below this are seconds from now, not
// absolute epoch times.
const RelativeExpiryLimit = 1_000_000_000

// DefaultTable is the table Panther's detection engine uses.
const DefaultTable = "panther-kv-store"

// Item is one row of the key-value table, attribute for attribute. A nil
// field is an absent attribute. StringSet is sorted and never empty, because
// DynamoDB removes a string set attribute when its last member goes.
type Item struct {
	Key        string   `json:"key"`
	IntCount   *int64   `json:"intCount,omitempty"`
	StringSet  []string `json:"stringSet,omitempty"`
	Dictionary *string  `json:"dictionary,omitempty"`
	ExpiresAt  *int64   `json:"expiresAt,omitempty"`
}

// Expired reports whether the item has an expiry at or before now.
func (it Item) Expired(now time.Time) bool {
	return it.ExpiresAt != nil && *it.ExpiresAt <= now.Unix()
}

// Call is one helper invocation as the Python side sends it. The harness has
// already done the Python-only conversions (a str becomes a one-element set,
// a mapping becomes JSON text, epoch_seconds strings become numbers).
type Call struct {
	Op  string `json:"op"`
	Key string `json:"key"`
	// ForceTTLCheck makes reads treat expired items as absent.
	ForceTTLCheck bool `json:"force_ttl_check,omitempty"`
	// Val is the increment for increment_counter.
	Val *int64 `json:"val,omitempty"`
	// Strings is the value for the string-set writers.
	Strings []string `json:"strings,omitempty"`
	// Dictionary is the JSON text for put_dictionary.
	Dictionary *string `json:"dictionary,omitempty"`
	// EpochSeconds is the expiry argument after str→number conversion; nil
	// when the caller passed nothing usable (the 90-day default applies).
	EpochSeconds *float64 `json:"epoch_seconds,omitempty"`
}

// ItemState is an item as the trace shows it at one instant.
type ItemState struct {
	Exists  bool `json:"exists"`
	Item    Item `json:"item"`
	Expired bool `json:"expired,omitempty"`
}

// Op is the trace record of one Call: what was asked, what the item looked
// like before and after, what came back, and how long it took.
type Op struct {
	Op     string          `json:"op"`
	Key    string          `json:"key"`
	Args   json.RawMessage `json:"args,omitempty"`
	Now    int64           `json:"now"`
	Before ItemState       `json:"before"`
	After  ItemState       `json:"after"`
	Result any             `json:"result,omitempty"`
	Error  string          `json:"error,omitempty"`
	// Written is false for reads, and for writes a read-only backend kept in
	// its overlay instead of sending them to the table.
	Written    bool          `json:"written"`
	Backend    string        `json:"backend"`
	DurationNS time.Duration `json:"duration_ns"`
}

// Store answers helper calls. now is the instant the caller's clock says it
// is (wall clock, event time or a fixed time, chosen by the engine).
//
// The returned value is what the Python function returns, in JSON form: an
// integer for counters, a sorted []string for sets, the stored JSON text (or
// nil) for dictionaries, nil for functions returning None. A non-nil error is
// raised in the rule as the exception its *Error names.
type Store interface {
	Do(ctx context.Context, now time.Time, call Call) (any, Op, error)
}

// Inspector reads the table for the workbench's cache view.
type Inspector interface {
	// List calls fn for each item whose key starts with prefix, in key order
	// where the backend can give it, until fn returns false.
	List(ctx context.Context, prefix string, fn func(Item) bool) error
	Get(ctx context.Context, key string) (Item, bool, error)
}

// Error is a failure the rule should see as a Python exception of Type
// (e.g. "ValueError", "TypeError"; backend failures use "CacheError").
type Error struct {
	Type string
	// Code is DynamoDB's error code (e.g. "ValidationException") when the
	// failure is one DynamoDB reports, so the rule can see it as botocore's
	// ClientError would show it.
	Code    string
	Message string
	// Hint says what to fix, for backend failures (credentials, table name).
	Hint string
	Err  error
}

func (e *Error) Error() string {
	if e.Hint != "" {
		return e.Message + " (" + e.Hint + ")"
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }
