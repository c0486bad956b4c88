-- id: port_scan
-- title: Port scan from {srcaddr}: {ports} ports on {hosts} hosts, {rejected_pct}% rejected
-- severity: medium
-- entity: ip:srcaddr
-- dedupe: srcaddr
-- window: 10m
-- table: flows
-- description: One source touching many distinct (dstaddr, dstport) in 10 minutes: at least
--   100 distinct ports on one host (vertical) or 25 distinct hosts on the same port
--   (horizontal), with at least 80% of its distinct targets rejected. High when the source is
--   private (RFC 1918: one of our instances scanning), medium when external. Internet
--   background noise (many sources, each a few ports) stays far below both thresholds.
--   Flow logs record an internal flow on each ENI it crosses, so everything counts distinct
--   tuples, and a tuple counts as rejected if any record of it was rejected.
WITH t AS (
    -- one row per distinct target tuple of a source in a window
    SELECT
        date_bin(INTERVAL '10 minutes', event_time) AS w,
        srcaddr, dstaddr, dstport,
        min(account_id) AS account_id,
        min(region) AS region,
        min(event_time) AS first_seen,
        max(event_time) AS last_seen,
        bool_or(action = 'REJECT') AS rejected
    FROM flows
    WHERE log_status = 'OK'
      AND protocol IN (6, 17)
      AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND dstport IS NOT NULL
    GROUP BY date_bin(INTERVAL '10 minutes', event_time), srcaddr, dstaddr, dstport
),
src AS (
    SELECT
        w, srcaddr,
        min(account_id) AS account_id,
        min(region) AS region,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen,
        count(*) AS tuples,
        sum(CASE WHEN rejected THEN 1 ELSE 0 END) AS rejected_tuples,
        count(DISTINCT dstaddr) AS hosts,
        count(DISTINCT dstport) AS ports
    FROM t
    GROUP BY w, srcaddr
    -- cheap pre-filter: a source below both thresholds cannot qualify
    HAVING count(DISTINCT dstport) >= 100 OR count(DISTINCT dstaddr) >= 25
),
per_host AS (
    SELECT t.w, t.srcaddr, t.dstaddr, count(*) AS n
    FROM t JOIN src ON src.w = t.w AND src.srcaddr = t.srcaddr
    GROUP BY t.w, t.srcaddr, t.dstaddr
),
per_port AS (
    SELECT t.w, t.srcaddr, t.dstport, count(*) AS n
    FROM t JOIN src ON src.w = t.w AND src.srcaddr = t.srcaddr
    GROUP BY t.w, t.srcaddr, t.dstport
),
vertical AS (
    SELECT w, srcaddr, max(n) AS max_ports_on_one_host, first_value(dstaddr ORDER BY n DESC, dstaddr) AS top_host
    FROM per_host GROUP BY w, srcaddr
),
horizontal AS (
    SELECT w, srcaddr, max(n) AS max_hosts_on_one_port, first_value(dstport ORDER BY n DESC, dstport) AS top_port
    FROM per_port GROUP BY w, srcaddr
)
SELECT
    s.first_seen,
    s.last_seen,
    s.account_id,
    s.region,
    s.srcaddr,
    CASE
        WHEN s.srcaddr LIKE '10.%' OR s.srcaddr LIKE '192.168.%'
             OR regexp_like(s.srcaddr, '^172\.(1[6-9]|2[0-9]|3[01])\.') THEN 'high'
        ELSE 'medium'
    END AS severity,
    v.max_ports_on_one_host,
    v.top_host,
    h.max_hosts_on_one_port,
    h.top_port,
    s.hosts,
    s.ports,
    s.tuples,
    s.rejected_tuples,
    round(100.0 * s.rejected_tuples / s.tuples, 1) AS rejected_pct
FROM src s
JOIN vertical v ON v.w = s.w AND v.srcaddr = s.srcaddr
JOIN horizontal h ON h.w = s.w AND h.srcaddr = s.srcaddr
WHERE (v.max_ports_on_one_host >= 100 OR h.max_hosts_on_one_port >= 25)
  AND s.rejected_tuples * 100 >= s.tuples * 80
