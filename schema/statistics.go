package schema

import (
	"fmt"
	"strings"
)

// StatKind says what a statistics column holds and whether it may be summed.
type StatKind int

// Statistics column kinds.
const (
	// StatCount is an additive count: summed over rows, entities and time.
	StatCount StatKind = iota + 1
	// StatMoney is an additive amount in the advertiser's currency: summed
	// within one currency.
	StatMoney
	// StatEstimate is a count that is not additive (reach): never summed.
	StatEstimate
	// StatReported is a ratio TikTok computed and rounded itself, kept as
	// reported for comparison with Ads Manager: never aggregated.
	StatReported
)

// Additive reports whether columns of the kind may be summed.
func (k StatKind) Additive() bool { return k == StatCount || k == StatMoney }

// StatColumn is one metric column of the statistics tables
// (load_<level>_stats_<grain>, one per level and grain).
type StatColumn struct {
	// Name is the column's name in every statistics table and view.
	Name string
	// Metric is the TikTok report metric that fills it.
	Metric string
	Kind   StatKind
	// Doc is the column comment (docs/tables.md shows it).
	Doc string
	// Since is the migration that added the column: 0001 renders the
	// columns of 1, a later migration adds its own with AddStatColumns.
	Since uint32
}

// Type is the column's ClickHouse type: every metric is nullable, because
// TikTok sends "-" for a metric it has no value for, which loads as NULL.
func (c StatColumn) Type() string {
	if c.Decimal() {
		return "Nullable(Decimal(18, 6))"
	}
	return "Nullable(UInt64)"
}

// Decimal reports whether the column holds decimals (money and reported
// ratios) rather than counts.
func (c StatColumn) Decimal() bool { return c.Kind == StatMoney || c.Kind == StatReported }

// StatColumns is the catalog of statistics columns, in table order. The
// DDL (migrations), the loader's rows, the TikTok metrics requested and
// checked, the BI views' sums and docs/tables.md all derive from it; a test
// compares it with the live tables. Adding a metric means a line here (with
// the next migration's number), that migration ({{addStatColumns N}}) and
// its landed checksum.
var StatColumns = []StatColumn{
	{"spend", "spend", StatMoney, `cost in the account currency; NULL where TikTok sent "-"`, 1},
	{"impressions", "impressions", StatCount, "", 1},
	{"clicks", "clicks", StatCount, "", 1},
	{"reach", "reach", StatEstimate, "estimated unique users; NOT additive, never sum it", 1},
	{"conversion", "conversion", StatCount, "optimisation events, attributed to the interaction day", 1},
	{"real_time_conversion", "real_time_conversion", StatCount, "optimisation events, on the event day", 1},
	{"app_install", "app_install", StatCount, "attributed installs, on the impression/click day", 1},
	{"real_time_app_install", "real_time_app_install", StatCount, "installs on the install day", 1},
	{"complete_payment", "complete_payment", StatCount, "purchase count", 1},
	{"complete_payment_value", "total_complete_payment_rate", StatMoney, "purchase value (TikTok metric total_complete_payment_rate)", 1},
	{"total_purchase_value", "total_purchase_value", StatMoney, "app-event purchase value", 1},
	{"video_play_actions", "video_play_actions", StatCount, "", 1},
	{"video_watched_2s", "video_watched_2s", StatCount, "", 1},
	{"video_watched_6s", "video_watched_6s", StatCount, "", 1},
	{"video_views_p25", "video_views_p25", StatCount, "video views that reached 25% of the video", 3},
	{"video_views_p50", "video_views_p50", StatCount, "video views that reached 50% of the video", 3},
	{"video_views_p75", "video_views_p75", StatCount, "video views that reached 75% of the video", 3},
	{"video_views_p100", "video_views_p100", StatCount, "video views that reached the end of the video", 3},
	{"likes", "likes", StatCount, "", 1},
	{"comments", "comments", StatCount, "", 1},
	{"shares", "shares", StatCount, "", 1},
	{"follows", "follows", StatCount, "", 1},
	{"profile_visits", "profile_visits", StatCount, "", 1},
	{"reported_ctr", "ctr", StatReported, "TikTok's pre-rounded CTR in percent, as reported; never aggregate", 1},
	{"reported_cpc", "cpc", StatReported, "as reported, pre-rounded; never aggregate", 1},
	{"reported_cpm", "cpm", StatReported, "as reported, pre-rounded; never aggregate", 1},
}

// StatColumnNames lists the names of StatColumns, in order.
func StatColumnNames() []string {
	out := make([]string, len(StatColumns))
	for i, c := range StatColumns {
		out[i] = c.Name
	}
	return out
}

// AdditiveStatColumns lists the names of the columns that may be summed, in
// order: what every BI view sums.
func AdditiveStatColumns() []string {
	var out []string
	for _, c := range StatColumns {
		if c.Kind.Additive() {
			out = append(out, c.Name)
		}
	}
	return out
}

// quoteSQL quotes s as a ClickHouse string literal.
func quoteSQL(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// statColumnsDDL renders the column lines of the catalog columns a
// migration added, in table order, as 0001 lists them.
func statColumnsDDL(since uint32) string {
	var b strings.Builder
	for _, c := range StatColumns {
		if c.Since != since {
			continue
		}
		fmt.Fprintf(&b, "\n    %-22s %s", c.Name, c.Type())
		if c.Doc != "" {
			b.WriteString(" COMMENT " + quoteSQL(c.Doc))
		}
		b.WriteByte(',')
	}
	return b.String()
}

// addStatColumnsDDL renders the ALTER statements of a migration that adds
// the catalog columns of since to every statistics table, each after the
// column before it in the catalog, so tables keep the catalog's order. On a
// cluster the shards' _local tables and the Distributed tables both change.
// Rows loaded before kept such a metric in extra_metrics: they move into
// the new column, so no number is lost or counted twice.
func addStatColumnsDDL(t Target, since uint32) string {
	var adds, fills, names []string
	for i, c := range StatColumns {
		if c.Since != since {
			continue
		}
		add := fmt.Sprintf("ADD COLUMN IF NOT EXISTS %s %s", c.Name, c.Type())
		if c.Doc != "" {
			add += " COMMENT " + quoteSQL(c.Doc)
		}
		if i > 0 {
			add += " AFTER " + StatColumns[i-1].Name
		}
		adds = append(adds, add)
		conv := "toUInt64OrNull"
		if c.Type() != "Nullable(UInt64)" {
			conv = "toDecimal64OrNull"
		}
		arg := ""
		if conv == "toDecimal64OrNull" {
			arg = ", 6"
		}
		fills = append(fills, fmt.Sprintf("%s = if(mapContains(extra_metrics, %s), %s(extra_metrics[%s]%s), %s)",
			c.Name, quoteSQL(c.Metric), conv, quoteSQL(c.Metric), arg, c.Name))
		names = append(names, quoteSQL(c.Metric))
	}
	if len(adds) == 0 {
		return ""
	}
	var b strings.Builder
	for _, g := range Granularities {
		for _, l := range Levels {
			tables := []string{StatsTable(l.Name, g)}
			if t.Cluster != "" {
				tables = []string{StatsTable(l.Name, g) + "_local", StatsTable(l.Name, g)}
			}
			onCluster := t.onCluster()
			for _, table := range tables {
				fmt.Fprintf(&b, "ALTER TABLE %s.%s%s\n    %s;\n", t.Database, table, onCluster, strings.Join(adds, ",\n    "))
			}
			keys := "[" + strings.Join(names, ", ") + "]"
			fmt.Fprintf(&b, "ALTER TABLE %s.%s%s\n    UPDATE %s,\n    extra_metrics = mapFilter((k, v) -> NOT has(%s, k), extra_metrics)\n    WHERE hasAny(mapKeys(extra_metrics), %s)\n    SETTINGS mutations_sync = 2;\n",
				t.Database, tables[0], onCluster, strings.Join(fills, ",\n    "), keys, keys)
		}
	}
	return b.String()
}
