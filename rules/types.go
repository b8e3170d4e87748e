package rules

import (
	"encoding"
	"fmt"
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
			n := rv.Len()
			vals := make([]ref.Val, n)
			for i := 0; i < n; i++ {
				vals[i] = elem.conv(rv.Index(i))
			}
			return types.NewRefValList(p, vals)
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

var (
	_ traits.Indexer     = (*objVal)(nil)
	_ traits.FieldTester = (*objVal)(nil)
	_ types.Provider     = (*provider)(nil)
	_ types.Adapter      = (*provider)(nil)
)
