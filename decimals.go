package ensemble

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"

	"github.com/shopspring/decimal"
)

// checkDecimals walks data beside the Go type it decodes into and refuses
// every decimal.Decimal written in a spelling ParseDecimal does not read
// (null, "3e1", ".5", "30."), at its line, column and path:
// shopspring/decimal reads those silently (null as zero, an exponent as
// its value), so a price could become free or change its spelling. Values
// of types with their own UnmarshalJSON or UnmarshalText (Money, Ratio) read
// their text themselves and are skipped.
func checkDecimals(subject string, data []byte, t reflect.Type) error {
	if !holdsDecimal(t) {
		return nil // nothing to check: no walk
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	w := decimalWalk{subject: subject, data: data, dec: dec}
	return w.value(t, nil)
}

var (
	decimalType     = reflect.TypeFor[decimal.Decimal]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textType        = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// decimalTypes caches holdsDecimal by type.
var decimalTypes sync.Map // reflect.Type -> bool

// holdsDecimal reports whether a value of type t can hold a
// decimal.Decimal that checkDecimals reads: through its fields (as
// encoding/json decodes them), elements and pointers, but not inside a
// type that reads its own JSON or text. A document decoded into a type
// that holds none needs no walk.
func holdsDecimal(t reflect.Type) bool {
	if t == nil {
		return false
	}
	if v, ok := decimalTypes.Load(t); ok {
		return v.(bool)
	}
	v := reachesDecimal(t, map[reflect.Type]bool{})
	decimalTypes.Store(t, v)
	return v
}

// reachesDecimal is holdsDecimal without the cache; seen holds the types
// on the path, so a recursive type ends.
func reachesDecimal(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == decimalType {
		return true
	}
	if seen[t] || reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textType) {
		return false
	}
	seen[t] = true
	defer delete(seen, t)
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map:
		return reachesDecimal(t.Elem(), seen)
	case reflect.Struct:
		for _, ft := range jsonFields(t) {
			if reachesDecimal(ft, seen) {
				return true
			}
		}
	}
	return false // interfaces too: the walk does not look inside them
}

type decimalWalk struct {
	subject string
	data    []byte
	dec     *json.Decoder
}

// value reads one value of type t at path.
func (w *decimalWalk) value(t reflect.Type, path []any) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	start := tokenStart(w.data, w.dec.InputOffset())
	tok, err := w.dec.Token()
	if err != nil {
		return nil // CheckJSON reports syntax
	}
	if t == decimalType {
		text := ""
		switch v := tok.(type) {
		case string:
			text = v
		case json.Number:
			text = string(v)
		default:
			return decodeError(w.subject, w.data, start, Path(path...), "a decimal must be written as plain decimal text, such as \"12.30\", not "+tokenText(tok), nil)
		}
		if _, err := ParseDecimal(text); err != nil {
			return decodeError(w.subject, w.data, start, Path(path...), err.Error(), err)
		}
		return nil
	}
	custom := t != nil && (reflect.PointerTo(t).Implements(unmarshalerType) || reflect.PointerTo(t).Implements(textType))
	d, isDelim := tok.(json.Delim)
	switch {
	case !isDelim:
		return nil
	case custom || t == nil:
		return w.skip(d)
	case d == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for i := 0; w.dec.More(); i++ {
			if err := w.value(t.Elem(), append(path, i)); err != nil {
				return err
			}
		}
		_, _ = w.dec.Token()
		return nil
	case d == '{' && t.Kind() == reflect.Map:
		for w.dec.More() {
			key, _ := w.dec.Token()
			k, _ := key.(string)
			if err := w.value(t.Elem(), append(path, k)); err != nil {
				return err
			}
		}
		_, _ = w.dec.Token()
		return nil
	case d == '{' && t.Kind() == reflect.Struct:
		fields := jsonFields(t)
		for w.dec.More() {
			key, _ := w.dec.Token()
			k, _ := key.(string)
			if err := w.value(fields[foldKey(k)], append(path, k)); err != nil {
				return err
			}
		}
		_, _ = w.dec.Token()
		return nil
	}
	return w.skip(d)
}

// skip reads the rest of the object or array opened by d.
func (w *decimalWalk) skip(d json.Delim) error {
	if d == '}' || d == ']' {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := w.dec.Token()
		if err != nil {
			return nil
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}

// jsonFields maps the folded JSON name of each field of struct type t (as
// encoding/json names it, embedded structs' fields included) to its type.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && !strings.Contains(tag, ",") {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					if _, ok := out[k]; !ok {
						out[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[foldKey(name)] = f.Type
	}
	return out
}

func tokenText(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case bool:
		if v {
			return "true"
		}
		return "false"
	case json.Delim:
		return "an object or list"
	}
	return "this value"
}
