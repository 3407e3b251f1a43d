package events

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestField(t *testing.T) {
	cases := []struct {
		raw, name string
		want      string
		ok        bool
	}{
		{`{"p_log_type":"AWS.CloudTrail"}`, "p_log_type", `"AWS.CloudTrail"`, true},
		{` { "a" : 1 , "p_log_type" :	"x" } `, "p_log_type", `"x"`, true},
		{"{\n\t\"a\":\r\n1,\n\"b\"\n:\n[ 1 , 2 ]\n}", "b", `[ 1 , 2 ]`, true},
		// The same name nested, before and after, is not the top-level key.
		{`{"a":{"p_log_type":"nested"},"p_log_type":"top","b":[{"p_log_type":"in array"}]}`, "p_log_type", `"top"`, true},
		{`{"a":{"p_log_type":"nested"}}`, "p_log_type", ``, false},
		// A key inside a string value is not a key.
		{`{"msg":"{\"p_log_type\":\"evil\"}","p_log_type":"ok"}`, "p_log_type", `"ok"`, true},
		{`{"msg":"\"p_log_type\":\"evil\""}`, "p_log_type", ``, false},
		// Escaped quotes and backslashes inside strings.
		{`{"a":"x\\","p":"y\\\"}\""}`, "p", `"y\\\"}\""`, true},
		{`{"a\"b":1,"a":2}`, "a\"b", `1`, true},
		{`{"a\\":1}`, `a\`, `1`, true},
		// Escaped keys match their decoded form, as in encoding/json.
		{`{"p\u005flog_type":"esc"}`, "p_log_type", `"esc"`, true},
		{`{"\ud83d\ude00":1}`, "😀", `1`, true},
		{`{"\ud83d":1}`, "\uFFFD", `1`, true},
		{`{"é":1}`, "é", `1`, true},
		{`{"\u00e9":1}`, "é", `1`, true},
		// Duplicates: the last wins, as in encoding/json and Python.
		{`{"a":1,"a":2}`, "a", `2`, true},
		// Every kind of value, raw.
		{`{"n":-1.5e+10,"t":true,"z":null}`, "n", `-1.5e+10`, true},
		{`{"n":-1.5e+10,"t":true,"z":null}`, "t", `true`, true},
		{`{"n":-1.5e+10,"t":true,"z":null}`, "z", `null`, true},
		{`{"o":{"x":[1,{"y":"}"}]}}`, "o", `{"x":[1,{"y":"}"}]}`, true},
		{`{"": 1}`, "", `1`, true},
		{`{"a":1}`, "", ``, false},
		{`{}`, "a", ``, false},
		{`[{"a":1}]`, "a", ``, false},
		{`"a"`, "a", ``, false},
		{``, "a", ``, false},
		{`{"a":1`, "a", ``, false},
		{`{"a":}`, "a", ``, false},
		{`{"a" 1}`, "a", ``, false},
		{`{"a":"1}`, "a", ``, false},
		{`{"a":1,}`, "a", ``, false},
	}
	for _, tc := range cases {
		got, ok := Field([]byte(tc.raw), tc.name)
		if ok != tc.ok || string(got) != tc.want {
			t.Errorf("Field(%s, %q) = %s, %v; want %s, %v", tc.raw, tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestStringField(t *testing.T) {
	raw := []byte(`{"plain":"AWS.CloudTrail","esc":"a\"b\\c\u00e9\ud83d\ude00\/","utf8":"é","num":1,"null":null,"obj":{}}`)
	cases := []struct {
		name, want string
		ok         bool
	}{
		{"plain", "AWS.CloudTrail", true},
		{"esc", "a\"b\\cé😀/", true},
		{"utf8", "é", true},
		{"num", "", false},
		{"null", "", false},
		{"obj", "", false},
		{"missing", "", false},
	}
	for _, tc := range cases {
		got, ok := StringField(raw, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("StringField(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFieldDoesNotAllocate(t *testing.T) {
	raw := []byte(cloudTrailEvent)
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := Field(raw, "p_event_time"); !ok {
			t.Fatal("p_event_time not found")
		}
		if _, ok := Field(raw, "p_l\u00f6g_type"); ok {
			t.Fatal("found a missing key")
		}
	})
	if allocs != 0 {
		t.Errorf("Field allocates %v times", allocs)
	}
}

// FuzzField checks Field and StringField against encoding/json on every
// valid input, and that they never panic on invalid ones.
func FuzzField(f *testing.F) {
	for _, s := range []string{
		cloudTrailEvent,
		`{"a":1,"a":{"a":2},"b":"\"a\":3"}`,
		`{"p\u005f":"\ud83d\ude00","\ud800":1,"x\\":[{"y":"]"}]}`,
		"{\"\xff\":1,\"\\u00e9\":\"\xc3\xa9\"}",
		` { "a" : [ ] , "b" : { } , "c" : -0.5e-3 } `,
		`[1,2]`, `null`, `{}`, `"{\"a\":1}"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		Field(raw, "a") // must not panic, whatever raw is
		StringField(raw, "a")
		if !json.Valid(raw) {
			return
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			// Valid JSON that is not an object (or null): no fields.
			for _, name := range []string{"a", ""} {
				if v, ok := Field(raw, name); ok {
					t.Fatalf("Field(%s, %q) = %s on a non-object", raw, name, v)
				}
			}
			return
		}
		for name, want := range m {
			got, ok := Field(raw, name)
			if !ok || !bytes.Equal(got, want) {
				t.Fatalf("Field(%s, %q) = %s, %v; encoding/json has %s", raw, name, got, ok, want)
			}
			var ws string
			wantOK := json.Unmarshal(want, &ws) == nil && want[0] == '"'
			gs, gotOK := StringField(raw, name)
			if gotOK != wantOK || gs != ws {
				t.Fatalf("StringField(%s, %q) = %q, %v; encoding/json has %q, %v", raw, name, gs, gotOK, ws, wantOK)
			}
		}
		for _, name := range []string{"a", "", "\uFFFD", "p_log_type"} {
			if _, in := m[name]; !in {
				if v, ok := Field(raw, name); ok {
					t.Fatalf("Field(%s, %q) = %s; encoding/json has no such key", raw, name, v)
				}
			}
		}
	})
}

// cloudTrailEvent is a realistic CloudTrail event as Panther stores it,
// standard fields appended at the end.
const cloudTrailEvent = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:alice@example.com","arn":"arn:aws:sts::123456789012:assumed-role/AdminRole/alice@example.com","accountId":"123456789012","accessKeyId":"ASIAEXAMPLEKEY","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::123456789012:role/AdminRole","accountId":"123456789012","userName":"AdminRole"},"attributes":{"creationDate":"2024-05-01T11:58:02Z","mfaAuthenticated":"true"}}},"eventTime":"2024-05-01T12:00:00Z","eventSource":"s3.amazonaws.com","eventName":"PutBucketPolicy","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.10","userAgent":"[aws-cli/2.15.0 Python/3.11.6 command/s3api.put-bucket-policy]","requestParameters":{"bucketName":"example-logs","policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::example-logs/*\"}]}"},"responseElements":null,"requestID":"9X8Y7Z6W5V4U3T2S","eventID":"0f1e2d3c-4b5a-6978-8899-aabbccddeeff","readOnly":false,"resources":[{"accountId":"123456789012","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::example-logs"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","p_any_aws_account_ids":["123456789012"],"p_any_aws_arns":["arn:aws:s3:::example-logs"],"p_any_ip_addresses":["203.0.113.10"],"p_event_time":"2024-05-01 12:00:00.000000000","p_log_type":"AWS.CloudTrail","p_parse_time":"2024-05-01 12:01:13.412077011","p_row_id":"b2c4e6f80a1c3e5f7a9b1c2d","p_source_id":"5f9c1a2b-3c4d-5e6f-7a8b-9c0d1e2f3a4b","p_source_label":"cloudtrail-prod"}`

func BenchmarkField(b *testing.B) {
	raw := []byte(cloudTrailEvent)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		lt, ok1 := Field(raw, "p_log_type")
		et, ok2 := Field(raw, "p_event_time")
		if !ok1 || !ok2 || len(lt) == 0 || len(et) == 0 {
			b.Fatal("fields not found")
		}
	}
}

// BenchmarkFieldUnmarshal is what Field replaces: the cheapest
// encoding/json way to read the same two fields.
func BenchmarkFieldUnmarshal(b *testing.B) {
	raw := []byte(cloudTrailEvent)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			LogType   string `json:"p_log_type"`
			EventTime string `json:"p_event_time"`
		}
		if err := json.Unmarshal(raw, &v); err != nil || v.LogType == "" || v.EventTime == "" {
			b.Fatal(err)
		}
	}
}

func BenchmarkStringField(b *testing.B) {
	raw := []byte(cloudTrailEvent)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		lt, ok1 := StringField(raw, "p_log_type")
		et, ok2 := StringField(raw, "p_event_time")
		if !ok1 || !ok2 || lt == "" || et == "" {
			b.Fatal("fields not found")
		}
	}
}
