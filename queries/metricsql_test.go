package queries_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/metrics"
	"github.com/adhouse/adhouse/queries"
)

// TestMetricSQLIsExact evaluates every metric — the standard set and
// margin-fraction ROAS at several margins — over adversarial single rows in
// ClickHouse, inlined (MetricSQL) and staged (MetricStages, what the BI views
// use), and requires the digits metrics.Aggregate.Eval gives: negative money
// (margins below zero, refunds above revenue), zero and NULL denominators,
// exact half-way points, sums far beyond 64 bits once scaled, and
// magnitudes on each side of 2^63, where the staged form stops dividing
// natively.
func TestMetricSQLIsExact(t *testing.T) {
	conn, cfg := setup(t, config.ProtocolHTTP)
	db := cfg.ClickHouse.Database
	ctx := context.Background()

	sums := map[metrics.Field]string{}
	var cols []string
	for f := range metrics.Field(metrics.NumFields) {
		sums[f] = "f_" + f.Name()
		typ := "Nullable(UInt64)"
		if f.IsMoney() {
			typ = "Nullable(Decimal(38, 6))"
		}
		cols = append(cols, sums[f]+" "+typ)
	}
	require.NoError(t, conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s.exactness (id UInt32, %s) ENGINE = MergeTree ORDER BY id", db, strings.Join(cols, ", "))))

	// Each row is text per field ("-" for NULL), as metrics.Row.Set reads it.
	rng := rand.New(rand.NewPCG(15, 1))
	value := func(f metrics.Field, small bool) string {
		switch p := rng.IntN(100); {
		case p < 6:
			return metrics.Missing
		case p < 14:
			return "0"
		}
		var v uint64
		if small { // small operands make exact ties common
			v = rng.Uint64N(21)
		} else {
			v = rng.Uint64N(uint64Pow10(rng.IntN(19)) + 1)
		}
		if !f.IsMoney() {
			return strconv.FormatUint(v, 10)
		}
		s := decimal.New(int64(v), -6)
		if small {
			s = decimal.New(int64(v), -int32(rng.IntN(3))) // whole and tenth units
		}
		if rng.IntN(4) == 0 {
			s = s.Neg()
		}
		return s.String()
	}
	const n = 4000
	// The last rows put a count denominator (impressions, divided as it
	// is by CTR) on each side of the largest magnitude MetricStages divides
	// natively, 2^63 - 1.
	boundary := []string{"9223372036854775806", "9223372036854775807", "9223372036854775808", "18446744073709551615"}
	rows := make([][metrics.NumFields]string, n)
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".exactness")
	require.NoError(t, err)
	for i := range rows {
		small := i%3 == 0
		args := []any{uint32(i)}
		for f := range metrics.Field(metrics.NumFields) {
			v := value(f, small)
			if k := i - (n - len(boundary)); k >= 0 && f == metrics.FieldImpressions {
				v = boundary[k]
			}
			rows[i][f] = v
			switch {
			case v == metrics.Missing && f.IsMoney():
				args = append(args, (*decimal.Decimal)(nil))
			case v == metrics.Missing:
				args = append(args, (*uint64)(nil))
			case f.IsMoney():
				args = append(args, decimal.RequireFromString(v))
			default:
				u, err := strconv.ParseUint(v, 10, 64)
				require.NoError(t, err)
				args = append(args, u)
			}
		}
		require.NoError(t, batch.Append(args...))
	}
	require.NoError(t, batch.Send())

	ms := metrics.Metrics()
	for _, margin := range []string{"0.35", "1.25", "7", "0.0000001"} {
		for r := range metrics.RevenueSource(metrics.NumRevenueSources) {
			ms = append(ms, metrics.Metric{Kind: metrics.KindMarginFractionROAS, Revenue: r, Margin: decimal.RequireFromString(margin)})
		}
	}
	var inline []string
	for i, m := range ms {
		d, ok := m.Descriptor()
		require.True(t, ok, m.Name())
		expr, err := queries.MetricSQL(d, sums)
		require.NoError(t, err)
		inline = append(inline, fmt.Sprintf("%s AS m%d", expr, i))
	}
	standard := queries.Descriptors(sums)
	require.Len(t, standard, len(metrics.Metrics()), "every standard metric has its bases here")
	var names []string
	for _, d := range standard {
		names = append(names, d.Name)
	}
	renderings := []struct {
		name    string
		query   string
		metrics []metrics.Metric
	}{
		{"inline (MetricSQL)", fmt.Sprintf("SELECT id, %s FROM %s.exactness ORDER BY id", strings.Join(inline, ", "), db), ms},
		{"staged (MetricStages)", fmt.Sprintf("SELECT id, %s FROM (%s) ORDER BY id", strings.Join(names, ", "),
			queries.MetricStages(sums, db+".exactness", nil, "")), metrics.Metrics()},
		// Its native division must not depend on ClickHouse skipping the
		// branch a row does not take.
		{"staged, both branches evaluated", fmt.Sprintf("SELECT id, %s FROM (%s) ORDER BY id SETTINGS short_circuit_function_evaluation = 'disable'", strings.Join(names, ", "),
			queries.MetricStages(sums, db+".exactness", nil, "")), metrics.Metrics()},
	}
	for _, r := range renderings {
		t.Run(r.name, func(t *testing.T) {
			res, err := conn.Query(ctx, r.query)
			require.NoError(t, err)
			defer res.Close()
			got, defined, negative := 0, 0, 0
			for res.Next() {
				var id uint32
				vals := make([]*decimal.Decimal, len(r.metrics))
				dest := []any{&id}
				for i := range vals {
					dest = append(dest, &vals[i])
				}
				require.NoError(t, res.Scan(dest...))
				var row metrics.Row
				row.Currency = metrics.MustCurrency("USD")
				for f, v := range rows[id] {
					require.NoError(t, row.Set(metrics.Field(f), v))
				}
				var agg metrics.Aggregate
				require.NoError(t, agg.Add(&row))
				for i, m := range r.metrics {
					w := agg.Eval(m)
					if g := fixed(vals[i], w.Scale()); g != w.String() {
						t.Fatalf("row %d %v: %s: SQL %s, Go %s", id, rows[id], m.Name(), g, w)
					}
					if w.Defined() {
						defined++
						if strings.HasPrefix(w.String(), "-") {
							negative++
						}
					}
				}
				got++
			}
			require.NoError(t, res.Err())
			require.Equal(t, n, got)
			total := n * len(r.metrics)
			require.Greater(t, defined, total/2, "most values are defined")
			require.Less(t, defined, total, "some are undefined")
			require.Positive(t, negative, "some are negative")
			t.Logf("%d rows × %d metrics identical: %d defined, %d negative", got, len(r.metrics), defined, negative)
		})
	}
}

func uint64Pow10(e int) uint64 {
	p := uint64(1)
	for range e {
		p *= 10
	}
	return p
}
