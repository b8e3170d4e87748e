package rules

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"
	"time"
	"unsafe"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"github.com/shopspring/decimal"

	"github.com/ensemble-commerce/ensemble"
)

// goType says how values of one Go type appear in CEL.
type goType struct {
	cel  *types.Type
	conv func(rv reflect.Value) ref.Val
	// direct, when not nil, reads a value of the type stored at p without
	// reflection; struct fields use it for speed.
	direct func(p unsafe.Pointer) ref.Val
}

// structType is a Go struct exposed to CEL as an object type.
type structType struct {
	name   string
	rt     reflect.Type
	cel    *types.Type
	fields map[string]*structField
	names  []string // sorted
}

type structField struct {
	name  string
	index []int
	gt    *goType
	ft    *types.FieldType
}

// provider exposes registered Go types to CEL: it is the environment's type
// provider and type adapter. It is built by NewEnv and never changed after.
type provider struct {
	base    *types.Registry
	byGo    map[reflect.Type]*goType
	structs map[string]*structType
}

var (
	timeGoType       = reflect.TypeFor[time.Time]()
	durationGoType   = reflect.TypeFor[time.Duration]()
	textMarshalerTyp = reflect.TypeFor[encoding.TextMarshaler]()
)

// UnsupportedTypeError reports a Go type that cannot be exposed to rules,
// such as a float (rules compute with exact decimals) or an interface.
type UnsupportedTypeError struct {
	Path   string // the variable and field path, such as "line.weight"
	Type   string // the Go type
	Reason string
}

// Error renders the problem, naming the rule where there is one.
func (e *UnsupportedTypeError) Error() string {
	return fmt.Sprintf("rules: %s of Go type %s cannot be used in rules: %s", e.Path, e.Type, e.Reason)
}

func newProvider() (*provider, error) {
	reg, err := types.NewRegistry()
	if err != nil {
		return nil, err
	}
	return &provider{base: reg, byGo: map[reflect.Type]*goType{}, structs: map[string]*structType{}}, nil
}

// typeOf returns how t appears in CEL, registering struct types it meets.
// A nil goType with a nil error means t is not representable and a struct
// field of that type is left out; floats are an error.
func (p *provider) typeOf(t reflect.Type, path string) (*goType, error) {
	if gt, ok := p.byGo[t]; ok {
		return gt, nil
	}
	gt, err := p.build(t, path)
	if err != nil || gt == nil {
		return gt, err
	}
	p.byGo[t] = gt
	return gt, nil
}

// safeConv converts rv, turning a panic in the host type's MarshalText (for
// a value the host never uses, met while precomputing an enum table) into an
// error value.
func safeConv(conv func(reflect.Value) ref.Val, rv reflect.Value) (out ref.Val) {
	defer func() {
		if r := recover(); r != nil {
			out = types.NewErr("cannot write %v value %v as text", rv.Type(), rv.Uint())
		}
	}()
	return conv(rv)
}

// intType exposes a Go integer type as CEL int; read loads the integer at
// a pointer.
func intType(t reflect.Type, read func(unsafe.Pointer) int64) *goType {
	return &goType{cel: types.IntType,
		conv: func(rv reflect.Value) ref.Val {
			if rv.CanInt() {
				return types.Int(rv.Int())
			}
			return types.Int(int64(rv.Uint()))
		},
		direct: func(p unsafe.Pointer) ref.Val { return types.Int(read(p)) }}
}

func load[T any](rv reflect.Value) T {
	if rv.CanAddr() {
		return *rv.Addr().Interface().(*T)
	}
	return rv.Interface().(T)
}

func (p *provider) build(t reflect.Type, path string) (*goType, error) {
	switch t {
	case decimalGoType:
		return &goType{cel: DecimalType,
			conv:   func(rv reflect.Value) ref.Val { return mkDec(load[decimal.Decimal](rv)) },
			direct: func(p unsafe.Pointer) ref.Val { return decVal{p: (*decimal.Decimal)(p)} }}, nil
	case moneyGoType:
		return &goType{cel: MoneyType,
			conv:   func(rv reflect.Value) ref.Val { return mkMoney(load[ensemble.Money](rv)) },
			direct: func(p unsafe.Pointer) ref.Val { return moneyVal{p: (*ensemble.Money)(p)} }}, nil
	case timeGoType:
		return &goType{cel: types.TimestampType,
			conv:   func(rv reflect.Value) ref.Val { return types.Timestamp{Time: load[time.Time](rv)} },
			direct: func(p unsafe.Pointer) ref.Val { return types.Timestamp{Time: *(*time.Time)(p)} }}, nil
	case durationGoType:
		return &goType{cel: types.DurationType,
			conv:   func(rv reflect.Value) ref.Val { return types.Duration{Duration: time.Duration(rv.Int())} },
			direct: func(p unsafe.Pointer) ref.Val { return types.Duration{Duration: *(*time.Duration)(p)} }}, nil
	}
	switch t.Kind() {
	case reflect.Float32, reflect.Float64:
		return nil, &UnsupportedTypeError{Path: path, Type: t.String(), Reason: "floats are not exact; use decimal.Decimal or ensemble.Money"}
	case reflect.Pointer:
		elem, err := p.typeOf(t.Elem(), path)
		if err != nil || elem == nil {
			return elem, err
		}
		et := t.Elem()
		return &goType{cel: elem.cel, conv: func(rv reflect.Value) ref.Val {
			if rv.IsNil() {
				return elem.conv(reflect.Zero(et))
			}
			return elem.conv(rv.Elem())
		}}, nil
	}
	if t.Implements(textMarshalerTyp) && t.Kind() != reflect.String {
		gt := &goType{cel: types.StringType, conv: func(rv reflect.Value) ref.Val {
			b, err := rv.Interface().(encoding.TextMarshaler).MarshalText()
			if err != nil {
				return types.WrapErr(err)
			}
			return types.String(b)
		}}
		if t.Kind() == reflect.Uint8 {
			// Enums: every value's text is computed once, here.
			var table [256]ref.Val
			for i := range table {
				v := reflect.New(t).Elem()
				v.SetUint(uint64(i))
				table[i] = safeConv(gt.conv, v)
			}
			conv := gt.conv
			gt.conv = func(rv reflect.Value) ref.Val {
				if rv.CanAddr() {
					return table[*(*uint8)(rv.Addr().UnsafePointer())]
				}
				return conv(rv)
			}
			gt.direct = func(p unsafe.Pointer) ref.Val { return table[*(*uint8)(p)] }
		}
		return gt, nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return &goType{cel: types.BoolType,
			conv:   func(rv reflect.Value) ref.Val { return types.Bool(rv.Bool()) },
			direct: func(p unsafe.Pointer) ref.Val { return types.Bool(*(*bool)(p)) }}, nil
	case reflect.String:
		return &goType{cel: types.StringType,
			conv:   func(rv reflect.Value) ref.Val { return types.String(rv.String()) },
			direct: func(p unsafe.Pointer) ref.Val { return types.String(*(*string)(p)) }}, nil
	case reflect.Int:
		return intType(t, func(p unsafe.Pointer) int64 { return int64(*(*int)(p)) }), nil
	case reflect.Int8:
		return intType(t, func(p unsafe.Pointer) int64 { return int64(*(*int8)(p)) }), nil
	case reflect.Int16:
		return intType(t, func(p unsafe.Pointer) int64 { return int64(*(*int16)(p)) }), nil
	case reflect.Int32:
		return intType(t, func(p unsafe.Pointer) int64 { return int64(*(*int32)(p)) }), nil
	case reflect.Int64:
		return intType(t, func(p unsafe.Pointer) int64 { return *(*int64)(p) }), nil
	case reflect.Uint8:
		return intType(t, func(p unsafe.Pointer) int64 { return int64(*(*uint8)(p)) }), nil
	case reflect.Uint16:
		return intType(t, func(p unsafe.Pointer) int64 { return int64(*(*uint16)(p)) }), nil
	case reflect.Uint32:
		return intType(t, func(p unsafe.Pointer) int64 { return int64(*(*uint32)(p)) }), nil
	case reflect.Uint, reflect.Uint64:
		return &goType{cel: types.UintType, conv: func(rv reflect.Value) ref.Val { return types.Uint(rv.Uint()) }}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return &goType{cel: types.BytesType, conv: func(rv reflect.Value) ref.Val { return types.Bytes(rv.Bytes()) }}, nil
		}
		elem, err := p.typeOf(t.Elem(), path+"[]")
		if err != nil {
			return nil, err
		}
		if elem == nil {
			return nil, nil
		}
		if t == reflect.TypeFor[[]string]() {
			return &goType{cel: types.NewListType(types.StringType),
				conv:   func(rv reflect.Value) ref.Val { return types.NewStringList(p, load[[]string](rv)) },
				direct: func(ptr unsafe.Pointer) ref.Val { return types.NewStringList(p, *(*[]string)(ptr)) }}, nil
		}
		return &goType{cel: types.NewListType(elem.cel), conv: func(rv reflect.Value) ref.Val {
			return &sliceList{rv: rv, elem: elem, p: p}
		}}, nil
	case reflect.Map:
		key, err := p.typeOf(t.Key(), path+"{}")
		if err != nil || key == nil {
			return nil, err
		}
		switch key.cel {
		case types.StringType, types.IntType, types.UintType, types.BoolType:
		default:
			return nil, nil
		}
		elem, err := p.typeOf(t.Elem(), path+"{}")
		if err != nil || elem == nil {
			return nil, err
		}
		if t == reflect.TypeFor[map[string]string]() {
			return &goType{cel: types.NewMapType(types.StringType, types.StringType),
				conv:   func(rv reflect.Value) ref.Val { return types.NewStringStringMap(p, load[map[string]string](rv)) },
				direct: func(ptr unsafe.Pointer) ref.Val { return types.NewStringStringMap(p, *(*map[string]string)(ptr)) }}, nil
		}
		if toKey := mapKey(t.Key(), key); toKey != nil {
			return &goType{cel: types.NewMapType(key.cel, elem.cel), conv: func(rv reflect.Value) ref.Val {
				return &goMap{rv: rv, key: key, elem: elem, toKey: toKey}
			}}, nil
		}
		return &goType{cel: types.NewMapType(key.cel, elem.cel), conv: func(rv reflect.Value) ref.Val {
			m := make(map[ref.Val]ref.Val, rv.Len())
			it := rv.MapRange()
			for it.Next() {
				m[key.conv(it.Key())] = elem.conv(it.Value())
			}
			return types.NewRefValMap(p, m)
		}}, nil
	case reflect.Struct:
		return p.registerStruct(t, path)
	}
	return nil, nil
}

// celStructName names a Go struct type in CEL: its package's last path
// element and its type name, such as "settlement.Line".
func celStructName(t reflect.Type) string {
	pkg := t.PkgPath()
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		pkg = pkg[i+1:]
	}
	if pkg == "" {
		pkg = "main"
	}
	return pkg + "." + t.Name()
}

// fieldName returns the CEL name of a struct field: its cel tag, else its
// json tag name, else its Go name; "" leaves the field out.
func fieldName(f reflect.StructField) string {
	for _, tag := range []string{"cel", "json"} {
		if v, ok := f.Tag.Lookup(tag); ok {
			name, _, _ := strings.Cut(v, ",")
			if name == "-" {
				return ""
			}
			if name != "" {
				return name
			}
		}
	}
	return f.Name
}

func (p *provider) registerStruct(t reflect.Type, path string) (*goType, error) {
	if t.Name() == "" {
		return nil, nil
	}
	name := celStructName(t)
	if other, ok := p.structs[name]; ok && other.rt != t {
		return nil, fmt.Errorf("rules: Go types %v and %v both map to CEL type %q", other.rt, t, name)
	}
	st := &structType{name: name, rt: t, cel: types.NewObjectType(name), fields: map[string]*structField{}}
	gt := &goType{cel: st.cel}
	gt.conv = func(rv reflect.Value) ref.Val {
		if !rv.CanAddr() {
			cp := reflect.New(t)
			cp.Elem().Set(rv)
			rv = cp.Elem()
		}
		ptr := rv.Addr()
		return &objVal{st: st, raw: ptr.Interface(), rv: rv, p: p}
	}
	// Register before the fields so that recursive types terminate.
	p.byGo[t] = gt
	p.structs[name] = st
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		fname := fieldName(f)
		if fname == "" {
			continue
		}
		if _, dup := st.fields[fname]; dup {
			return nil, fmt.Errorf("rules: two fields of %v are both named %q in CEL", t, fname)
		}
		fgt, err := p.typeOf(f.Type, path+"."+fname)
		if err != nil {
			return nil, err
		}
		if fgt == nil {
			continue
		}
		sf := &structField{name: fname, index: f.Index, gt: fgt}
		ptrType := reflect.PointerTo(t)
		offset := f.Offset
		direct := fgt.direct
		if len(f.Index) != 1 {
			direct = nil
		}
		sf.ft = &types.FieldType{
			Type: fgt.cel,
			IsSet: func(obj any) bool {
				fv, ok := fieldValue(obj, sf.index)
				return ok && !fv.IsZero()
			},
			GetFrom: func(obj any) (any, error) {
				if direct != nil && reflect.TypeOf(obj) == ptrType {
					if base := reflect.ValueOf(obj).UnsafePointer(); base != nil {
						return direct(unsafe.Add(base, offset)), nil
					}
				}
				fv, ok := fieldValue(obj, sf.index)
				if !ok {
					return fgt.conv(reflect.Zero(f.Type)), nil
				}
				return fgt.conv(fv), nil
			},
		}
		st.fields[fname] = sf
		st.names = append(st.names, fname)
	}
	sort.Strings(st.names)
	return gt, nil
}

// fieldValue reads the field at index from obj, a struct or a pointer to
// one; ok is false when a nil pointer lies on the way.
func fieldValue(obj any, index []int) (reflect.Value, bool) {
	rv := reflect.ValueOf(obj)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return reflect.Value{}, false
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return reflect.Value{}, false
	}
	if len(index) == 1 {
		return rv.Field(index[0]), true
	}
	fv, err := rv.FieldByIndexErr(index)
	if err != nil {
		return reflect.Value{}, false
	}
	return fv, true
}

// EnumValue implements types.Provider.
func (p *provider) EnumValue(name string) ref.Val { return p.base.EnumValue(name) }

// FindIdent implements types.Provider.
func (p *provider) FindIdent(name string) (ref.Val, bool) { return p.base.FindIdent(name) }

// FindStructType implements types.Provider.
func (p *provider) FindStructType(name string) (*types.Type, bool) {
	if st, ok := p.structs[name]; ok {
		return types.NewTypeTypeWithParam(st.cel), true
	}
	return p.base.FindStructType(name)
}

// FindStructFieldNames implements types.Provider.
func (p *provider) FindStructFieldNames(name string) ([]string, bool) {
	if st, ok := p.structs[name]; ok {
		return append([]string(nil), st.names...), true
	}
	return p.base.FindStructFieldNames(name)
}

// FindStructFieldType implements types.Provider.
func (p *provider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if st, ok := p.structs[name]; ok {
		f, ok := st.fields[field]
		if !ok {
			return nil, false
		}
		return f.ft, true
	}
	return p.base.FindStructFieldType(name, field)
}

// NewValue implements types.Provider. Rules read the host's structs; they
// cannot build them.
func (p *provider) NewValue(name string, fields map[string]ref.Val) ref.Val {
	if _, ok := p.structs[name]; ok {
		return types.NewErr("rules cannot construct %s values", name)
	}
	return p.base.NewValue(name, fields)
}

// NativeToValue implements types.Adapter.
func (p *provider) NativeToValue(v any) ref.Val {
	switch x := v.(type) {
	case ref.Val:
		return x
	case decimal.Decimal:
		return mkDec(x)
	case ensemble.Money:
		return mkMoney(x)
	}
	if v != nil {
		if gt, ok := p.byGo[reflect.TypeOf(v)]; ok {
			return gt.conv(reflect.ValueOf(v))
		}
	}
	return p.base.NativeToValue(v)
}

// objVal is a registered Go struct inside CEL. It holds a pointer to the
// struct; rules only read through it.
type objVal struct {
	st  *structType
	raw any           // the *T
	rv  reflect.Value // the addressable T
	p   *provider
}

// ConvertToNative implements ref.Val.
func (o *objVal) ConvertToNative(t reflect.Type) (any, error) {
	switch t {
	case reflect.PointerTo(o.st.rt):
		return o.raw, nil
	case o.st.rt:
		return o.rv.Interface(), nil
	}
	return nil, fmt.Errorf("rules: cannot convert %s to %v", o.st.name, t)
}

// ConvertToType implements ref.Val.
func (o *objVal) ConvertToType(t ref.Type) ref.Val {
	if t == types.TypeType {
		return o.st.cel
	}
	if t.TypeName() == o.st.name {
		return o
	}
	return types.NewErr("type conversion error from '%s' to '%s'", o.st.name, t)
}

// Equal implements ref.Val: two values of one struct type are equal when
// every field visible to rules is equal in CEL's sense (numerically, for
// decimals and money).
func (o *objVal) Equal(other ref.Val) ref.Val {
	ov, ok := other.(*objVal)
	if !ok || ov.st != o.st {
		return types.False
	}
	for _, name := range o.st.names {
		a := o.Get(types.String(name))
		b := ov.Get(types.String(name))
		if eq, ok := a.Equal(b).(types.Bool); !ok || !bool(eq) {
			return types.False
		}
	}
	return types.True
}

// Type implements ref.Val.
func (o *objVal) Type() ref.Type { return o.st.cel }

// Value implements ref.Val.
func (o *objVal) Value() any { return o.raw }

// Get implements traits.Indexer.
func (o *objVal) Get(field ref.Val) ref.Val {
	name, ok := field.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(field)
	}
	f, ok := o.st.fields[string(name)]
	if !ok {
		return types.NewErr("no such field: %s", string(name))
	}
	v, _ := f.ft.GetFrom(o.raw)
	return v.(ref.Val)
}

// IsSet implements traits.FieldTester.
func (o *objVal) IsSet(field ref.Val) ref.Val {
	name, ok := field.(types.String)
	if !ok {
		return types.MaybeNoSuchOverloadErr(field)
	}
	f, ok := o.st.fields[string(name)]
	if !ok {
		return types.NewErr("no such field: %s", string(name))
	}
	return types.Bool(f.ft.IsSet(o.raw))
}

// sliceList is a Go slice or array inside CEL. It reads the host's slice
// in place and converts an element only when a rule reads it, so that
// selecting a list field, its size or one element costs the same whatever
// the list's length (the cost model charges them one unit each).
type sliceList struct {
	rv   reflect.Value
	elem *goType
	p    *provider
}

// Get implements traits.Indexer.
func (l *sliceList) Get(index ref.Val) ref.Val {
	i, err := types.GetOrError(index)
	if err != nil {
		return types.ValOrErr(index, "%v", err)
	}
	if i < 0 || i >= l.rv.Len() {
		return types.NewErr("index '%d' out of range in list size '%d'", i, l.rv.Len())
	}
	return l.at(i)
}

// at converts element i, read in place when its type allows.
func (l *sliceList) at(i int) ref.Val {
	v := l.rv.Index(i)
	if l.elem.direct != nil && v.CanAddr() {
		return l.elem.direct(v.Addr().UnsafePointer())
	}
	return l.elem.conv(v)
}

// Size implements traits.Sizer.
func (l *sliceList) Size() ref.Val { return types.Int(l.rv.Len()) }

// Contains implements traits.Container.
func (l *sliceList) Contains(v ref.Val) ref.Val {
	for i := range l.rv.Len() {
		if types.Equal(v, l.at(i)) == types.True {
			return types.True
		}
	}
	return types.False
}

// Iterator implements traits.Iterable.
func (l *sliceList) Iterator() traits.Iterator { return &sliceIterator{l: l} }

// Add implements traits.Adder: the concatenation reads both lists in place.
func (l *sliceList) Add(other ref.Val) ref.Val {
	return types.NewDynamicList(l.p, l.rv.Interface()).Add(other)
}

// Equal implements ref.Val: lists are equal when their elements are, in
// order.
func (l *sliceList) Equal(other ref.Val) ref.Val {
	o, ok := other.(traits.Lister)
	if !ok || o.Size() != l.Size() {
		return types.False
	}
	for i := range l.rv.Len() {
		if types.Equal(l.at(i), o.Get(types.Int(i))) == types.False {
			return types.False
		}
	}
	return types.True
}

// ConvertToNative implements ref.Val.
func (l *sliceList) ConvertToNative(t reflect.Type) (any, error) {
	return types.NewDynamicList(l.p, l.rv.Interface()).ConvertToNative(t)
}

// ConvertToType implements ref.Val.
func (l *sliceList) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.ListType:
		return l
	case types.TypeType:
		return types.ListType
	}
	return types.NewErr("type conversion error from '%s' to '%s'", types.ListType, t)
}

// Type implements ref.Val.
func (l *sliceList) Type() ref.Type { return types.ListType }

// Value implements ref.Val.
func (l *sliceList) Value() any { return l.rv.Interface() }

type sliceIterator struct {
	l *sliceList
	i int
}

// HasNext implements traits.Iterator.
func (it *sliceIterator) HasNext() ref.Val { return types.Bool(it.i < it.l.rv.Len()) }

// Next implements traits.Iterator.
func (it *sliceIterator) Next() ref.Val {
	if it.i >= it.l.rv.Len() {
		return nil
	}
	it.i++
	return it.l.at(it.i - 1)
}

// ConvertToNative implements ref.Val.
func (it *sliceIterator) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("rules: cannot convert an iterator")
}

// ConvertToType implements ref.Val.
func (it *sliceIterator) ConvertToType(ref.Type) ref.Val {
	return types.NewErr("type conversion error from iterator")
}

// Equal implements ref.Val.
func (it *sliceIterator) Equal(ref.Val) ref.Val { return types.False }

// Type implements ref.Val.
func (it *sliceIterator) Type() ref.Type { return types.IteratorType }

// Value implements ref.Val.
func (it *sliceIterator) Value() any { return nil }

// mapKey returns the function that turns a CEL key into a key of Go type
// t (shown in CEL as key shows it), or nil when there is none: keys of a
// TextMarshaler type other than a uint8 enum.
func mapKey(t reflect.Type, key *goType) func(ref.Val) (reflect.Value, bool) {
	if t.Implements(textMarshalerTyp) {
		if t.Kind() != reflect.Uint8 {
			return nil
		}
		byText := map[types.String]uint64{}
		for i := 255; i >= 0; i-- {
			v := reflect.New(t).Elem()
			v.SetUint(uint64(i))
			if s, ok := key.conv(v).(types.String); ok {
				byText[s] = uint64(i) // the smallest value writing s wins
			}
		}
		return func(k ref.Val) (reflect.Value, bool) {
			s, ok := k.(types.String)
			i, found := byText[s]
			if !ok || !found {
				return reflect.Value{}, false
			}
			v := reflect.New(t).Elem()
			v.SetUint(i)
			return v, true
		}
	}
	switch t.Kind() {
	case reflect.String:
		return func(k ref.Val) (reflect.Value, bool) {
			s, ok := k.(types.String)
			return reflect.ValueOf(string(s)).Convert(t), ok
		}
	case reflect.Bool:
		return func(k ref.Val) (reflect.Value, bool) {
			b, ok := k.(types.Bool)
			return reflect.ValueOf(bool(b)).Convert(t), ok
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(k ref.Val) (reflect.Value, bool) {
			var i int64
			switch x := k.(type) {
			case types.Int:
				i = int64(x)
			case types.Uint:
				if uint64(x) > math.MaxInt64 {
					return reflect.Value{}, false
				}
				i = int64(x)
			default:
				return reflect.Value{}, false
			}
			v := reflect.New(t).Elem()
			if v.OverflowInt(i) {
				return reflect.Value{}, false
			}
			v.SetInt(i)
			return v, true
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(k ref.Val) (reflect.Value, bool) {
			var u uint64
			switch x := k.(type) {
			case types.Uint:
				u = uint64(x)
			case types.Int:
				if x < 0 {
					return reflect.Value{}, false
				}
				u = uint64(x)
			default:
				return reflect.Value{}, false
			}
			v := reflect.New(t).Elem()
			if v.OverflowUint(u) {
				return reflect.Value{}, false
			}
			v.SetUint(u)
			return v, true
		}
	}
	return nil
}

// goMap is a Go map inside CEL. Like sliceList it reads the host's map in
// place, converting an entry only when a rule reads it.
type goMap struct {
	rv        reflect.Value
	key, elem *goType
	toKey     func(ref.Val) (reflect.Value, bool)
}

// Find implements traits.Mapper.
func (m *goMap) Find(k ref.Val) (ref.Val, bool) {
	gk, ok := m.toKey(k)
	if !ok {
		return nil, false
	}
	v := m.rv.MapIndex(gk)
	if !v.IsValid() {
		return nil, false
	}
	return m.elem.conv(v), true
}

// Get implements traits.Indexer.
func (m *goMap) Get(k ref.Val) ref.Val {
	v, found := m.Find(k)
	if !found {
		return types.ValOrErr(v, "no such key: %v", k)
	}
	return v
}

// Contains implements traits.Container.
func (m *goMap) Contains(k ref.Val) ref.Val {
	_, found := m.Find(k)
	return types.Bool(found)
}

// Size implements traits.Sizer.
func (m *goMap) Size() ref.Val { return types.Int(m.rv.Len()) }

// Iterator implements traits.Iterable: the keys, in Go's map order.
func (m *goMap) Iterator() traits.Iterator { return &mapIterator{m: m, it: m.rv.MapRange()} }

// Equal implements ref.Val: maps are equal when they have the same keys
// with equal values.
func (m *goMap) Equal(other ref.Val) ref.Val {
	o, ok := other.(traits.Mapper)
	if !ok || o.Size() != m.Size() {
		return types.False
	}
	for it := m.rv.MapRange(); it.Next(); {
		ov, found := o.Find(m.key.conv(it.Key()))
		if !found || types.Equal(m.elem.conv(it.Value()), ov) == types.False {
			return types.False
		}
	}
	return types.True
}

// ConvertToNative implements ref.Val.
func (m *goMap) ConvertToNative(t reflect.Type) (any, error) {
	if m.rv.Type().AssignableTo(t) {
		return m.rv.Interface(), nil
	}
	return nil, fmt.Errorf("rules: cannot convert map to %v", t)
}

// ConvertToType implements ref.Val.
func (m *goMap) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return m
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from '%s' to '%s'", types.MapType, t)
}

// Type implements ref.Val.
func (m *goMap) Type() ref.Type { return types.MapType }

// Value implements ref.Val.
func (m *goMap) Value() any { return m.rv.Interface() }

type mapIterator struct {
	m    *goMap
	it   *reflect.MapIter
	next ref.Val
}

// HasNext implements traits.Iterator.
func (it *mapIterator) HasNext() ref.Val {
	if it.next == nil && it.it.Next() {
		it.next = it.m.key.conv(it.it.Key())
	}
	return types.Bool(it.next != nil)
}

// Next implements traits.Iterator.
func (it *mapIterator) Next() ref.Val {
	if it.HasNext() != types.True {
		return nil
	}
	k := it.next
	it.next = nil
	return k
}

// ConvertToNative implements ref.Val.
func (it *mapIterator) ConvertToNative(reflect.Type) (any, error) {
	return nil, fmt.Errorf("rules: cannot convert an iterator")
}

// ConvertToType implements ref.Val.
func (it *mapIterator) ConvertToType(ref.Type) ref.Val {
	return types.NewErr("type conversion error from iterator")
}

// Equal implements ref.Val.
func (it *mapIterator) Equal(ref.Val) ref.Val { return types.False }

// Type implements ref.Val.
func (it *mapIterator) Type() ref.Type { return types.IteratorType }

// Value implements ref.Val.
func (it *mapIterator) Value() any { return nil }

var (
	_ traits.Mapper      = (*goMap)(nil)
	_ traits.Lister      = (*sliceList)(nil)
	_ traits.Indexer     = (*objVal)(nil)
	_ traits.FieldTester = (*objVal)(nil)
	_ types.Provider     = (*provider)(nil)
	_ types.Adapter      = (*provider)(nil)
)
