-- id: config_disabled
-- title: AWS Config recording stopped by {principal} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.001
-- description: AWS Config stops recording or delivering: StopConfigurationRecorder,
--   DeleteConfigurationRecorder, DeleteDeliveryChannel, DeleteConfigurationAggregator,
--   DeleteRetentionConfiguration. Quiet on routine change: starting or updating recorders and
--   channels, rule changes, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_sort(array_agg(DISTINCT coalesce(json_get_str(request_parameters, 'configurationRecorderName'),
                                           json_get_str(request_parameters, 'deliveryChannelName'),
                                           json_get_str(request_parameters, 'configurationAggregatorName'), 'unknown'))) AS names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'config.amazonaws.com'
  AND error_code IS NULL
  AND event_name IN ('StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DeleteDeliveryChannel',
                     'DeleteConfigurationAggregator', 'DeleteRetentionConfiguration')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
