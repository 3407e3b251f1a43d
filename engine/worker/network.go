package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Network modes: what the harness does with outside calls from rule code.
const (
	// NetworkOffline answers HTTP and AWS calls from fixtures and blocks
	// every other connection that would leave the machine.
	NetworkOffline = "offline"
	// NetworkReal lets calls go out, and records them.
	NetworkReal = "real"
)

// Where a network call's answer came from.
const (
	CallFixture = "fixture" // a fixture answered (offline)
	CallReal    = "real"    // the call went out (real)
	CallMissing = "missing" // offline, and no fixture matched: the call failed
	CallBlocked = "blocked" // offline: a raw connection or DNS lookup was refused
)

// NetworkCall is one outside call rule code made while evaluating an item
// (or importing a module), as the harness recorded it.
type NetworkCall struct {
	// Kind is "http", "aws", "socket" or "dns".
	Kind string `json:"kind"`
	// Target is how the call is shown: "GET https://host/path",
	// "secretsmanager:GetSecretValue", "tcp 10.0.0.1:443".
	Target    string `json:"target"`
	Method    string `json:"method,omitempty"`
	URL       string `json:"url,omitempty"`
	Service   string `json:"service,omitempty"`
	Operation string `json:"operation,omitempty"`
	Region    string `json:"region,omitempty"`
	Host      string `json:"host,omitempty"`
	// Status is the HTTP status (AWS calls: of the API response); 0 when
	// the call failed before an answer.
	Status int    `json:"status,omitempty"`
	Source string `json:"source"`
	// Fixture is the file:line of the fixture that answered.
	Fixture string `json:"fixture,omitempty"`
	// Code is the AWS error code of a failed AWS call.
	Code  string `json:"code,omitempty"`
	Error string `json:"error,omitempty"`
	// Function is the detection function that made the call ("rule",
	// "alert_context", "import" for module-level code).
	Function   string `json:"function,omitempty"`
	DurationNS int64  `json:"duration_ns"`
}

// Failed reports whether the call got no successful answer.
func (c NetworkCall) Failed() bool {
	return c.Error != "" || c.Source == CallMissing || c.Source == CallBlocked || c.Status >= 400
}

// FixtureHint says what to add so that offline mode can answer the call
// next time, or why it cannot; "" for calls that were answered.
func (c NetworkCall) FixtureHint() string {
	switch {
	case c.Source == CallBlocked:
		return "only HTTP (urllib, requests, http.client) and AWS (boto3) calls can be answered offline; --network real lets this out"
	case c.Source != CallMissing:
		return ""
	case c.Kind == "aws" && c.Service == "secretsmanager":
		return "add the secret to a file in fixtures/:  secrets: {NAME: VALUE}"
	case c.Kind == "aws":
		return fmt.Sprintf("add to a file in fixtures/:  aws: [{service: %s, operation: %s, response: {...}}]", c.Service, c.Operation)
	}
	url := c.URL
	if i := strings.IndexByte(url, '?'); i >= 0 {
		url = url[:i] + "*"
	}
	return fmt.Sprintf("add to a file in fixtures/:  http: [{method: %s, url: %q, json: {...}}]  (* matches anything)", c.Method, url)
}

// API names what a rate limit applies to: the host of an HTTP call
// ("https://www.virustotal.com"), the service and operation of an AWS call.
func (c NetworkCall) API() string {
	switch c.Kind {
	case "aws":
		return c.Service + ":" + c.Operation
	case "http":
		if i := indexAfterScheme(c.URL); i > 0 {
			return c.URL[:i]
		}
		return c.URL
	}
	if c.Host != "" {
		return c.Kind + " " + c.Host
	}
	return c.Target
}

func indexAfterScheme(url string) int {
	for _, scheme := range []string{"https://", "http://"} {
		if len(url) > len(scheme) && url[:len(scheme)] == scheme {
			for i := len(scheme); i < len(url); i++ {
				if url[i] == '/' || url[i] == '?' || url[i] == '#' {
					return i
				}
			}
			return len(url)
		}
	}
	return -1
}

func (c NetworkCall) String() string {
	s := c.Target
	switch {
	case c.Status != 0:
		s += fmt.Sprintf(" → %d", c.Status)
	}
	if c.Error != "" {
		s += " ! " + c.Error
	}
	return s
}

// Secret is a secret value rule code received from a real call (Secrets
// Manager's GetSecretValue); rulebench masks it in everything it shows.
type Secret struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// NetworkTally counts the calls one detection made to one API from one of
// its functions.
type NetworkTally struct {
	Detection  string `json:"detection"`
	API        string `json:"api"`
	Function   string `json:"function"`
	Calls      int64  `json:"calls"`
	Failed     int64  `json:"failed"`
	DurationNS int64  `json:"duration_ns"`
}

// NetworkStats returns the calls the worker's rule code made since the
// last time it was asked, whether or not their results were sent back (a
// replay sends only matches), and starts counting afresh.
func (w *Worker) NetworkStats(ctx context.Context) ([]NetworkTally, error) {
	f, err := w.request(ctx, reqNetworkStats, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("network stats: %w", err)
	}
	var reply struct {
		Network []NetworkTally `json:"network"`
	}
	if err := json.Unmarshal(f.Raw, &reply); err != nil {
		return nil, fmt.Errorf("network stats: %w", err)
	}
	return reply.Network, nil
}

const reqNetworkStats = "network_stats"
