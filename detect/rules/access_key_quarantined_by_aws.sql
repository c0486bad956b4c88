-- id: access_key_quarantined_by_aws
-- title: AWS quarantined exposed credentials of {targets} in account {account_id}
-- severity: high
-- entity: principal:targets
-- dedupe: targets
-- window: 10m
-- table: cloudtrail
-- attack: TA0006 TA0001; T1552.001 T1078.004
-- description: AWS found an access key in public (a code repository, a paste) and attached its
--   quarantine policy: AttachUserPolicy/AttachRolePolicy/AttachGroupPolicy of
--   arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine (V2, V3), or the inline
--   AWSExposedCredentialPolicy_DO_NOT_REMOVE / AWSCompromisedKeyQuarantine* policy. The key is
--   public: whoever found it may already have used it. Quiet on routine change: other
--   policies, detaching the quarantine after rotation, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, account_id, region, source_ip_address,
        coalesce(json_get_str(request_parameters, 'userName'),
                 json_get_str(request_parameters, 'roleName'),
                 json_get_str(request_parameters, 'groupName'), 'unknown') AS target,
        coalesce(json_get_str(request_parameters, 'policyArn'),
                 json_get_str(request_parameters, 'policyName'), '') AS policy
    FROM cloudtrail
    WHERE event_source = 'iam.amazonaws.com'
      AND event_name IN ('AttachUserPolicy', 'AttachRolePolicy', 'AttachGroupPolicy', 'PutUserPolicy')
      AND error_code IS NULL
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    array_to_string(array_sort(array_agg(DISTINCT target)), ', ') AS targets,
    array_to_string(array_sort(array_agg(DISTINCT policy)), ', ') AS policies,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
WHERE policy IN ('arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine',
                 'arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV2',
                 'arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3',
                 'AWSExposedCredentialPolicy_DO_NOT_REMOVE', 'AWSCompromisedKeyQuarantine',
                 'AWSCompromisedKeyQuarantineV2', 'AWSCompromisedKeyQuarantineV3')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, target
