package config

// This file prints a resolved Config, for golden tests and for
// "gowsgi serve --print-config".

import (
	"bytes"
	"encoding/json"
)

// MarshalJSON writes c as one JSON object keyed by the ini key names, in
// the key table's order, with values in ini syntax (addresses as written,
// chmod-socket in octal) except durations, which are Go strings ("30s").
func (c Config) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(k.name)
		b.Write(name)
		b.WriteByte(':')
		v, err := json.Marshal(k.value(&c))
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Describe returns c as indented JSON (see MarshalJSON) ending in a
// newline.
func (c Config) Describe() string {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		// Every value is a string, number, bool or list of strings.
		panic("config: describing the config: " + err.Error())
	}
	return string(b) + "\n"
}
