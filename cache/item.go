package cache

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
)

// Attribute names of Panther's key-value table.
const (
	AttrKey        = "key"
	AttrIntCount   = "intCount"
	AttrStringSet  = "stringSet"
	AttrDictionary = "dictionary"
	AttrExpiresAt  = "expiresAt"
)

// DynamoDB limits that in-memory backends enforce so a rule that works
// against the memory cache does not fail only once it meets the real table.
const (
	MaxItemSize = 400 * 1024
	MaxKeySize  = 2048
)

// Error codes DynamoDB answers with, as Error.Code carries them.
const (
	CodeValidation = "ValidationException"
)

// Clone returns a deep copy, so a backend can hand out items without
// sharing its own storage.
func (it Item) Clone() Item {
	c := Item{Key: it.Key, StringSet: slices.Clone(it.StringSet)}
	if it.IntCount != nil {
		v := *it.IntCount
		c.IntCount = &v
	}
	if it.Dictionary != nil {
		v := *it.Dictionary
		c.Dictionary = &v
	}
	if it.ExpiresAt != nil {
		v := *it.ExpiresAt
		c.ExpiresAt = &v
	}
	return c
}

// Equal reports whether two items hold the same attributes.
func (it Item) Equal(o Item) bool {
	return it.Key == o.Key &&
		eqPtr(it.IntCount, o.IntCount) &&
		eqPtr(it.Dictionary, o.Dictionary) &&
		eqPtr(it.ExpiresAt, o.ExpiresAt) &&
		slices.Equal(it.StringSet, o.StringSet)
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Size is the item's size as DynamoDB counts it against MaxItemSize:
// attribute names plus values, strings in UTF-8 bytes, numbers by their
// significant digits (the formula dynalite reproduces).
func (it Item) Size() int {
	n := len(AttrKey) + len(it.Key)
	if it.IntCount != nil {
		n += len(AttrIntCount) + numberSize(*it.IntCount)
	}
	if len(it.StringSet) > 0 {
		n += len(AttrStringSet)
		for _, s := range it.StringSet {
			n += len(s)
		}
	}
	if it.Dictionary != nil {
		n += len(AttrDictionary) + len(*it.Dictionary)
	}
	if it.ExpiresAt != nil {
		n += len(AttrExpiresAt) + numberSize(*it.ExpiresAt)
	}
	return n
}

// numberSize is DynamoDB's storage size of a number: one byte per two
// significant digits, plus one, plus one more when the digits do not start
// on a byte boundary of the base-100 encoding, plus one for a negative sign.
func numberSize(v int64) int {
	if v == 0 {
		return 1
	}
	digits := strconv.FormatInt(v, 10)
	neg := digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	exp := len(digits) - 1
	sig := len(digits)
	for sig > 1 && digits[sig-1] == '0' {
		sig--
	}
	n := 1 + (sig+1)/2
	if sig%2 == 0 && exp%2 == 0 {
		n++
	}
	if neg {
		n++
	}
	return n
}

// ClientError is the error a DynamoDB API call fails with, worded the way
// botocore words it, because that is the message a rule sees in Panther.
func ClientError(code, operation, message, hint string) *Error {
	return &Error{
		Type:    "CacheError",
		Code:    code,
		Message: fmt.Sprintf("An error occurred (%s) when calling the %s operation: %s", code, operation, message),
		Hint:    hint,
	}
}

// ValidateKey rejects keys DynamoDB rejects, for backends that do not ask
// DynamoDB.
func ValidateKey(operation, key string) error {
	if key == "" {
		return ClientError(CodeValidation, operation,
			"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: key",
			"cache keys must be non-empty strings")
	}
	if len(key) > MaxKeySize {
		return ClientError(CodeValidation, operation,
			"One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of 2048 bytes",
			"cache keys are limited to 2048 bytes; hash long parts of the key")
	}
	return nil
}

// ValidatePut rejects a PutItem DynamoDB would reject.
func ValidatePut(it Item) error {
	if err := ValidateKey("PutItem", it.Key); err != nil {
		return err
	}
	if err := validateSet("PutItem", it.StringSet); err != nil {
		return err
	}
	if it.Size() > MaxItemSize {
		return sizeError("PutItem", "Item size has exceeded the maximum allowed size")
	}
	return nil
}

func sizeError(operation, message string) *Error {
	return ClientError(CodeValidation, operation, message,
		"DynamoDB items are limited to 400 KB; store less under one key")
}

func validateSet(operation string, set []string) error {
	if set != nil && len(set) == 0 {
		return ClientError(CodeValidation, operation,
			"One or more parameter values were invalid: An string set  may not be empty", "")
	}
	seen := make(map[string]struct{}, len(set))
	for _, s := range set {
		if _, dup := seen[s]; dup {
			return ClientError(CodeValidation, operation,
				fmt.Sprintf("One or more parameter values were invalid: Input collection %q contains duplicates.", set), "")
		}
		seen[s] = struct{}{}
	}
	return nil
}

// Update is one UpdateItem call, limited to the clauses the helpers need.
// Clauses never name the same attribute twice (DynamoDB rejects overlapping
// paths), so the order they apply in does not matter.
type Update struct {
	// AddCount is ADD intCount :n; a missing count starts from zero.
	AddCount *int64
	// SetExpiresAt is SET expiresAt = :t.
	SetExpiresAt *int64
	// AddStrings is ADD stringSet :ss.
	AddStrings []string
	// DeleteStrings is DELETE stringSet :ss; removing the last member
	// removes the attribute.
	DeleteStrings []string
	// Remove is REMOVE of whole attributes, by their Attr names.
	Remove []string
}

// Validate rejects an update DynamoDB would reject before looking at the item.
func (u Update) Validate(key string) error {
	if err := ValidateKey("UpdateItem", key); err != nil {
		return err
	}
	paths := map[string]int{}
	if u.AddCount != nil {
		paths[AttrIntCount]++
	}
	if u.SetExpiresAt != nil {
		paths[AttrExpiresAt]++
	}
	if u.AddStrings != nil {
		paths[AttrStringSet]++
		if err := validateSet("UpdateItem", u.AddStrings); err != nil {
			return err
		}
	}
	if u.DeleteStrings != nil {
		paths[AttrStringSet]++
		if err := validateSet("UpdateItem", u.DeleteStrings); err != nil {
			return err
		}
	}
	for _, attr := range u.Remove {
		switch attr {
		case AttrIntCount, AttrStringSet, AttrDictionary, AttrExpiresAt:
			paths[attr]++
		case AttrKey:
			return ClientError(CodeValidation, "UpdateItem",
				"One or more parameter values were invalid: Cannot update attribute key. This attribute is part of the key", "")
		default:
			return fmt.Errorf("update %s: REMOVE of unknown attribute %q", key, attr)
		}
	}
	for attr, n := range paths {
		if n > 1 {
			return ClientError(CodeValidation, "UpdateItem",
				fmt.Sprintf("Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [%s], path two: [%s]", attr, attr), "")
		}
	}
	return nil
}

// Apply returns the item an UpdateItem leaves behind, exactly as DynamoDB
// computes it: an update of a missing key creates the item (even when it
// only removes attributes, leaving the key alone), and the result must fit
// MaxItemSize. cur is ignored when exists is false. cur is not modified.
func (u Update) Apply(key string, cur Item, exists bool) (Item, error) {
	if err := u.Validate(key); err != nil {
		return Item{}, err
	}
	it := Item{Key: key}
	if exists {
		it = cur.Clone()
		it.Key = key
	}
	for _, attr := range u.Remove {
		switch attr {
		case AttrIntCount:
			it.IntCount = nil
		case AttrStringSet:
			it.StringSet = nil
		case AttrDictionary:
			it.Dictionary = nil
		case AttrExpiresAt:
			it.ExpiresAt = nil
		}
	}
	if u.AddCount != nil {
		var n int64
		if it.IntCount != nil {
			n = *it.IntCount
		}
		sum := n + *u.AddCount
		if (*u.AddCount > 0 && sum < n) || (*u.AddCount < 0 && sum > n) {
			return Item{}, ClientError(CodeValidation, "UpdateItem",
				"intCount does not fit a 64-bit integer", "rulebench keeps counters as 64-bit integers")
		}
		it.IntCount = &sum
	}
	if u.SetExpiresAt != nil {
		v := *u.SetExpiresAt
		it.ExpiresAt = &v
	}
	if len(u.AddStrings) > 0 {
		it.StringSet = union(it.StringSet, u.AddStrings)
	}
	if len(u.DeleteStrings) > 0 && it.StringSet != nil {
		it.StringSet = difference(it.StringSet, u.DeleteStrings)
	}
	if it.Size() > MaxItemSize {
		return Item{}, sizeError("UpdateItem", "Item size to update has exceeded the maximum allowed size")
	}
	return it, nil
}

// SortedSet returns the distinct members of ss in order, or nil when there
// are none: the form Item.StringSet keeps.
func SortedSet(ss []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// union returns a new sorted set; the inputs are left alone because
// backends share set slices between snapshots.
func union(set, add []string) []string {
	out := make([]string, 0, len(set)+len(add))
	out = append(out, set...)
	out = append(out, add...)
	return SortedSet(out)
}

func difference(set, del []string) []string {
	drop := make(map[string]struct{}, len(del))
	for _, s := range del {
		drop[s] = struct{}{}
	}
	var out []string
	for _, s := range set {
		if _, ok := drop[s]; !ok {
			out = append(out, s)
		}
	}
	return out
}

// ExpiryAt converts epoch_seconds the way the helpers do before writing
// expiresAt: nil means now + DefaultTTL, a fraction is truncated, values
// below RelativeExpiryLimit are seconds from now, anything else is an
// absolute epoch time.
func ExpiryAt(epochSeconds *float64, now time.Time) (int64, error) {
	base := now.Unix()
	if epochSeconds == nil {
		return base + int64(DefaultTTL/time.Second), nil
	}
	f := *epochSeconds
	switch {
	case math.IsNaN(f):
		return 0, &Error{Type: "ValueError", Message: "cannot convert float NaN to integer"}
	case math.IsInf(f, 0):
		return 0, &Error{Type: "OverflowError", Message: "cannot convert float infinity to integer"}
	}
	t := math.Trunc(f)
	// Python's int has no limit, but an expiry past int64 cannot be stored
	// here; no real TTL comes near it.
	if t >= math.MaxInt64/2 || t <= math.MinInt64/2 {
		return 0, &Error{Type: "ValueError", Message: fmt.Sprintf("epoch_seconds %v is out of range", f)}
	}
	v := int64(t)
	if v < RelativeExpiryLimit {
		v += base
	}
	return v, nil
}
