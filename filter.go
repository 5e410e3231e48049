package hookd

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Filter is a parsed webhook filter: a JSON document matched against the
// event envelope {"id", "type", "timestamp", "data"}, and "channels" when
// the event was published with channels (Event.Channels).
//
// The language, in the manner of MongoDB queries:
//
//		{"type": "CALL_LOGGED", "data.disposition": {"$in": [1, 4]}}
//
//	  - an object matches when all its entries match;
//	  - "$and": [f, …], "$or": [f, …], "$not": f combine filters;
//	  - any other key is a dot-separated path into the envelope (a numeric
//	    segment indexes an array); its value is either a JSON literal, which
//	    must equal the value at the path, or an object of operators:
//	    $eq $ne $in $nin $gt $gte $lt $lte $exists $contains $prefix.
//
// Numbers compare numerically (integers exactly), strings by bytes; a missing path equals
// nothing (so $ne and $nin match it) and exists only for "$exists": false.
// "only CALL_LOGGED events whose disposition is 1 or 4, everything else":
//
//	{"$or": [{"type": {"$ne": "CALL_LOGGED"}}, {"data.disposition": {"$in": [1, 4]}}]}
type Filter struct {
	root filterNode
}

// Limits that keep a filter cheap to evaluate.
const (
	MaxFilterBytes = 16 << 10
	maxFilterDepth = 16
	maxFilterNodes = 256
)

type filterNode interface {
	match(doc any) bool
}

type (
	andNode []filterNode
	orNode  []filterNode
	notNode struct{ f filterNode }
	cmpNode struct {
		path []string
		op   string
		arg  any       // the operand, decoded with UseNumber
		set  []operand // for $in and $nin, converted once at parse time
	}
)

// operand is a filter literal with its number converted once, at parse
// time, so that matching compares floats or int64s instead of re-parsing a
// json.Number on every comparison.
type operand struct {
	v     any     // the literal as decoded
	isNum bool    // v is a number that converts to float64
	isInt bool    // v is an integer that fits in an int64: compare exactly
	f     float64 // v as float64 when isNum
	i     int64   // v when isInt
}

func newOperand(v any) operand {
	o := operand{v: v}
	o.f, o.isNum = number(v)
	if o.isNum {
		o.i, o.isInt = integer(v)
	}
	return o
}

func (n andNode) match(doc any) bool {
	for _, c := range n {
		if !c.match(doc) {
			return false
		}
	}
	return true
}

func (n orNode) match(doc any) bool {
	for _, c := range n {
		if c.match(doc) {
			return true
		}
	}
	return false
}

func (n notNode) match(doc any) bool { return !n.f.match(doc) }

func (n *cmpNode) match(doc any) bool {
	v, ok := lookup(doc, n.path)
	switch n.op {
	case "$exists":
		return ok == n.arg.(bool)
	case "$eq":
		return ok && equal(v, n.arg)
	case "$ne":
		return !ok || !equal(v, n.arg)
	case "$in":
		return ok && inOperands(v, n.set)
	case "$nin":
		return !ok || !inOperands(v, n.set)
	case "$gt", "$gte", "$lt", "$lte":
		if !ok {
			return false
		}
		c, comparable := compare(v, n.arg)
		if !comparable {
			return false
		}
		switch n.op {
		case "$gt":
			return c > 0
		case "$gte":
			return c >= 0
		case "$lt":
			return c < 0
		default:
			return c <= 0
		}
	case "$contains":
		if !ok {
			return false
		}
		switch v := v.(type) {
		case string:
			s, isStr := n.arg.(string)
			return isStr && strings.Contains(v, s)
		case []any:
			return inSet(n.arg, v)
		}
		return false
	case "$prefix":
		s, isStr := v.(string)
		return ok && isStr && strings.HasPrefix(s, n.arg.(string))
	}
	return false
}

// ParseFilter parses and checks a filter document. Errors are EINVALID and
// say where the problem is.
func ParseFilter(raw []byte) (*Filter, error) {
	if len(raw) > MaxFilterBytes {
		return nil, Errorf(EINVALID, "must be at most %d bytes", MaxFilterBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, Errorf(EINVALID, "is not valid JSON: %v", err)
	}
	// dec.More is not enough: it reports false before a stray ']' or '}'.
	if _, err := dec.Token(); err != io.EOF {
		return nil, Errorf(EINVALID, "has data after the JSON document")
	}
	p := filterParser{}
	root, err := p.parse(doc, "filter", 0)
	if err != nil {
		return nil, err
	}
	return &Filter{root: root}, nil
}

// Match reports whether the envelope doc (as made by NewFilterDocument, or
// any value decoded from JSON with UseNumber or not) passes the filter.
func (f *Filter) Match(doc any) bool {
	if f == nil || f.root == nil {
		return true
	}
	return f.root.match(doc)
}

// NewFilterDocument builds the value a filter sees for an event.
func NewFilterDocument(e *Event) (map[string]any, error) {
	var data any
	dec := json.NewDecoder(bytes.NewReader(e.Data))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("decode event data: %w", err)
	}
	doc := map[string]any{
		"id":        e.ID,
		"type":      e.Type,
		"timestamp": e.CreatedAt.Unix(),
		"data":      data,
	}
	if len(e.Channels) > 0 {
		ch := make([]any, len(e.Channels))
		for i, c := range e.Channels {
			ch[i] = c
		}
		doc["channels"] = ch
	}
	return doc, nil
}

type filterParser struct{ nodes int }

func (p *filterParser) parse(v any, where string, depth int) (filterNode, error) {
	if depth > maxFilterDepth {
		return nil, Errorf(EINVALID, "%s: nested deeper than %d levels", where, maxFilterDepth)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, Errorf(EINVALID, "%s: must be a JSON object", where)
	}
	keys := sortedKeys(obj)
	var and andNode
	for _, k := range keys {
		here := where + "." + k
		switch {
		case k == "$and" || k == "$or":
			list, ok := obj[k].([]any)
			if !ok || len(list) == 0 {
				return nil, Errorf(EINVALID, "%s: must be a non-empty array of filters", here)
			}
			var kids []filterNode
			for i, item := range list {
				n, err := p.parse(item, fmt.Sprintf("%s[%d]", here, i), depth+1)
				if err != nil {
					return nil, err
				}
				kids = append(kids, n)
			}
			if k == "$and" {
				and = append(and, andNode(kids))
			} else {
				and = append(and, orNode(kids))
			}
		case k == "$not":
			n, err := p.parse(obj[k], here, depth+1)
			if err != nil {
				return nil, err
			}
			and = append(and, notNode{n})
		case strings.HasPrefix(k, "$"):
			return nil, Errorf(EINVALID, "%s: unknown operator %q (use $and, $or or $not here, or a field path)", where, k)
		default:
			ns, err := p.parseField(k, obj[k], here)
			if err != nil {
				return nil, err
			}
			and = append(and, ns...)
		}
	}
	p.nodes += len(and)
	if p.nodes > maxFilterNodes {
		return nil, Errorf(EINVALID, "%s: more than %d conditions", where, maxFilterNodes)
	}
	if len(and) == 1 {
		return and[0], nil
	}
	return and, nil
}

func (p *filterParser) parseField(path string, v any, where string) ([]filterNode, error) {
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if s == "" {
			return nil, Errorf(EINVALID, "%s: %q is not a dot-separated path", where, path)
		}
	}
	ops, isObj := v.(map[string]any)
	if !isObj {
		return []filterNode{&cmpNode{path: segs, op: "$eq", arg: v}}, nil
	}
	if len(ops) == 0 {
		return nil, Errorf(EINVALID, "%s: an empty object compares nothing; use {\"$eq\": {}} to compare with an empty object", where)
	}
	var out []filterNode
	for _, op := range sortedKeys(ops) {
		arg := ops[op]
		here := where + "." + op
		n := &cmpNode{path: segs, op: op, arg: arg}
		switch op {
		case "$eq", "$ne":
		case "$in", "$nin":
			set, ok := arg.([]any)
			if !ok {
				return nil, Errorf(EINVALID, "%s: must be an array", here)
			}
			n.set = make([]operand, len(set))
			for i, x := range set {
				n.set[i] = newOperand(x)
			}
		case "$gt", "$gte", "$lt", "$lte":
			switch arg.(type) {
			case json.Number, float64, string:
			default:
				return nil, Errorf(EINVALID, "%s: must be a number or a string", here)
			}
		case "$exists":
			if _, ok := arg.(bool); !ok {
				return nil, Errorf(EINVALID, "%s: must be true or false", here)
			}
		case "$contains":
		case "$prefix":
			if _, ok := arg.(string); !ok {
				return nil, Errorf(EINVALID, "%s: must be a string", here)
			}
		default:
			if strings.HasPrefix(op, "$") {
				return nil, Errorf(EINVALID, "%s: unknown operator (known: $eq $ne $in $nin $gt $gte $lt $lte $exists $contains $prefix)", here)
			}
			for other := range ops {
				if strings.HasPrefix(other, "$") {
					return nil, Errorf(EINVALID, "%s: mixes a field path with operators; use {\"$eq\": {...}} to compare with an object", where)
				}
			}
			return nil, Errorf(EINVALID, "%s: %q is not an operator; write a nested path with dots (%q) or compare with an object with {\"$eq\": {...}}", where, op, path+"."+op)
		}
		out = append(out, n)
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func lookup(doc any, path []string) (any, bool) {
	cur := doc
	for _, seg := range path {
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[seg]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// integer returns v exactly when it is an integer that fits in an int64.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

// compare orders two numbers or two strings; other pairs are not comparable.
func compare(a, b any) (int, bool) {
	if x, ok := number(a); ok {
		y, ok := number(b)
		if !ok {
			return 0, false
		}
		// Integers beyond 2^53 (ids, often) lose precision as float64.
		if i, ok := integer(a); ok {
			if j, ok := integer(b); ok {
				return cmp.Compare(i, j), true
			}
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	}
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(x, y), true
}

func equal(a, b any) bool {
	if _, ok := number(a); ok {
		c, ok := compare(a, b)
		return ok && c == 0
	}
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	}
	if x, ok := a.(string); ok {
		y, ok := b.(string)
		return ok && x == y
	}
	return reflect.DeepEqual(a, b)
}

// inOperands is inSet over operands converted at parse time: v is converted
// once, and equal numbers compare as equal does (exactly when both are
// int64 integers, as float64 otherwise).
func inOperands(v any, set []operand) bool {
	f, isNum := number(v)
	if !isNum {
		for i := range set {
			if !set[i].isNum && equal(v, set[i].v) {
				return true
			}
		}
		return false
	}
	i, isInt := integer(v)
	for k := range set {
		o := &set[k]
		switch {
		case !o.isNum:
		case isInt && o.isInt:
			if i == o.i {
				return true
			}
		case f == o.f:
			return true
		}
	}
	return false
}

func inSet(v any, set []any) bool {
	for _, s := range set {
		if equal(v, s) {
			return true
		}
	}
	return false
}
