-- id: bedrock_model_access_enabled
-- title: {principal} enabled Bedrock model access ({event_names}; {models})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0040; T1496.004
-- description: Bedrock foundation-model access switched on by API: PutUseCaseForModelAccess,
--   PutFoundationModelEntitlement, CreateFoundationModelAgreement (the first steps of
--   "LLMjacking", reselling a victim's model access). High when the same principal also
--   invoked a model in the window. Quiet on routine use: invoking models already enabled,
--   listing models and offers, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    CASE WHEN bool_or(event_name LIKE 'InvokeModel%' OR event_name = 'Converse' OR event_name = 'ConverseStream')
         THEN 'high' ELSE 'medium' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_to_string(array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'modelId'))), ', ') AS models,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'bedrock.amazonaws.com'
  AND error_code IS NULL
  AND event_name IN ('PutUseCaseForModelAccess', 'PutFoundationModelEntitlement', 'CreateFoundationModelAgreement',
                     'InvokeModel', 'InvokeModelWithResponseStream', 'Converse', 'ConverseStream')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
HAVING bool_or(event_name IN ('PutUseCaseForModelAccess', 'PutFoundationModelEntitlement', 'CreateFoundationModelAgreement'))
