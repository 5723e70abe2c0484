package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// helpText is the description and examples of a command whose own
// definition does not carry them: every command's --help says what it does
// and shows how to call it (TestEveryCommandTeaches checks all of them, and
// that no entry names a command that is gone).
type helpText struct{ long, example string }

var helpTexts = map[string]helpText{
	"adhouse": {
		long: `adhouse keeps a ClickHouse reporting warehouse of TikTok Ads: advertisers,
campaigns, ad groups, ads and their daily and hourly statistics, with exact
decimals, BI views and finance exports. Without -c it uses built-in defaults:
the embedded warehouse in .adhouse/warehouse. docs/operating.md walks through
a first run.`,
		example: `  adhouse warehouse start
  adhouse -c configs/simulator.yaml migrate
  adhouse -c configs/simulator.yaml sync
  adhouse sql "SELECT * FROM adhouse.bi_campaign_daily LIMIT 5"`,
	},
	"adhouse auth": {
		example: `  adhouse auth --redirect-uri https://example.com/tiktok/callback --token-file /etc/adhouse/tiktok.token
  # against the simulator (its app id, secret and auth code are printed by adhouse tiktok-sim):
  adhouse auth --base-url "$TIKTOK_BASE_URL" --app-id 7000000000000000001 --redirect-uri https://localhost/cb --auth-code sim-auth-code-5b3e`,
	},
	"adhouse backfill": {
		long: `Pulls the statistics of every configured level and granularity for a range of
advertiser-local days, in windows of sync.window_days (one day for hourly).
Every window is planned before the first is pulled, so the progress bar's
total is known from the start. Running the same range again resumes it: the
windows an earlier run completed are skipped (and the run says so); --force
pulls the whole range again. A range entirely after today is an error.
Checkpoints of incremental syncs are not moved back.`,
		example: `  adhouse -c adhouse.yaml backfill --from $(date -d '90 days ago' +%F) --to $(date -d yesterday +%F)
  adhouse -c adhouse.yaml backfill --from 2026-01-01 --to 2026-01-31 --advertiser 7000000000000000002
  adhouse -c adhouse.yaml backfill --from 2026-01-01 --to 2026-01-31 --force`,
	},
	"adhouse demo": {
		long: `Starts the embedded warehouse (if it is not running) and an in-process TikTok
simulator, migrates, syncs 30 days of a simulated account and prints a
campaign table with its metrics checked against the simulator's truth. It is
what make demo runs.`,
		example: `  adhouse demo`,
	},
	"adhouse export": {
		long:    `Exports reports for finance; see adhouse export roas --help.`,
		example: `  adhouse export roas --from 2026-10-01 --to 2026-10-31 --by month --out roas.csv`,
	},
	"adhouse export roas": {
		example: `  adhouse export roas --from 2026-10-01 --to 2026-10-31 --out roas.csv
  adhouse export roas --from 2026-01-01 --to 2026-12-31 --by month --currency EUR --format parquet --out roas.parquet`,
	},
	"adhouse import": {
		example: `  adhouse import ga4 events_20261001.json.gz events_20261002.json.gz
  adhouse import crm deals.csv
  adhouse import fx rates.csv --replace`,
	},
	"adhouse migrate": {
		long: `Creates the database if needed, applies the pending schema migrations in
order (each recorded with its checksum) and re-creates the BI views. Safe to
run again: nothing is applied twice. Sync, backfill and serve refuse to run
on a schema with pending migrations.`,
		example: `  adhouse migrate
  adhouse -c adhouse.yaml migrate status`,
	},
	"adhouse migrate status": {
		long:    `Lists every migration with its number, name and when it was applied (or "pending").`,
		example: `  adhouse -c adhouse.yaml migrate status`,
	},
	"adhouse reconcile": {
		example: `  adhouse reconcile
  adhouse -c adhouse.yaml reconcile --from 2026-10-01 --to 2026-10-31 --advertiser 7000000000000000002`,
	},
	"adhouse refresh": {
		example: `  adhouse refresh --status
  adhouse -c adhouse.yaml refresh`,
	},
	"adhouse serve": {
		long: `Runs the jobs of serve.schedules (sync, today, entities) on their cron
schedules in serve.timezone, one at a time, and serves /healthz and Prometheus
/metrics on serve.listen (loopback). SIGTERM lets the running job finish for
up to serve.shutdown_timeout; what it did not commit is pulled again by the
next run.`,
		example: `  adhouse -c adhouse.yaml serve
  curl -s http://127.0.0.1:9464/metrics | grep adhouse_`,
	},
	"adhouse sync": {
		long: `Pulls advertiser info, then (with sync.entities) campaigns, ad groups and ads,
then statistics at every configured level and granularity from each stream's
checkpoint minus the lookback through today in the advertiser's timezone. A
first sync goes sync.initial_days back. --today pulls only today's statistics
(with --entities: the entities too); --entities only the entities; --from
re-pulls from a day whatever the checkpoints say. It ends with the run's
summary and its reconciliation.`,
		example: `  adhouse -c adhouse.yaml sync
  adhouse -c adhouse.yaml sync --today
  adhouse -c adhouse.yaml sync --from $(date -d '14 days ago' +%F) --advertiser 7000000000000000002
  adhouse -c adhouse.yaml sync --lookback 14`,
	},
	"adhouse tiktok-sim": {
		example: `  adhouse tiktok-sim --scale medium
  adhouse tiktok-sim --advertisers 3 --minute-limit-rate 0.01 --listen 127.0.0.1:8899`,
	},
	"adhouse warehouse": {
		long: `The embedded warehouse is chDB's ClickHouse engine, served on 127.0.0.1 by
adhouse's own supervisor, with its data, generated passwords and state in
warehouse.dir (a relative warehouse.dir set in a configuration file is
relative to that file's folder).`,
		example: `  adhouse warehouse start
  adhouse warehouse status
  adhouse warehouse stop`,
	},
	"adhouse warehouse start": {
		long: `Prepares warehouse.dir (mode 0700, generated passwords), starts the supervisor
and the engine, and waits until the engine answers. It prints the HTTP (and
native) address, and where the passwords are.`,
		example: `  adhouse warehouse start
  adhouse -c adhouse.yaml warehouse start`,
	},
	"adhouse warehouse stop": {
		long:    `Stops the supervisor and the engine of warehouse.dir and waits until they are gone. Stopping a stopped warehouse is not an error. Needs no other setting (no password or token variables).`,
		example: `  adhouse warehouse stop`,
	},
	"adhouse warehouse status": {
		long:    `Says whether the engine of warehouse.dir runs and answers, with its process id, addresses and folder; otherwise names the folder it checked.`,
		example: `  adhouse warehouse status`,
	},
}

// applyHelp fills in the Long and Example of root's commands from helpTexts,
// keeping what a command already says.
func applyHelp(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if h, ok := helpTexts[c.CommandPath()]; ok {
			if c.Long == "" {
				c.Long = h.long
			}
			if c.Example == "" {
				c.Example = h.example
			}
		}
		c.Example = strings.TrimRight(c.Example, "\n")
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
