package cache

import "testing"

func TestValidPythonJSON(t *testing.T) {
	for text, want := range map[string]bool{
		`{}`:                              true,
		` {"a": [1, 2.5e3, null]} `:       true,
		`{"a": NaN}`:                      true,
		`{"a": Infinity, "b": -Infinity}`: true,
		`{"a": "NaN"}`:                    true,
		`{"a": "x\"NaN"}`:                 true,
		`{"a": "\\", "b": NaN}`:           true,
		`[NaN]`:                           true,
		`{"a": nan}`:                      false,
		`{"a": +Infinity}`:                false,
		`{"a": NaNa}`:                     false,
		`{"a": 1,}`:                       false,
		`{'a': 1}`:                        false,
		``:                                false,
		`{"a": "NaN}`:                     false,
	} {
		if got := validPythonJSON(text); got != want {
			t.Errorf("validPythonJSON(%s) = %v, want %v", text, got, want)
		}
	}
}
