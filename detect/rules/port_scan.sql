-- id: port_scan
-- title: Port scan from {srcaddr}: {tuples} probes over {hosts} hosts and {ports} ports, {failed_pct}% failed
-- severity: medium
-- entity: ip:srcaddr
-- dedupe: srcaddr
-- window: 10m
-- table: flows
-- attack: TA0007 TA0043; T1046 T1595.001
-- description: One source probing many distinct (dstaddr, dstport) in 10 minutes, in any of
--   three shapes: vertical (at least 100 ports on one host), horizontal (at least 25 hosts on
--   the same port) or block (at least 200 distinct targets over at least 10 hosts and 10
--   ports); and at least 80% of its distinct targets failed. High when the source is private
--   (RFC 1918: one of our instances scanning), medium when external.
--   A target failed when any record of it was REJECTed, or (TCP seen only on the scanner's
--   side) it got bare probes: at most 3 packets and at most 3 attempts (a health check
--   repeats every few seconds, a scan does not), and not a reply (from a port below 32768 to
--   an ephemeral port at or above it).
--   Internet background noise (many sources, each a few ports) stays far below every shape.
--   Flow logs record an internal flow on each ENI it crosses, so everything counts distinct
--   targets, never raw records.
WITH probe AS (
    -- Every shape needs at least 25 distinct targets, 80% of them failed: at least 20 distinct
    -- failed targets. A failed target has a record that was rejected, or only bare TCP probes
    -- that are not replies (so each of its records with a packet count is at most 3 packets
    -- to a port below 32768 or from one at or above it). A source with fewer than 20 distinct
    -- targets among such records in a window cannot qualify: skip the per-target aggregation
    -- for it. Distinct targets, not records: a client making many short connections to one
    -- service (an API poller, a health checker) is not a candidate.
    SELECT DISTINCT date_bin(INTERVAL '10 minutes', event_time) AS w, srcaddr, dstaddr, dstport
    FROM flows
    WHERE log_status = 'OK' AND protocol IN (6, 17)
      AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND dstport IS NOT NULL
      AND (action = 'REJECT'
           OR (protocol = 6 AND packets <= 3
               AND (dstport < 32768 OR srcport IS NULL OR srcport >= 32768)))
),
cand AS (
    SELECT w, srcaddr FROM probe GROUP BY w, srcaddr HAVING count(*) >= 20
),
t AS (
    -- one row per distinct target of a source in a window. The candidates come first in the
    -- join: the (small) side a hash join builds, with the flows streamed past it, so a window of
    -- tens of millions of rows is never held whole.
    SELECT
        cand.w,
        flows.srcaddr, flows.dstaddr, flows.dstport,
        min(flows.account_id) AS account_id,
        min(flows.region) AS region,
        min(flows.event_time) AS first_seen,
        max(flows.event_time) AS last_seen,
        bool_or(flows.action = 'REJECT') AS rejected,
        bool_or(flows.action = 'REJECT')
          OR (bool_and(flows.protocol = 6) AND max(flows.packets) <= 3
              AND count(DISTINCT flows.srcport) <= 3
              -- a service port answering an ephemeral port is a reply, not a probe
              AND (flows.dstport < 32768 OR min(flows.srcport) >= 32768)) AS failed
    FROM cand
    JOIN flows
      ON cand.w = date_bin(INTERVAL '10 minutes', flows.event_time)
     AND cand.srcaddr = flows.srcaddr
    WHERE flows.log_status = 'OK'
      AND flows.protocol IN (6, 17)
      AND flows.dstaddr IS NOT NULL AND flows.dstport IS NOT NULL
    GROUP BY cand.w, flows.srcaddr, flows.dstaddr, flows.dstport
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
        sum(CASE WHEN failed THEN 1 ELSE 0 END) AS failed_tuples,
        count(DISTINCT dstaddr) AS hosts,
        count(DISTINCT dstport) AS ports
    FROM t
    GROUP BY w, srcaddr
    -- cheap pre-filter: a source below every shape cannot qualify
    HAVING count(DISTINCT dstport) >= 100 OR count(DISTINCT dstaddr) >= 25 OR count(*) >= 200
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
    CASE
        WHEN v.max_ports_on_one_host >= 100 THEN 'vertical'
        WHEN h.max_hosts_on_one_port >= 25 THEN 'horizontal'
        ELSE 'block'
    END AS shape,
    v.max_ports_on_one_host,
    v.top_host,
    h.max_hosts_on_one_port,
    h.top_port,
    s.hosts,
    s.ports,
    s.tuples,
    s.rejected_tuples,
    s.failed_tuples,
    round(100.0 * s.failed_tuples / s.tuples, 1) AS failed_pct
FROM src s
JOIN vertical v ON v.w = s.w AND v.srcaddr = s.srcaddr
JOIN horizontal h ON h.w = s.w AND h.srcaddr = s.srcaddr
WHERE (v.max_ports_on_one_host >= 100
       OR h.max_hosts_on_one_port >= 25
       OR (s.tuples >= 200 AND s.hosts >= 10 AND s.ports >= 10))
  AND s.failed_tuples * 100 >= s.tuples * 80
