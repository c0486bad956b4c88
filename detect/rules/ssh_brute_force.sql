-- id: ssh_brute_force
-- title: SSH brute force from {srcaddr} against {target}: {attempts} attempts, {accepted} accepted
-- severity: medium
-- entity: ip:srcaddr
-- dedupe: srcaddr, target
-- threshold: attempts >= 30
-- window: 10m
-- table: flows
-- attack: TA0006; T1110.001
-- description: At least 30 short TCP flows (20 packets or fewer) to port 22 from one source to
--   one target in 10 minutes. Attempts are distinct source ports (a flow seen on two ENIs, or
--   split over two aggregation intervals, counts once); an attempt is accepted when no record
--   of it was rejected. High when the source is private (one of our instances attacking) or
--   when an external source got some attempts accepted; medium when external and all rejected.
WITH attempt AS (
    SELECT
        date_bin(INTERVAL '10 minutes', event_time) AS w,
        srcaddr, dstaddr, srcport,
        min(account_id) AS account_id,
        min(region) AS region,
        min(event_time) AS first_seen,
        max(event_time) AS last_seen,
        max(packets) AS packets,
        bool_or(action = 'ACCEPT') AND NOT bool_or(action = 'REJECT') AS accepted
    FROM flows
    WHERE log_status = 'OK'
      AND protocol = 6
      AND dstport = 22
      AND srcaddr IS NOT NULL AND dstaddr IS NOT NULL AND srcport IS NOT NULL
    GROUP BY date_bin(INTERVAL '10 minutes', event_time), srcaddr, dstaddr, srcport
),
pair AS (
    SELECT
        w, srcaddr, dstaddr AS target,
        min(account_id) AS account_id,
        min(region) AS region,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen,
        count(*) AS attempts,
        sum(CASE WHEN accepted THEN 1 ELSE 0 END) AS accepted,
        max(packets) AS max_packets
    FROM attempt
    WHERE packets IS NULL OR packets <= 20
    GROUP BY w, srcaddr, dstaddr
)
SELECT
    first_seen,
    last_seen,
    account_id,
    region,
    srcaddr,
    target,
    CASE
        WHEN srcaddr LIKE '10.%' OR srcaddr LIKE '192.168.%'
             OR regexp_like(srcaddr, '^172\.(1[6-9]|2[0-9]|3[01])\.') THEN 'high'
        WHEN accepted > 0 THEN 'high'
        ELSE 'medium'
    END AS severity,
    attempts,
    accepted,
    max_packets
FROM pair
WHERE attempts >= 30
