package repo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"gopkg.in/yaml.v3"
)

// nodeJSON converts a YAML value (a test's Log, a mock's returnValue) to JSON
// the way a Python YAML loader would hand it to the rule: mapping order kept,
// floats stay floats (1.0 is not 1), anchors and merge keys resolved,
// timestamps left as the strings they were written as.
func nodeJSON(n *yaml.Node) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := writeNodeJSON(&buf, n, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

const maxYAMLDepth = 1000

func writeNodeJSON(buf *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxYAMLDepth {
		return fmt.Errorf("line %d: value nested too deeply", n.Line)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			buf.WriteString("null")
			return nil
		}
		return writeNodeJSON(buf, n.Content[0], depth+1)
	case yaml.AliasNode:
		return writeNodeJSON(buf, n.Alias, depth+1)
	case yaml.SequenceNode:
		buf.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeNodeJSON(buf, c, depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case yaml.MappingNode:
		keys, values, err := mappingEntries(n, depth)
		if err != nil {
			return err
		}
		buf.WriteByte('{')
		for i := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			k, _ := json.Marshal(keys[i])
			buf.Write(k)
			buf.WriteByte(':')
			if err := writeNodeJSON(buf, values[i], depth+1); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case yaml.ScalarNode:
		return writeScalarJSON(buf, n)
	}
	return fmt.Errorf("line %d: unsupported YAML node", n.Line)
}

// mappingEntries flattens a mapping, applying `<<` merge keys (explicit keys
// win over merged ones) and letting a repeated key override the earlier
// value in its first position, as Python's dict would.
func mappingEntries(n *yaml.Node, depth int) ([]string, []*yaml.Node, error) {
	var keys []string
	var values []*yaml.Node
	index := map[string]int{}
	set := func(k string, v *yaml.Node, override bool) {
		if i, ok := index[k]; ok {
			if override {
				values[i] = v
			}
			return
		}
		index[k] = len(keys)
		keys = append(keys, k)
		values = append(values, v)
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind == yaml.ScalarNode && kn.Tag == "!!merge" {
			merges = append(merges, vn)
			continue
		}
		k, err := keyString(kn)
		if err != nil {
			return nil, nil, err
		}
		set(k, vn, true)
	}
	for _, m := range merges {
		for m.Kind == yaml.AliasNode {
			m = m.Alias
		}
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, src := range sources {
			for src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode {
				return nil, nil, fmt.Errorf("line %d: merge key needs a mapping", src.Line)
			}
			ks, vs, err := mappingEntries(src, depth+1)
			if err != nil {
				return nil, nil, err
			}
			for i := range ks {
				set(ks[i], vs[i], false)
			}
		}
	}
	return keys, values, nil
}

func keyString(n *yaml.Node) (string, error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("line %d: mapping keys must be scalars", n.Line)
	}
	if n.Tag == "!!null" {
		return "null", nil
	}
	return n.Value, nil
}

func writeScalarJSON(buf *bytes.Buffer, n *yaml.Node) error {
	var v any
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	switch x := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case int:
		buf.WriteString(strconv.Itoa(x))
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		buf.WriteString(strconv.FormatUint(x, 10))
	case float64:
		switch {
		// JSON cannot carry these; the rule gets the YAML text instead of a
		// float rather than the whole test failing to load.
		case math.IsNaN(x), math.IsInf(x, 0):
			b, _ := json.Marshal(n.Value)
			buf.Write(b)
		default:
			s := strconv.FormatFloat(x, 'g', -1, 64)
			if !bytes.ContainsAny([]byte(s), ".eEn") {
				s += ".0"
			}
			buf.WriteString(s)
		}
	case string:
		b, _ := json.Marshal(x)
		buf.Write(b)
	default:
		// Timestamps and binary decode to other Go types; the rule sees the
		// text as written.
		b, _ := json.Marshal(n.Value)
		buf.Write(b)
	}
	return nil
}

func yamlJSONUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON value")
	}
	return nil
}
