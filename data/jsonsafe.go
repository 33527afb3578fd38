package data

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
)

// JSONSafe is v as encoding/json sees it (maps, slices and scalars that it
// can always encode), with every NaN or infinite float, a number that does
// not exist (an AUC without positives, a lift over a control of 0), turned
// into nil (null). It also returns the path of each ("$.metrics[2].p").
// Struct fields keep their JSON names, omitempty and "-"; values with their
// own marshalling are kept as they are.
func JSONSafe(v any) (any, []string) {
	var paths []string
	return finite(reflect.ValueOf(v), "$", &paths), paths
}

var (
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// finite is v as encoding/json would see it, with every non-finite float
// replaced by nil (null) and its path appended to paths. Struct fields keep
// their JSON names, omitempty and "-"; values with their own marshalling
// are kept as they are.
func finite(v reflect.Value, path string, paths *[]string) any {
	if !v.IsValid() {
		return nil
	}
	t := v.Type()
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface && (t.Implements(marshalerType) || t.Implements(textMarshalerType)) {
		return v.Interface()
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			*paths = append(*paths, path)
			return nil
		}
		return v.Interface()
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return finite(v.Elem(), path, paths)
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		if t.Elem().Kind() == reflect.Uint8 {
			return v.Interface()
		}
		fallthrough
	case reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			out[i] = finite(v.Index(i), fmt.Sprintf("%s[%d]", path, i), paths)
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return nil
		}
		out := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			k := fmt.Sprint(it.Key().Interface())
			out[k] = finite(it.Value(), path+"."+k, paths)
		}
		return out
	case reflect.Struct:
		out := make(map[string]any, t.NumField())
		structFields(v, path, paths, out)
		return out
	}
	return v.Interface()
}

// structFields adds v's exported fields to out by their JSON names,
// promoting the fields of untagged embedded structs.
func structFields(v reflect.Value, path string, paths *[]string, out map[string]any) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if f.Anonymous && name == "" {
			for fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					break
				}
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct {
				structFields(fv, path, paths, out)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		if strings.Contains(opts, "omitempty") && fv.IsZero() && (fv.Kind() != reflect.Struct) {
			continue
		}
		if strings.Contains(opts, "omitempty") && (fv.Kind() == reflect.Slice || fv.Kind() == reflect.Map) && fv.Len() == 0 {
			continue
		}
		out[name] = finite(fv, path+"."+name, paths)
	}
}
