package events

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	cases := []struct {
		in   string
		want time.Time
	}{
		// As Panther writes it.
		{"2024-05-01 12:34:56.123456789", utc(2024, 5, 1, 12, 34, 56, 123456789)},
		{"2024-05-01 12:34:56.000000000", utc(2024, 5, 1, 12, 34, 56, 0)},
		{"2024-05-01 12:34:56", utc(2024, 5, 1, 12, 34, 56, 0)},
		{"2024-05-01 12:34:56.1", utc(2024, 5, 1, 12, 34, 56, 100000000)},
		{"2024-05-01 12:34:56.123456", utc(2024, 5, 1, 12, 34, 56, 123456000)},
		{"2024-05-01 12:34:56.1234567891234", utc(2024, 5, 1, 12, 34, 56, 123456789)},
		{"2024-05-01 12:34:56,5", utc(2024, 5, 1, 12, 34, 56, 500000000)},
		// RFC 3339 / ISO 8601.
		{"2024-05-01T12:34:56Z", utc(2024, 5, 1, 12, 34, 56, 0)},
		{"2024-05-01T12:34:56.5Z", utc(2024, 5, 1, 12, 34, 56, 500000000)},
		{"2024-05-01t12:34:56z", utc(2024, 5, 1, 12, 34, 56, 0)},
		{"2024-05-01T12:34:56", utc(2024, 5, 1, 12, 34, 56, 0)},
		{"2024-05-01T12:34:56+02:00", utc(2024, 5, 1, 10, 34, 56, 0)},
		{"2024-05-01T12:34:56.25-0730", utc(2024, 5, 1, 20, 4, 56, 250000000)},
		{"2024-05-01T12:34:56+05", utc(2024, 5, 1, 7, 34, 56, 0)},
		{"2024-05-01T12:34:56+00:00", utc(2024, 5, 1, 12, 34, 56, 0)},
		// Python's str(datetime) and Go's time.String.
		{"2024-05-01 12:34:56.123456+00:00", utc(2024, 5, 1, 12, 34, 56, 123456000)},
		{"2024-05-01 12:34:56.5 +0000 UTC", utc(2024, 5, 1, 12, 34, 56, 500000000)},
		// The rest of what the Python harness accepts.
		{"2024-05-01 12:34:56 UTC", utc(2024, 5, 1, 12, 34, 56, 0)},
		{"2024-05-01 12:34:56 gmt", utc(2024, 5, 1, 12, 34, 56, 0)},
		{"2024-05-01 12:34", utc(2024, 5, 1, 12, 34, 0, 0)},
		{"2024-05-01", utc(2024, 5, 1, 0, 0, 0, 0)},
		{"2024-05-01 UTC", utc(2024, 5, 1, 0, 0, 0, 0)},
		{"  2024-05-01T12:34:56Z\n", utc(2024, 5, 1, 12, 34, 56, 0)},
		{"2024-02-29 00:00:00", utc(2024, 2, 29, 0, 0, 0, 0)},
	}
	for _, tc := range cases {
		got, err := ParseTime(tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if got, _ := ParseTime("2024-05-01 12:34:56"); got.Location() != time.UTC {
		t.Errorf("no zone gives %v, want UTC", got.Location())
	}
	if got, _ := ParseTime("2024-05-01T12:34:56+02:00"); got.Format(time.RFC3339) != "2024-05-01T12:34:56+02:00" {
		t.Errorf("offset not kept: %v", got)
	}

	for _, in := range []string{
		"", "now", "1714566896", "2024-5-1 12:34:56", "2024-05-01 12:34:56.", "2024-05-01 12:34:5",
		"2024-05-01 12:34:56Zjunk", "2024-05-01 12:34:56 +02:00 CET", "2024-05-01T", "2024-05-01 1:02:03",
		"2023-02-29 00:00:00", "2024-13-01 00:00:00", "2024-00-01 00:00:00", "2024-05-32 00:00:00",
		"2024-05-01 24:00:00", "2024-05-01 12:60:00", "2024-05-01 12:34:60", "2024-05-01T12:34:56+24:00",
		"2024-05-01T12:34:56+02:60", "20240501T123456Z", "2024-05-01T12:34:56+2", "2024-05-01 12:34:56 UTC UTC UTC",
	} {
		if got, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		}
	}
}

// FuzzParseTime checks ParseTime against time.Parse on what both read.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2024-05-01T12:34:56.123456789Z", "2024-05-01T12:34:56-07:00", "2024-05-01 12:34:56.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s) // must not panic
		want, werr := time.Parse(time.RFC3339Nano, s)
		if werr != nil {
			return
		}
		if err != nil || !got.Equal(want) {
			t.Fatalf("ParseTime(%q) = %v, %v; time.Parse gives %v", s, got, err, want)
		}
	})
}

func BenchmarkParseTime(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTime("2024-05-01 12:34:56.123456789"); err != nil {
			b.Fatal(err)
		}
	}
}
