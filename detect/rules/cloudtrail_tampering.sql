-- id: cloudtrail_tampering
-- title: CloudTrail {event_names} on {trail} by {principal}
-- severity: high
-- entity: principal:principal
-- dedupe: principal, trail
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.008
-- description: Someone stops, deletes or blinds a trail: StopLogging and DeleteTrail are
--   critical; UpdateTrail, and event selectors that drop management events
--   (includeManagementEvents false in every selector, or advanced selectors without the
--   Management category), are high. Failed calls are ignored.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'name'),
                 json_get_str(request_parameters, 'trailName'), 'unknown') AS trail
    FROM cloudtrail
    WHERE event_source = 'cloudtrail.amazonaws.com'
      AND error_code IS NULL
      AND (
          event_name IN ('StopLogging', 'DeleteTrail', 'UpdateTrail')
          OR (event_name = 'PutEventSelectors'
              AND regexp_like(request_parameters, '"includeManagementEvents"\s*:\s*false')
              AND NOT regexp_like(request_parameters, '"includeManagementEvents"\s*:\s*true'))
          OR (event_name = 'PutAdvancedEventSelectors'
              AND NOT regexp_like(request_parameters, '"equals"\s*:\s*\[[^\]]*"Management"'))
      )
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    trail,
    CASE WHEN bool_or(event_name IN ('StopLogging', 'DeleteTrail')) THEN 'critical' ELSE 'high' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, trail
