-- id: serial_console_enabled
-- title: EC2 serial console access enabled in {region} by {principal}
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0008 TA0003; T1021
-- description: EnableSerialConsoleAccess succeeded: every instance of the account and region
--   can now be reached through its serial console, outside the network and its security
--   groups. Quiet on routine change: disabling it, reading its status, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'ec2.amazonaws.com'
  AND event_name = 'EnableSerialConsoleAccess'
  AND error_code IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
