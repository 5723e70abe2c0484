package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/shopspring/decimal"
	"github.com/spf13/cobra"

	"github.com/adhouse/adhouse/etl/attribution"
	"github.com/adhouse/adhouse/etl/config"
	"github.com/adhouse/adhouse/etl/crm"
	"github.com/adhouse/adhouse/etl/fx"
	"github.com/adhouse/adhouse/etl/ga4"
	"github.com/adhouse/adhouse/etl/ingest"
	"github.com/adhouse/adhouse/etl/load"
	"github.com/adhouse/adhouse/etl/shop"
	"github.com/adhouse/adhouse/etl/warehouse"
)

func init() { commands = append(commands, newImportCmd) }

func newImportCmd(a *app) *cobra.Command {
	var as, format string
	var replace bool
	cmd := &cobra.Command{
		Use:   "import ga4|crm|orders|costs|fx FILE...",
		Short: "Import GA4, CRM, order, product-cost or exchange-rate files, each all or nothing",
		Long: `Import export files into the warehouse. Each file is staged, checked and then
published at once; a bad row fails the whole file (naming file, line, column and
value) and nothing of it lands. A file is known by its name (or --as): importing
the same content again (gzipped or not) changes nothing; other content under a
known name is refused unless --replace says to replace the earlier file as a
whole. Gzip is detected by content.

  ga4     GA4 BigQuery export rows: NDJSON (as exported) or flattened CSV
  crm     CRM deals CSV, columns from imports.crm (HubSpot deals export by default)
  orders  Shopify orders export, or a generic orders CSV mapped by imports.orders
  costs   product costs CSV: sku, unit_cost, currency, valid_from
  fx      exchange rates CSV: date, base, quote, rate (one base unit in quote units),
          for export roas --currency`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if as != "" && len(args) > 2 {
				return fmt.Errorf("--as names one file; %d given", len(args)-1)
			}
			conn, _, err := warehouse.Connect(ctx, a.cfg)
			if err != nil {
				return err
			}
			defer conn.Close()
			if err := attribution.Save(ctx, conn, a.target(), attributionSettings(a.cfg.Imports)); err != nil {
				return err
			}
			shards, closeShards, err := a.shards(ctx)
			if err != nil {
				return err
			}
			defer closeShards()
			im := ingest.New(conn, ingest.Options{
				Target: a.target(), BatchSize: a.cfg.Imports.BatchSize, Logger: &a.log,
				Load:    load.Options{MaxRetries: a.cfg.Load.MaxRetries, RetryBackoff: a.cfg.Load.RetryBackoff, Shards: shards},
				Replace: replace,
			})
			failed := 0
			for _, path := range args[1:] {
				f, err := importFormat(args[0], format, path, a.cfg.Imports)
				if err != nil {
					return err
				}
				res, err := im.Import(ctx, path, f, as)
				if err != nil {
					a.log.Error().Err(err).Str("file", path).Msg("import failed")
					failed++
					continue
				}
				ev := a.log.Info().Str("file", path).Str("format", res.Format).Str("key", res.Key)
				if res.Unchanged {
					ev.Msg("unchanged: the same file is already imported")
					continue
				}
				ev = ev.Int64("rows", res.Rows).Uint64("version", res.Version)
				if res.Replaced {
					ev.Msg("imported, replacing the earlier file of this name")
					continue
				}
				ev.Msg("imported")
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d files failed; nothing of them was imported", failed, len(args)-1)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&as, "as", "", "file identity to import under (default: the base name without .gz)")
	cmd.Flags().StringVar(&format, "format", "auto", "ga4 file format: auto (by extension), ndjson or csv")
	cmd.Flags().BoolVar(&replace, "replace", false, "let a file replace an earlier one of the same name and other content")
	return cmd
}

// importFormat picks the parser for a kind of import and a file.
func importFormat(kind, format, path string, c config.Imports) (ingest.Format, error) {
	rules := importRules(c)
	switch kind {
	case "ga4":
		opts := ga4.Options{Rules: rules, Currency: c.GA4Currency}
		if c.GA4SourceCategories != "" {
			f, err := os.Open(c.GA4SourceCategories)
			if err != nil {
				return nil, fmt.Errorf("imports.ga4_source_categories: %w", err)
			}
			defer f.Close()
			if opts.Categories, err = attribution.ReadCategories(f); err != nil {
				return nil, fmt.Errorf("imports.ga4_source_categories: %w", err)
			}
		}
		if format == "auto" {
			format = "ndjson"
			if strings.EqualFold(filepath.Ext(strings.TrimSuffix(path, ".gz")), ".csv") {
				format = "csv"
			}
		}
		switch format {
		case "ndjson", "json", "jsonl":
			return ga4.NDJSON{Options: opts}, nil
		case "csv":
			return ga4.CSV{Options: opts}, nil
		}
		return nil, fmt.Errorf("--format %q: want auto, ndjson or csv", format)
	case "crm":
		return crm.Format{Columns: c.CRM, Rules: rules}, nil
	case "orders":
		return shop.Orders{Columns: c.Orders, Rules: rules}, nil
	case "costs":
		return shop.Costs{}, nil
	case "fx":
		return fx.Format{}, nil
	}
	return nil, fmt.Errorf("import %q: want ga4, crm, orders, costs or fx", kind)
}

func importRules(c config.Imports) attribution.Rules {
	return attribution.Rules{TikTokSources: c.TikTokSources, CampaignParam: c.CampaignParam, AdGroupParam: c.AdGroupParam, AdParam: c.AdParam}
}

func attributionSettings(c config.Imports) attribution.Settings {
	s := attribution.Settings{LookbackDays: c.LookbackDays, MatchBy: c.MatchBy, ConversionEvents: c.ConversionEvents,
		RefundedOrderCost: c.RefundedOrderCost, ReportingCurrency: c.ReportingCurrency,
		FeePerOrder: decimal.RequireFromString(c.FeePerOrder), FeePercent: decimal.RequireFromString(c.FeePercent)}
	if c.DefaultMargin != "" {
		d := decimal.RequireFromString(c.DefaultMargin)
		s.DefaultMargin = &d
	}
	return s
}
