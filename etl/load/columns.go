package load

// Columns holds a batch of rows column by column: one typed slice per column
// ([]string, []uint64, []time.Time, []*decimal.Decimal, …) in the table's
// column order, which clickhouse-go appends in one call each. For wide rows
// by the million (imports) that costs a fraction of appending row by row,
// which boxes every value.
type Columns interface {
	// Len is the number of rows held.
	Len() int
	// Slices returns each column's values.
	Slices() []any
}

// ColumnBuffer is [Columns] that rows are added to one by one.
type ColumnBuffer interface {
	Columns
	// Add appends r, a row of the kind that made the buffer.
	Add(r Row)
}

// ColumnRow is a [Row] whose kind can also be held as [Columns].
type ColumnRow interface {
	Row
	// NewColumns returns an empty buffer for rows of this kind, with room
	// for n.
	NewColumns(n int) ColumnBuffer
}
