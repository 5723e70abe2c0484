package metrics

import "iter"

// Grouped aggregates rows per caller-defined key — a campaign id, a
// (day, campaign) struct, an advertiser — keeping one Aggregate per key.
//
// The zero Grouped is empty and ready to use. Keys are kept in first-seen
// order so that iteration, and anything printed from it, is reproducible.
// Adding a row to an existing key does not allocate; a new key costs one map
// insert and amortised slice growth. Not safe for concurrent use: build one
// per goroutine and Merge.
type Grouped[K comparable] struct {
	index map[K]int
	keys  []K
	aggs  []Aggregate
}

// NewGrouped returns an empty Grouped with room for about hint keys, which
// avoids rehashing when the number of groups is known.
func NewGrouped[K comparable](hint int) *Grouped[K] {
	return &Grouped[K]{
		index: make(map[K]int, hint),
		keys:  make([]K, 0, hint),
		aggs:  make([]Aggregate, 0, hint),
	}
}

// Add adds r to the aggregate of key. On error (see Aggregate.Add) nothing
// changes, and a new key is not created.
func (g *Grouped[K]) Add(key K, r *Row) error {
	if i, ok := g.index[key]; ok {
		return g.aggs[i].Add(r)
	}
	var a Aggregate
	if err := a.Add(r); err != nil {
		return err
	}
	g.insert(key, &a)
	return nil
}

func (g *Grouped[K]) insert(key K, a *Aggregate) {
	if g.index == nil {
		g.index = make(map[K]int)
	}
	g.index[key] = len(g.aggs)
	g.keys = append(g.keys, key)
	g.aggs = append(g.aggs, *a)
}

// Merge adds every group of o into g, key by key. It is all or nothing: if
// any key's currencies conflict or a row count would overflow, it returns the
// error and g is unchanged.
func (g *Grouped[K]) Merge(o *Grouped[K]) error {
	for j, k := range o.keys {
		if i, ok := g.index[k]; ok {
			tmp := g.aggs[i]
			if err := tmp.Merge(&o.aggs[j]); err != nil {
				return err
			}
		}
	}
	for j, k := range o.keys {
		if i, ok := g.index[k]; ok {
			_ = g.aggs[i].Merge(&o.aggs[j]) // checked above
		} else {
			g.insert(k, &o.aggs[j])
		}
	}
	return nil
}

// Len returns the number of keys.
func (g *Grouped[K]) Len() int { return len(g.keys) }

// Keys returns the keys in first-seen order, in a new slice.
func (g *Grouped[K]) Keys() []K { return append([]K(nil), g.keys...) }

// Get returns a copy of key's aggregate; ok is false for an unknown key.
func (g *Grouped[K]) Get(key K) (a Aggregate, ok bool) {
	i, ok := g.index[key]
	if !ok {
		return Aggregate{}, false
	}
	return g.aggs[i], true
}

// All yields each key with a copy of its aggregate, in first-seen order.
func (g *Grouped[K]) All() iter.Seq2[K, Aggregate] {
	return func(yield func(K, Aggregate) bool) {
		for i, k := range g.keys {
			if !yield(k, g.aggs[i]) {
				return
			}
		}
	}
}

// Total merges all groups into one aggregate, e.g. for a grand-total line.
// It fails if the groups hold different currencies.
func (g *Grouped[K]) Total() (Aggregate, error) {
	var t Aggregate
	for i := range g.aggs {
		if err := t.Merge(&g.aggs[i]); err != nil {
			return Aggregate{}, err
		}
	}
	return t, nil
}
