-- Spend pacing of an advertiser against a monthly budget, as of a day.
-- expected_spend is the budget prorated to the days elapsed (half-even to
-- the micro-unit); pace says whether month-to-date spend is more than 10 %
-- over or under it, compared exactly in integers, never through a float.
-- projected_spend extends the month-to-date daily run rate to the whole month.
--
-- clickhouse-client --param_db=adhouse --param_advertiser_id=7012345678 \
--     --param_as_of=2024-05-20 --param_budget=30000 --queries-file spend_pacing.sql
WITH
    toStartOfMonth({as_of:Date}) AS month_start,
    toUInt32(dateDiff('day', month_start, {as_of:Date}) + 1) AS days_elapsed,
    toUInt32(toDayOfMonth(toLastDayOfMonth({as_of:Date}))) AS days_in_month,
    toInt256(toDecimal256({budget:Decimal(18, 6)}, 6) * 1000000) AS budget_micros
SELECT
    advertiser_id,
    any(advertiser_name) AS advertiser_name,
    currency,
    month_start,
    days_elapsed,
    days_in_month,
    {budget:Decimal(18, 6)} AS budget,
    sum(ifNull(spend, 0)) AS spend_to_date,
    toInt256(toDecimal256(spend_to_date, 6) * 1000000) AS spend_micros,
    -- half-even of budget × elapsed / days, in micro-units
    intDiv(2 * budget_micros * days_elapsed + days_in_month, 2 * days_in_month)
        - if((2 * budget_micros * days_elapsed + days_in_month) % (2 * days_in_month) = 0
             AND intDiv(2 * budget_micros * days_elapsed + days_in_month, 2 * days_in_month) % 2 = 1, 1, 0) AS expected_micros,
    toDecimal128(expected_micros, 0) * toDecimal128('0.000001', 6) AS expected_spend,
    intDiv(2 * spend_micros * days_in_month + days_elapsed, 2 * days_elapsed)
        - if((2 * spend_micros * days_in_month + days_elapsed) % (2 * days_elapsed) = 0
             AND intDiv(2 * spend_micros * days_in_month + days_elapsed, 2 * days_elapsed) % 2 = 1, 1, 0) AS projected_micros,
    toDecimal128(projected_micros, 0) * toDecimal128('0.000001', 6) AS projected_spend,
    {budget:Decimal(18, 6)} - spend_to_date AS budget_left,
    multiIf(spend_micros * 10 > expected_micros * 11, 'over',
            spend_micros * 10 < expected_micros * 9, 'under', 'on pace') AS pace
FROM {db:Identifier}.bi_advertiser_daily
WHERE advertiser_id = {advertiser_id:String}
    AND stat_date BETWEEN month_start AND {as_of:Date}
GROUP BY advertiser_id, currency
